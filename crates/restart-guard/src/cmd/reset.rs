//! `reset NAME`: a human says the cause is fixed. Clears the window, the
//! backoff streak and the escalation clock (counters stay), under the same
//! lock as restarts, and writes a `reset` audit line.

use crate::audit::{Decision, Record};
use crate::cli::ResetArgs;
use crate::history::History;
use crate::intent;
use crate::policy::{self, Policy};
use crate::render;
use crate::render::TOOL;
use anyhow::Context as _;
use selfheal_core::clock::Stamp;
use selfheal_core::state::{LockError, LockWait};
use selfheal_core::{Outcome, Report, Status};

#[must_use]
pub fn run(args: &ResetArgs) -> Outcome {
    TOOL.run(&args.output, || reset(args))
}

fn reset(args: &ResetArgs) -> anyhow::Result<Report> {
    selfheal_core::state::validate_name(&args.name).map_err(anyhow::Error::msg)?;
    let store = args.files.state_store()?;
    let mut report = render::report();
    // Checked before locking, so a typo leaves no lock, state or audit line.
    // A corrupt file is not "no state": the locked path sets it aside.
    if matches!(store.peek::<History>(&args.name), Ok(None)) {
        report.summary = format!(
            "nothing to reset: no state for {} in {} ({})",
            args.name,
            store.dir().display(),
            render::known_names(&store)
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
    let old: History = lock.load()?.or_default_warning(&mut report);
    let mut state = cleared(&old);
    // Attempts begun stay counted, even when the state file was corrupt:
    // else the last intent record would look like a lost attempt.
    let begun = intent::read(&intent::path(&store, &args.name))?;
    state.seq = state.seq.max(begun.map_or(0, |i| i.seq));
    let record = record(args, &Stamp::now(), &old, &state);
    args.files.audit_log()?.append(&record)?;
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
fn cleared(old: &History) -> History {
    History {
        pending: old.pending.clone(),
        seq: old.seq,
        totals: old.totals.clone(),
        policy: old.policy.clone(),
        last_outcome: old.last_outcome.clone(),
        ..History::default()
    }
}

/// The `reset` line, with the window as the reset leaves it (empty,
/// restarts allowed now).
fn record(args: &ResetArgs, now: &Stamp, old: &History, new: &History) -> Record {
    let policy = Policy::of(new);
    let judgement = policy::judge(new, now, &policy);
    let mut record = Record::new(
        &args.name,
        Decision::Reset,
        now,
        policy.window(&judgement, now),
    );
    record.reason.clone_from(&args.reason);
    record.outcome = Some(format!("cleared {} attempt(s)", old.attempts.len()));
    record
}
