//! Picking up after a guard that died: an attempt saved as pending but never
//! given its audit line, and a state file so damaged that the store set it
//! aside. Both rebuild from what is durable, erring toward "a restart
//! happened", because the budget must never be exceeded.

use crate::audit::{self, Decision, Record};
use crate::guard::Ctx;
use crate::policy;
use crate::store::{GuardState, LastOutcome, Pending};
use selfheal_core::clock::Stamp;

/// Decisions that mean CMD was (or may have been) started.
pub const ATTEMPTS: [Decision; 4] = [
    Decision::Restarted,
    Decision::Failed,
    Decision::Verified,
    Decision::VerifyFailed,
];

/// Settles an attempt a dead guard left pending: if it got as far as its
/// audit line, that line's outcome is counted; otherwise the line it owed
/// is written now, as failed with an unknown outcome. The attempt itself is
/// already in the window either way.
pub fn pending(ctx: &Ctx, state: &mut GuardState) -> anyhow::Result<()> {
    let Some(pending) = state.pending.take() else {
        return Ok(());
    };
    let log = audit::read(&ctx.audit)?;
    let logged = log.records.into_iter().map(|(r, _)| r).find(|r| {
        r.name == ctx.name
            && r.pid == pending.pid
            && ATTEMPTS.contains(&r.decision)
            && (r.unix - pending.started.unix).abs() < 1e-3
    });
    let record = if let Some(record) = logged {
        record
    } else {
        owed_line(ctx, state, &pending)?
    };
    state.count(record.decision);
    state.last_outcome = Some(LastOutcome {
        decision: record.decision,
        at: pending.started,
        outcome: record.outcome.unwrap_or_default(),
    });
    Ok(())
}

/// Writes the line a dead run owed: failed, outcome unknown.
fn owed_line(ctx: &Ctx, state: &GuardState, pending: &Pending) -> anyhow::Result<Record> {
    let mut record: Record = ctx.record(Decision::Failed, &pending.started, state);
    record.reason.clone_from(&pending.reason);
    // The line stands for the dead run's attempt: its pid, so that a run
    // killed right after writing it is not followed by a duplicate.
    record.pid = pending.pid;
    record.outcome = Some(format!(
        "unknown: restart-guard (pid {}) ended before recording the outcome; CMD may have run",
        pending.pid
    ));
    audit::append(&ctx.audit, &record)?;
    Ok(record)
}

/// Rebuilds the window from the audit log after the state file was found
/// corrupt: every logged attempt for the name counts again.
pub fn from_audit(ctx: &Ctx, now: &Stamp) -> anyhow::Result<GuardState> {
    let log = audit::read(&ctx.audit)?;
    let mut state = GuardState::default();
    for (record, _) in log.records.iter().filter(|(r, _)| r.name == ctx.name) {
        let at = Stamp {
            unix: record.unix,
            boot_id: record.boot_id.clone(),
            uptime: record.uptime,
        };
        if ATTEMPTS.contains(&record.decision) && now.elapsed_since(&at) < ctx.policy.per {
            policy::record_attempt(&mut state, &at, &ctx.policy);
            state.escalated_at = None;
        } else if record.decision == Decision::Escalated {
            state.escalated_at = Some(at);
        } else if record.decision == Decision::Reset {
            state = GuardState::default();
        }
    }
    eprintln!(
        "warning: rebuilt the restart window of {} from the audit log: {} attempt(s) in the last {}",
        ctx.name,
        state.attempts.len(),
        selfheal_core::duration::human(ctx.policy.per)
    );
    Ok(state)
}
