//! The default form: take the name's lock, decide, record, maybe restart.
//!
//! Durability order, so that a SIGKILL at any instant never lets the budget
//! be exceeded: lock -> load -> decide -> save the attempt (and a `pending`
//! marker) -> run CMD -> append+fsync the audit line -> save the outcome.
//! A restart that may have happened therefore always counts. The audit line
//! follows CMD rather than preceding it so that each decision is one line
//! carrying its outcome (200 runs, 200 lines); the durable record before CMD
//! is the saved attempt. If the guard dies in between, the next run finds
//! the marker and writes the missing line (decision `failed`, outcome
//! unknown, the dead run's pid), unless the dead run got as far as writing it.
//!
//! Syncs per restart: two where there were five (three of them journal
//! commits, on ext4 and xfs alike). Before CMD, the intent record
//! (`intent`: one block overwritten in place, `fdatasync`, no journal
//! commit); after CMD, the audit line (`fdatasync`). The state file is
//! saved without a sync both times: everything it holds is in those two
//! records and older synced state, and the load path (`recover::history`)
//! catches up from them after a power loss. A killed process loses nothing
//! either way: what it wrote is in the page cache, which the next run reads.

use crate::audit::{Decision, Record};
use crate::cli::GuardArgs;
use crate::escalation::{self, Resolution};
use crate::history::{History, LastOutcome, Pending, PolicySnapshot};
use crate::intent::{self, Intent};
use crate::invocation::Invocation;
use crate::metrics::View;
use crate::notify::{self, Standing};
use crate::policy::{self, Judgement, Verdict};
use crate::render::{self, TOOL};
use crate::{exec, recover};
use anyhow::Context as _;
use selfheal_core::atomic::Durability;
use selfheal_core::clock::Stamp;
use selfheal_core::interrupt::Interrupts;
use selfheal_core::state::{LockError, LockWait, StateLock, StateStore};
use selfheal_core::{Outcome, Report, Status};

#[must_use]
pub fn run(args: &GuardArgs) -> Outcome {
    if args.dry_run {
        return TOOL.run_dry(&args.output, || guard(args));
    }
    TOOL.run(&args.output, || guard(args))
}

fn guard(args: &GuardArgs) -> anyhow::Result<Report> {
    let inv = Invocation::new(args)?;
    if args.dry_run {
        return dry_run(&inv);
    }
    let wait = args.wait.map_or(LockWait::No, LockWait::Upto);
    let store = inv.store.as_ref().context("no state directory")?;
    let lock = match store.lock(inv.name, wait) {
        Ok(lock) => lock,
        Err(LockError::Busy) => return held_lock(&inv, store),
        Err(LockError::Io(err)) => return Err(err.into()),
    };
    let mut warnings = Vec::new();
    let mut history = load(&inv, &lock, &mut warnings)?;
    recover::pending(&inv, &mut history)?;
    let now = Stamp::now();
    history.policy = Some(PolicySnapshot::from(&inv.policy));
    let judgement = policy::judge(&history, &now, &inv.policy);
    let mut report = match judgement.verdict {
        Verdict::Allow => restart(&inv, lock, history, &now),
        Verdict::Cooldown => held(
            &inv,
            lock,
            history,
            (&now, judgement),
            Decision::HeldCooldown,
        ),
        Verdict::Budget => held(&inv, lock, history, (&now, judgement), Decision::HeldBudget),
    }?;
    for warning in warnings {
        report.warn(warning);
    }
    Ok(report)
}

/// Loads the history, caught up with the intent record or rebuilt from
/// the audit log (`recover::history`), so that the budget is never
/// silently reset.
fn load(inv: &Invocation, lock: &StateLock, warnings: &mut Vec<String>) -> anyhow::Result<History> {
    let loaded = lock.load::<History>()?;
    let intent = intent::read(&inv.intent_path()?)?;
    recover::history(inv, loaded, intent, warnings)
}

