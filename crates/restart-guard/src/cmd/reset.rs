//! `reset NAME`: a human says the cause is fixed. Clears the window, the
//! backoff streak and the escalation clock (counters stay), under the same
//! lock as restarts, and writes a `reset` audit line.

use crate::audit::{Decision, Record, Window};
use crate::cli::ResetArgs;
use crate::escalation::{self, Resolution};
use crate::history::{History, LastOutcome};
use crate::intent;
use crate::policy::{self, Policy};
use crate::render;
use crate::render::TOOL;
use anyhow::Context as _;
use selfheal_core::audit::AuditLog;
use selfheal_core::clock::Stamp;
use selfheal_core::state::{LockError, LockWait, StateLock};
use selfheal_core::{Outcome, Report, Status};

/// The window as `history` stands at `now`, for an audit line.
fn record_window(history: &History, now: &Stamp) -> Window {
    let policy = Policy::of(history);
    policy.window(&policy::judge(history, now, &policy), now)
}

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
        if let Some(note) = TOOL.unseen_system_state(&args.files.state) {
            report.warn(note);
        }
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
    let now = Stamp::now();
    let record = record(args, &now, &old, &state);
    let audit = args.files.audit_log()?;
    audit.append(&record)?;
    state.count(Decision::Reset);
    state.last_outcome = Some(LastOutcome {
        decision: Decision::Reset,
        at: now.clone(),
        outcome: format!(
            "{}: {}",
            record.outcome.as_deref().unwrap_or(""),
            args.reason
        ),
    });
    report.summary = format!(
        "reset {}: cleared {} attempt(s) from the window and the backoff; restarts allowed now",
        args.name,
        old.attempts.len()
    );
    if let Some(note) = save(args, lock, &mut state, &now, &audit)
        .context("audit line written but state not reset")?
    {
        report.summary = format!("{}; {note}", report.summary);
    }
    if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(&record) {
        report.details = map;
    }
    Ok(report)
}

/// Saves the reset state; when it ends an escalation, through
/// `escalation::resolve`, which also calls --on-recovered.
fn save(
    args: &ResetArgs,
    lock: StateLock,
    state: &mut History,
    now: &Stamp,
    audit: &AuditLog,
) -> anyhow::Result<Option<String>> {
    if state.open_escalation.is_none() {
        lock.save(state)?;
        return Ok(None);
    }
    let how = Resolution {
        name: &args.name,
        by: Decision::Reset,
        reason: &args.reason,
        notifier: args.on_recovered.as_ref(),
        timeout: args.notify_timeout,
        audit,
    };
    let window = record_window(state, now);
    escalation::resolve(&how, lock, state, now, window)
}

/// The state after a reset: history gone; counters, the escalation (which
/// the reset then resolves) and a dead run's pending attempt (whose audit
/// line the next run still owes) kept.
fn cleared(old: &History) -> History {
    History {
        open_escalation: old.open_escalation.clone(),
        last_escalation: old.last_escalation.clone(),
        escalate_every_seconds: old.escalate_every_seconds,
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
    let mut record = Record::new(&args.name, Decision::Reset, now, record_window(new, now));
    record.reason.clone_from(&args.reason);
    record.outcome = Some(format!("cleared {} attempt(s)", old.attempts.len()));
    record
}
