//! Turning a decision into the report `main` prints: one Nagios line
//! (`RESTART OK - restarted ollama (1/3 in 1h, next allowed in 60s)`), or
//! with `--format json` the report whose `details` is the audit record.

use crate::audit::{Decision, Record};
use crate::history::History;
use crate::metrics::{self, View};
use selfheal_core::clock::Stamp;
use selfheal_core::duration::human;
use selfheal_core::harness::Tool;
use selfheal_core::{Check, Report, Status};
use std::time::Duration;

/// restart-guard's name, label and version, stated once.
pub const TOOL: Tool = selfheal_core::tool!("RESTART");

/// Metrics worth a place in the one-line text output's perfdata; every
/// metric still goes to `--format prom/json` and `--textfile`.
pub const PERFDATA: [&str; 5] = [
    "selfheal_restart_guard_restarts_in_window",
    "selfheal_restart_guard_unit_restarts_in_window",
    "selfheal_restart_guard_unit_nrestarts",
    "selfheal_restart_guard_budget_remaining",
    "selfheal_restart_guard_backoff_seconds",
];

/// An OK report with the short perfdata, for every subcommand.
#[must_use]
pub fn report() -> Report {
    let mut report = TOOL.report();
    report.keep_perfdata(&PERFDATA);
    report
}

/// The exit status of each decision (the README's exit-code table).
#[must_use]
pub fn status_of(decision: Decision) -> Status {
    match decision {
        Decision::Restarted | Decision::Verified | Decision::Reset | Decision::Recovered => {
            Status::Ok
        }
        Decision::HeldCooldown | Decision::HeldLock => Status::Warning,
        Decision::HeldBudget
        | Decision::Failed
        | Decision::VerifyFailed
        | Decision::Escalated
        | Decision::Interrupted => Status::Critical,
        Decision::NotRun => Status::Unknown,
    }
}

/// The report for one invocation's decision.
#[must_use]
pub fn decision_report(
    record: &Record,
    view: View,
    now: &Stamp,
    escalation: Option<String>,
) -> Report {
    let mut report = report();
    report.summary = summary(record, escalation.as_deref());
    // The one check of a decision: the name, as `status` lists names.
    report.check(Check::new(
        &record.name,
        status_of(record.decision),
        report.summary.clone(),
    ));
    if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(record) {
        report.details = map;
    }
    if let Some(note) = escalation {
        report.details.insert("escalation".into(), note.into());
    }
    report.metrics = metrics::families(&[view], now);
    report
}

fn summary(r: &Record, escalation: Option<&str>) -> String {
    let window = format!(
        "{}/{} in {}",
        r.restarts_in_window,
        r.max,
        human(Duration::from_secs_f64(r.window_seconds))
    );
    let next = next_allowed(r);
    let outcome = r.outcome.as_deref().unwrap_or("");
    let name = &r.name;
    let text = match r.decision {
        Decision::Restarted => format!("restarted {name} ({window}, {next})"),
        Decision::Verified => {
            format!("restarted {name} and verified it came back ({window}, {next})")
        }
        Decision::VerifyFailed => {
            format!("restarted {name} but it did not come back: {outcome} ({window}, {next})")
        }
        Decision::Failed => format!("restart of {name} failed: {outcome} ({window}, {next})"),
        Decision::Interrupted => format!("restart of {name} {outcome} ({window}, {next})"),
        Decision::NotRun => format!(
            "restart of {name} not attempted: {outcome}; not counted against the budget ({window}, {next})"
        ),
        Decision::HeldCooldown => {
            format!("held back: {name} is cooling down after its last restart ({window}, {next})")
        }
        Decision::HeldBudget => format!("restart budget of {name} exhausted ({window}, {next})"),
        Decision::HeldLock => format!("held back: another restart of {name} is in progress"),
        Decision::Escalated | Decision::Reset | Decision::Recovered => {
            format!("{} {name} ({window})", r.decision.as_str())
        }
    };
    let text = match escalation {
        Some(note) => format!("{text}; {note}"),
        None => text,
    };
    match (r.dry_run, r.decision) {
        (false, _) => text,
        (true, Decision::Restarted) => format!("dry run: would restart {name} ({window})"),
        (true, _) => format!("dry run: {text}"),
    }
}

fn next_allowed(r: &Record) -> String {
    match r.next_allowed_unix {
        Some(at) => format!(
            "next allowed {}",
            wait_text(Duration::from_secs_f64((at - r.unix).max(0.0)))
        ),
        None => "next allowed unknown".into(),
    }
}

/// `now`, `in 250ms`, `in 31s` (rounded up: never earlier than true), `in 59m12s`.
#[must_use]
pub fn wait_text(wait: Duration) -> String {
    if wait < Duration::from_millis(1) {
        return "now".into();
    }
    if wait < Duration::from_secs(1) {
        return format!("in {}", human(wait));
    }
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    format!("in {}", human(Duration::from_secs(secs)))
}

/// `known names: a, b` (or `no name has state yet`), to point at a typo.
#[must_use]
pub fn known_names(store: &selfheal_core::state::StateStore) -> String {
    match store.names() {
        Ok(names) if names.is_empty() => "no name has state yet".into(),
        Ok(names) => format!("known names: {}", names.join(", ")),
        Err(err) => format!("cannot list known names: {err}"),
    }
}

/// "escalation sent 12m ago", for a held-budget run that did not escalate.
#[must_use]
pub fn escalated_ago(history: &History, now: &Stamp) -> String {
    history.escalated_at.as_ref().map_or_else(
        || "not escalated".into(),
        |at| format!("already escalated {} ago", human(now.elapsed_since(at))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_decision_maps_to_the_documented_exit_code() {
        let codes: Vec<(&str, u8)> = Decision::ALL
            .iter()
            .map(|d| (d.as_str(), status_of(*d).exit_code()))
            .collect();
        assert_eq!(
            codes,
            [
                ("restarted", 0),
                ("held-cooldown", 1),
                ("held-budget", 2),
                ("held-lock", 1),
                ("failed", 2),
                ("verified", 0),
                ("verify-failed", 2),
                ("escalated", 2),
                ("reset", 0),
                ("interrupted", 2),
                ("not-run", 3),
                ("recovered", 0),
            ]
        );
    }

    #[test]
    fn waits_round_up_and_never_read_earlier_than_true() {
        assert_eq!(wait_text(Duration::ZERO), "now");
        assert_eq!(wait_text(Duration::from_micros(400)), "now");
        assert_eq!(wait_text(Duration::from_millis(250)), "in 250ms");
        assert_eq!(wait_text(Duration::from_millis(59_001)), "in 1m");
        assert_eq!(wait_text(Duration::from_secs_f64(3299.2)), "in 55m");
        assert_eq!(wait_text(Duration::from_secs(3600)), "in 1h");
    }
}
