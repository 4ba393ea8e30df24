//! Prometheus metrics for one or more names, all labelled `name`.
//!
//! `decisions_total` counts decisions taken under the lock; `held-lock`
//! runs cannot update state (they appear in the audit log only), so that
//! series, which could never move, is not exported.

use crate::audit::Decision;
use crate::history::History;
use crate::policy::{self, Judgement, Policy, Verdict};
use selfheal_core::clock::Stamp;
use selfheal_core::metrics::{MetricFamily, MetricKind, Unit};

/// One name's history, the policy it is judged by, and the judgement.
pub struct View<'a> {
    pub name: &'a str,
    pub history: &'a History,
    pub policy: Policy,
    pub judgement: Judgement,
}

const GAUGES: [(&str, Unit, &str); 7] = [
    (
        "restarts_in_window",
        Unit::Count,
        "Restart attempts inside the sliding window.",
    ),
    (
        "budget_max",
        Unit::Count,
        "Restart attempts allowed per window.",
    ),
    (
        "budget_remaining",
        Unit::Count,
        "Restart attempts left in the window.",
    ),
    (
        "window_seconds",
        Unit::Seconds,
        "Length of the sliding window.",
    ),
    (
        "exhausted",
        Unit::Count,
        "1 when the budget is used up, else 0.",
    ),
    (
        "next_allowed_timestamp_seconds",
        Unit::Seconds,
        "Unix time from which a restart is allowed.",
    ),
    (
        "backoff_seconds",
        Unit::Seconds,
        "Gap currently required after the last attempt (cooldown or backoff).",
    ),
];

/// The families for `views`, one sample per name each.
#[must_use]
pub fn families(views: &[View], now: &Stamp) -> Vec<MetricFamily> {
    let mut out: Vec<MetricFamily> = GAUGES
        .iter()
        .map(|(what, unit, help)| gauge(what, *unit, help))
        .collect();
    let mut last = gauge(
        "last_attempt_timestamp_seconds",
        Unit::Seconds,
        "Unix time of the last restart attempt.",
    );
    let mut escalated = gauge(
        "last_escalation_timestamp_seconds",
        Unit::Seconds,
        "Unix time the --on-exhausted notifier was last called (absent: never).",
    );
    let mut totals = counter(
        "decisions_total",
        "Decisions made, by kind (restart-guard --help lists each one).",
    );
    let mut attempts = counter(
        "attempts_total",
        "Restart attempts begun (CMD started), whatever their outcome.",
    );
    for view in views {
        let name = [("name", view.name)];
        for (family, value) in out.iter_mut().zip(gauge_values(view, now)) {
            family.push(&name, value);
        }
        if let Some(at) = &view.history.last_attempt {
            last.push(&name, at.unix);
        }
        if let Some(at) = &view.history.last_escalation {
            escalated.push(&name, at.unix);
        }
        // held-lock is never counted (see above).
        for decision in Decision::ALL
            .into_iter()
            .filter(|d| *d != Decision::HeldLock)
        {
            let labels = [("name", view.name), ("decision", decision.as_str())];
            totals.push(&labels, view.history.total(decision) as f64);
        }
        attempts.push(&name, attempts_of(view.history) as f64);
    }
    out.extend([last, escalated, totals, attempts]);
    out
}

/// Attempts ever begun: each ends in exactly one attempt decision.
fn attempts_of(history: &History) -> u64 {
    Decision::ALL
        .into_iter()
        .filter(|d| d.is_attempt())
        .map(|d| history.total(d))
        .sum()
}

fn counter(what: &str, help: &str) -> MetricFamily {
    MetricFamily::new(
        &format!("selfheal_restart_guard_{what}"),
        MetricKind::Counter,
        Unit::Count,
        help,
    )
}

fn gauge(what: &str, unit: Unit, help: &str) -> MetricFamily {
    MetricFamily::new(
        &format!("selfheal_restart_guard_{what}"),
        MetricKind::Gauge,
        unit,
        help,
    )
}

fn gauge_values(view: &View, now: &Stamp) -> [f64; 7] {
    let judgement = &view.judgement;
    let max = f64::from(view.policy.max);
    let used = f64::from(judgement.in_window);
    [
        used,
        max,
        (max - used).max(0.0),
        view.policy.per.as_secs_f64(),
        f64::from(u8::from(judgement.verdict == Verdict::Budget)),
        now.unix_after(judgement.wait),
        policy::required_gap(view.history.streak, &view.policy).as_secs_f64(),
    ]
}
