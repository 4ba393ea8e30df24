//! `status [NAME]`: how much of each name's budget is used, when a restart
//! is next allowed, and whether it is exhausted. Read-only: it peeks at the
//! state files (always whole, being replaced by rename) without locking.
//!
//! JSON `details.names.<name>`: `restarts_in_window`, `max`, `remaining`,
//! `window_seconds`, `exhausted`, `next_allowed` (+`_unix`), `in_progress`,
//! `orphaned` (an attempt whose guard died before recording its outcome),
//! `last_outcome` (`{decision, at, outcome}` or null), `escalation`
//! (`{open, opened_at, last_at, next_not_before}` (+`_unix`), null when
//! never escalated).
//!
//! Status per name: see `severity`; UNKNOWN when state is unreadable.

use crate::cli::StatusArgs;
use crate::history::History;
use crate::metrics::{self, View};
use crate::policy::{self, Policy, Verdict};
use crate::render::TOOL;
use crate::{recover, render, severity};
use selfheal_core::clock::{Stamp, rfc3339};
use selfheal_core::duration::human;
use selfheal_core::procstat::PROC_ROOT;
use selfheal_core::state::StateStore;
use selfheal_core::{Check, Outcome, Report, Status};
use std::fmt::Write as _;

#[must_use]
pub fn run(args: &StatusArgs) -> Outcome {
    TOOL.run(&args.output, || status(args))
}

fn status(args: &StatusArgs) -> anyhow::Result<Report> {
    let store = args.files.state_store()?;
    let names = match &args.name {
        Some(name) => vec![name.clone()],
        None => store.names()?,
    };
    let mut states = Vec::new();
    for name in names {
        let state = store.peek::<History>(&name)?.unwrap_or_default();
        states.push((name, state));
    }
    let now = Stamp::now();
    let mut report = render::report();
    let views: Vec<View> = states
        .iter()
        .map(|(name, history)| {
            let policy = Policy::of(history);
            View {
                name,
                history,
                judgement: policy::judge(history, &now, &policy),
                policy,
            }
        })
        .collect();
    let mut details = serde_json::Map::new();
    for view in &views {
        report.check(check(view, &now));
        details.insert(view.name.to_owned(), detail(view, &now));
    }
    report.details.insert("names".into(), details.into());
    report.summary = summary(&report, views.len(), &store);
    if let (Some(name), [(_, state)]) = (&args.name, states.as_slice())
        && *state == History::default()
    {
        report.summary = unknown_name(&store, name);
    }
    report.metrics = metrics::families(&views, &now);
    if let Some(note) = TOOL.unseen_system_state(&args.files.state) {
        report.warn(note);
    }
    Ok(report)
}

/// `status NAME` for a name with no state: a full budget, which is OK
/// for a service never restarted, but the text must not pass a typo off
/// as a healthy budget.
fn unknown_name(store: &StateStore, name: &str) -> String {
    format!(
        "no restarts recorded for {name} in {} ({})",
        store.dir().display(),
        render::known_names(store)
    )
}

fn check(view: &View, now: &Stamp) -> Check {
    let d = &view.judgement;
    let left = view.policy.max.saturating_sub(d.in_window);
    let orphaned = orphaned(view.history, now);
    let (status, note) = severity::of(view.history, d, &view.policy, (now, orphaned));
    let mut text = format!(
        "{}/{} restarts in {} used, {left} left, next allowed {}{note}",
        d.in_window,
        view.policy.max,
        human(view.policy.per),
        render::wait_text(d.wait)
    );
    if let Some(o) = &view.history.last_outcome {
        let (what, at) = (o.decision.as_str(), o.at.rfc3339());
        let _ = write!(text, "; last {what} at {at}: {}", o.outcome);
    }
    if let Some(at) = &view.history.last_escalation {
        let _ = write!(text, "; last escalated at {}", at.rfc3339());
        match severity::next_escalation(view.history) {
            Some(next) => {
                let _ = write!(text, ", again from {} if still exhausted", rfc3339(next));
            }
            None => text.push_str(", resolved"),
        }
    }
    Check::new(view.name, status, text)
}

/// The `details.names.<name>` object of `--format json`.
fn detail(view: &View, now: &Stamp) -> serde_json::Value {
    let d = &view.judgement;
    let next = now.unix_after(d.wait);
    serde_json::json!({
        "restarts_in_window": d.in_window,
        "max": view.policy.max,
        "remaining": view.policy.max.saturating_sub(d.in_window),
        "window_seconds": view.policy.per.as_secs_f64(),
        "exhausted": d.verdict == Verdict::Budget,
        "next_allowed": rfc3339(next),
        "next_allowed_unix": next,
        "in_progress": view.history.pending.is_some() && orphaned(view.history, now).is_none(),
        "orphaned": orphaned(view.history, now).is_some(),
        "last_outcome": view.history.last_outcome,
        "escalation": escalation(view.history),
    })
}

/// Whether and when the name last escalated, and when it may again.
fn escalation(history: &History) -> serde_json::Value {
    let Some(last) = &history.last_escalation else {
        return serde_json::Value::Null;
    };
    let next = severity::next_escalation(history);
    serde_json::json!({
        "open": history.open_escalation.is_some(),
        "opened_at": history.open_escalation.as_ref().map(Stamp::rfc3339),
        "last_at": last.rfc3339(),
        "last_at_unix": last.unix,
        "next_not_before": next.map(rfc3339),
        "next_not_before_unix": next,
    })
}

/// How long ago the pending attempt began, if its guard died.
fn orphaned(state: &History, now: &Stamp) -> Option<std::time::Duration> {
    let pending = state.pending.as_ref()?;
    recover::orphaned(pending, now, std::path::Path::new(PROC_ROOT))
}

fn summary(report: &Report, names: usize, store: &StateStore) -> String {
    match report.checks.as_slice() {
        [] => format!("no restarts recorded yet in {}", store.dir().display()),
        [one] => format!("{}: {}", one.name, one.summary),
        checks => {
            let bad: Vec<String> = checks
                .iter()
                .filter(|c| c.status != Status::Ok)
                .map(|c| format!("{} ({})", c.name, c.summary))
                .collect();
            if bad.is_empty() {
                format!("{names} names, all within budget")
            } else {
                format!(
                    "{names} names, {} need attention: {}",
                    bad.len(),
                    bad.join("; ")
                )
            }
        }
    }
}