fn restart(
    inv: &Invocation,
    lock: StateLock,
    mut history: History,
    now: &Stamp,
) -> anyhow::Result<Report> {
    let before = history.clone();
    begin(inv, &lock, &mut history, now)?;
    // The window as it stands with this attempt in it.
    let mut after = policy::judge(&history, now, &inv.policy);
    let attempt = attempt(inv, &history, now, &after);
    history.pending = None;
    if attempt.decision == Decision::NotRun {
        // Nothing ran: the attempt leaves the window, its number stays used.
        history = History {
            seq: history.seq,
            ..before
        };
        after = policy::judge(&history, now, &inv.policy);
    }
    let record = attempt_record(inv, &attempt, now, &after);
    let unrecorded = record_outcome(inv, &lock, &mut history, now, &record);
    // Not an interrupted one: a notifier must not start while we are told
    // to stop; nor one whose call could not be recorded (the next run calls it).
    let failed = matches!(attempt.decision, Decision::Failed | Decision::VerifyFailed);
    let escalation = if failed && after.verdict == Verdict::Budget && unrecorded.is_none() {
        escalate(inv, lock, &mut history, (now, &after), attempt.decision)?
    } else if attempt.decision == Decision::Verified {
        let window = inv.policy.window(&after, now);
        let how = Resolution::after_restart(inv);
        escalation::resolve(&how, lock, &mut history, now, window)?
    } else {
        None
    };
    let mut report = decision_report(inv, &record, &history, now, after, escalation);
    if let Some(what) = unrecorded {
        // The restart happened (or failed) all the same: say so, and what
        // is missing. A restart that worked is not OK when its record is lost.
        if report.status == Status::Ok {
            report.status = Status::Unknown;
        }
        report.summary = format!("{}; but {what}", report.summary);
        report.details.insert("not_recorded".into(), what.into());
    }
    Ok(report)
}

/// Runs CMD (and --verify) with the window, as it stands with this
/// attempt in it, in their environment. Told to stop meanwhile, we stop
/// their group and record that, rather than die and leave it unrecorded.
fn attempt(inv: &Invocation, history: &History, now: &Stamp, after: &Judgement) -> exec::Attempt {
    let standing = Standing {
        history,
        now,
        judgement: after,
    };
    let interrupts = Interrupts::watch().ok();
    exec::attempt(
        inv.args,
        &notify::env(inv, &standing, None),
        interrupts.as_ref(),
    )
}

/// Records the outcome of an attempt. When that fails (the disk filled
/// or the state folder turned read-only while CMD ran), what was and was
/// not recorded, instead of an error that reads as if nothing had run.
fn record_outcome(
    inv: &Invocation,
    lock: &StateLock,
    history: &mut History,
    now: &Stamp,
    record: &Record,
) -> Option<String> {
    if let Err(err) = inv.audit.append(record) {
        return Some(format!(
            "its outcome was not recorded ({err}); the attempt was, before CMD ran: it counts, and the next run logs it as outcome unknown"
        ));
    }
    settle(lock, history, now, record).err().map(|err| {
        format!("the state was not saved ({err:#}); the audit line was, and the next run catches up from it")
    })
}

/// Records the attempt, durably, before CMD may start; first makes sure
/// the audit log can be written, so CMD never runs without a record.
fn begin(
    inv: &Invocation,
    lock: &StateLock,
    history: &mut History,
    now: &Stamp,
) -> anyhow::Result<()> {
    inv.audit.check_writable()?;
    let intent = Intent {
        seq: history.seq + 1,
        pending: Pending {
            started: now.clone(),
            pid: std::process::id(),
            reason: inv.args.reason.clone(),
        },
    };
    // The durable record: one block overwritten and flushed, no journal
    // commit (see `intent`).
    intent::write(&inv.intent_path()?, &intent)
        .context("cannot record the attempt; CMD not run")?;
    intent.apply(history, &inv.policy);
    // Not synced: if a power loss takes this save back, the next load
    // finds the state one attempt behind the intent record and applies it
    // (recover::history), then settles it from the audit log.
    lock.save_with(history, Durability::Deferred)
        .context("cannot record the attempt; CMD not run")?;
    Ok(())
}

fn attempt_record(
    inv: &Invocation,
    attempt: &exec::Attempt,
    now: &Stamp,
    after: &Judgement,
) -> Record {
    let mut record = inv.record(attempt.decision, now, after);
    record.exit_status = attempt.exit_status;
    record.outcome = Some(attempt.outcome.clone());
    record.duration_seconds = Some(attempt.duration.as_secs_f64());
    let argv = inv
        .args
        .command
        .iter()
        .map(|a| a.to_string_lossy().into_owned());
    record.command = Some(argv.collect());
    record
}

fn held(
    inv: &Invocation,
    lock: StateLock,
    mut history: History,
    (now, judgement): (&Stamp, Judgement),
    decision: Decision,
) -> anyhow::Result<Report> {
    let record = inv.record(decision, now, &judgement);
    finish(inv, &lock, &mut history, now, &record)?;
    let escalation = if decision == Decision::HeldBudget {
        escalate(inv, lock, &mut history, (now, &judgement), decision)?
    } else {
        None
    };
    Ok(decision_report(
        inv, &record, &history, now, judgement, escalation,
    ))
}

