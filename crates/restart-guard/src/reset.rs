//! `reset NAME`: a human says the cause is fixed. Clears the window, the
//! backoff streak and the escalation clock (counters stay), under the same
//! lock as restarts, and writes a `reset` audit line.

use crate::audit::{self, Decision, Record};
use crate::cli::ResetArgs;
use crate::render::base_report;
use crate::store::GuardState;
use anyhow::Context as _;
use selfheal_core::clock::Stamp;
use selfheal_core::state::{Loaded, LockError, LockWait, StateStore};
use selfheal_core::{Outcome, Report, Status};

#[must_use]
pub fn run(args: &ResetArgs) -> Outcome {
    let report =
        reset(args).unwrap_or_else(|err| selfheal_core::cli::unknown_report(base_report(), &err));
    crate::render::outcome(report, &args.output)
}

fn reset(args: &ResetArgs) -> anyhow::Result<Report> {
    selfheal_core::state::validate_name(&args.name).map_err(anyhow::Error::msg)?;
    let store = StateStore::open(&args.files.guard_dir())?;
    let mut report = base_report();
    // Checked before locking, so a typo leaves no lock, state or audit line.
    // A corrupt file is not "no state": the locked path sets it aside.
    if matches!(store.peek::<GuardState>(&args.name), Ok(None)) {
        report.summary = format!(
            "nothing to reset: no state for {} in {} ({})",
            args.name,
            store.dir().display(),
            crate::render::known_names(&store)
        );
        return Ok(report);
    }
    let lock = match store.lock(&args.name, LockWait::Upto(args.wait)) {
        Ok(lock) => lock,
        Err(LockError::Busy) => {
            report.status = Status::Warning;
            report.summary = format!(
                "held back: a restart of {} is in progress; try again",
                args.name
            );
            return Ok(report);
        }
        Err(LockError::Io(err)) => return Err(err.into()),
    };
    let old: GuardState = match lock.load()? {
        Loaded::Found(state) => state,
        Loaded::Missing => GuardState::default(),
        Loaded::SetAside { note } => {
            report.warn(note);
            GuardState::default()
        }
    };
    let mut state = cleared(&old);
    let record = record(args, &Stamp::now(), &old, &state);
    audit::append(&args.files.audit_path(), &record)?;
    state.count(Decision::Reset);
    lock.save(&state)
        .context("audit line written but state not reset")?;
    report.summary = format!(
        "reset {}: cleared {} attempt(s) from the window and the backoff; restarts allowed now",
        args.name,
        old.attempts.len()
    );
    if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(&record) {
        report.details = map;
    }
    Ok(report)
}

/// The state after a reset: history gone; counters, last outcome and a dead
/// run's pending attempt (whose audit line the next run still owes) kept.
fn cleared(old: &GuardState) -> GuardState {
    GuardState {
        pending: old.pending.clone(),
        totals: old.totals.clone(),
        policy: old.policy.clone(),
        last_outcome: old.last_outcome.clone(),
        ..GuardState::default()
    }
}

fn record(args: &ResetArgs, now: &Stamp, old: &GuardState, new: &GuardState) -> Record {
    let policy = new.policy.as_ref();
    Record {
        time: now.rfc3339(),
        unix: now.unix,
        boot_id: now.boot_id.clone(),
        uptime: now.uptime,
        name: args.name.clone(),
        decision: Decision::Reset,
        reason: args.reason.clone(),
        exit_status: None,
        outcome: Some(format!("cleared {} attempt(s)", old.attempts.len())),
        duration_seconds: None,
        restarts_in_window: 0,
        max: policy.map_or(0, |p| p.max),
        window_seconds: policy.map_or(0.0, |p| p.per_seconds),
        next_allowed: Some(now.rfc3339()),
        next_allowed_unix: Some(now.unix),
        command: None,
        dry_run: false,
        pid: std::process::id(),
    }
}
