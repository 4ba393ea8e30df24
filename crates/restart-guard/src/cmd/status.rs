//! `status [NAME]`: how much of each name's budget is used, when a restart
//! is next allowed, and whether it is exhausted. Read-only: it peeks at the
//! state files (always whole, being replaced by rename) without locking.
//!
//! JSON `details.names.<name>`: `restarts_in_window`, `max`, `remaining`,
//! `window_seconds`, `exhausted`, `next_allowed` (+`_unix`), `in_progress`,
//! `orphaned` (an attempt whose guard died before recording its outcome),
//! `last_outcome` (`{decision, at, outcome}` or null).
//!
//! Status: CRITICAL when a budget is exhausted, WARNING when the last
//! attempt failed, is still running or was orphaned, else OK; UNKNOWN
//! when state is unreadable.

use crate::audit::Decision;
use crate::cli::StatusArgs;
use crate::history::History;
use crate::metrics::{self, View};
use crate::policy::{self, Policy, Verdict};
use crate::render::TOOL;
use crate::{recover, render};
use selfheal_core::clock::Stamp;
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
    report.summary = summary(&report, views.len());
    if let (Some(name), [(_, state)]) = (&args.name, states.as_slice())
        && *state == History::default()
    {
        report.summary = unknown_name(&store, name);
    }
    report.metrics = metrics::families(&views, &now);
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
    let (status, note) = status_of(view.history, d.verdict, now);
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
        "next_allowed": selfheal_core::clock::rfc3339(next),
        "next_allowed_unix": next,
        "in_progress": view.history.pending.is_some() && orphaned(view.history, now).is_none(),
        "orphaned": orphaned(view.history, now).is_some(),
        "last_outcome": view.history.last_outcome,
    })
}

/// How long ago the pending attempt began, if its guard died.
fn orphaned(state: &History, now: &Stamp) -> Option<std::time::Duration> {
    let pending = state.pending.as_ref()?;
    recover::orphaned(pending, now, std::path::Path::new(PROC_ROOT))
}

/// CRITICAL when exhausted; WARNING while a restart runs, after a failed
/// one, or when its guard died mid-attempt (orphaned).
fn status_of(state: &History, verdict: Verdict, now: &Stamp) -> (Status, String) {
    let failed = state
        .last_outcome
        .as_ref()
        .is_some_and(|o| matches!(o.decision, Decision::Failed | Decision::VerifyFailed));
    if verdict == Verdict::Budget {
        (Status::Critical, ", exhausted".into())
    } else if let Some(age) = orphaned(state, now) {
        let pid = state.pending.as_ref().map_or(0, |p| p.pid);
        let note = format!(
            ", an attempt begun {} ago is orphaned (restart-guard pid {pid} ended before recording its outcome; the next run for the name records it)",
            human(age)
        );
        (Status::Warning, note)
    } else if state.pending.is_some() {
        (Status::Warning, ", a restart is in progress".into())
    } else if failed {
        (Status::Warning, String::new())
    } else {
        (Status::Ok, String::new())
    }
}

fn summary(report: &Report, names: usize) -> String {
    match report.checks.as_slice() {
        [] => "no restarts recorded yet".into(),
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