/// Appends the decision's audit line (synced), then saves the counted
/// outcome without a sync.
fn finish(
    inv: &Invocation,
    lock: &StateLock,
    history: &mut History,
    now: &Stamp,
    record: &Record,
) -> anyhow::Result<()> {
    inv.audit.append(record)?;
    settle(lock, history, now, record)
}

/// Counts a decision whose audit line is written and saves the state.
fn settle(
    lock: &StateLock,
    history: &mut History,
    now: &Stamp,
    record: &Record,
) -> anyhow::Result<()> {
    history.count(record.decision);
    if record.decision == Decision::HeldBudget {
        history.last_refused = Some(now.clone());
    }
    if let Some(outcome) = &record.outcome {
        history.last_outcome = Some(LastOutcome {
            decision: record.decision,
            at: now.clone(),
            outcome: outcome.clone(),
        });
    }
    // Not synced: everything this save adds is in the synced audit line.
    // If a power loss takes it back, the state on disk is an older one
    // that the intent record and the log bring up to date
    // (recover::history, recover::pending), or an empty file, rebuilt from
    // the log; after a held decision, only a `_total` counter is lost.
    lock.save_with(history, Durability::Deferred)?;
    Ok(())
}

/// Calls the notifier if one is configured and due. The call is saved as
/// made before it runs: a notifier that may have run counts, so a crash
/// can cost one notification but never cause a storm of them. The lock is
/// released first; runs queued behind it see the call and hold off.
fn escalate(
    inv: &Invocation,
    lock: StateLock,
    history: &mut History,
    (now, judgement): (&Stamp, &Judgement),
    trigger: Decision,
) -> anyhow::Result<Option<String>> {
    let Some(notifier) = &inv.args.escalation.on_exhausted else {
        return Ok(Some("no --on-exhausted notifier".into()));
    };
    if !policy::escalation_due(history, now, inv.args.escalation.escalate_every) {
        return Ok(Some(render::escalated_ago(history, now)));
    }
    history.escalated_at = Some(now.clone());
    escalation::opened(history, now, inv.args.escalation.escalate_every);
    history.count(Decision::Escalated);
    lock.save(history)?;
    drop(lock);
    let standing = Standing {
        history,
        now,
        judgement,
    };
    let ran = notify::call(inv, notifier, &standing, trigger);
    let mut record = inv.record(Decision::Escalated, now, judgement);
    record.exit_status = ran.exit_status;
    record.outcome = Some(ran.outcome.clone());
    record.duration_seconds = Some(ran.duration.as_secs_f64());
    inv.audit.append(&record)?;
    Ok(Some(if ran.ok {
        "escalated".into()
    } else {
        format!("escalation notifier failed: {}", ran.outcome)
    }))
}

fn held_lock(inv: &Invocation, store: &StateStore) -> anyhow::Result<Report> {
    // The state file is always whole (replaced by rename): peek for numbers.
    let history = store
        .peek::<History>(inv.name)
        .ok()
        .flatten()
        .unwrap_or_default();
    let now = Stamp::now();
    let judgement = policy::judge(&history, &now, &inv.policy);
    let mut window = inv.policy.window(&judgement, &now);
    // Another run holds the state: when it will allow the next is unknown.
    window.next_allowed_unix = None;
    let record = inv.record_in(Decision::HeldLock, &now, window);
    inv.audit.append(&record)?;
    Ok(decision_report(
        inv, &record, &history, &now, judgement, None,
    ))
}

/// Every check of a real run, then the decision it would make; writes
/// nothing (not even --textfile: see `TOOL.run_dry`).
fn dry_run(inv: &Invocation) -> anyhow::Result<Report> {
    inv.check_files()?;
    let history = match &inv.store {
        Some(store) => store.peek::<History>(inv.name)?.unwrap_or_default(),
        None => History::default(),
    };
    let now = Stamp::now();
    let judgement = policy::judge(&history, &now, &inv.policy);
    let decision = match judgement.verdict {
        Verdict::Allow => Decision::Restarted,
        Verdict::Cooldown => Decision::HeldCooldown,
        Verdict::Budget => Decision::HeldBudget,
    };
    let mut record = inv.record(decision, &now, &judgement);
    record.dry_run = true;
    Ok(decision_report(
        inv, &record, &history, &now, judgement, None,
    ))
}

fn decision_report(
    inv: &Invocation,
    record: &Record,
    history: &History,
    now: &Stamp,
    judgement: Judgement,
    escalation: Option<String>,
) -> Report {
    let view = View {
        name: inv.name,
        history,
        policy: inv.policy.clone(),
        judgement,
    };
    render::decision_report(record, view, now, escalation)
}
