//! Picking up after a guard that died or a power loss: an attempt saved as
//! pending but never given its audit line, a state file older than the
//! last intent record (its unsynced saves lost), and a state file lost or
//! so damaged that the store set it aside. All rebuild from what is
//! durable (the intent record and the audit log), erring toward "a restart
//! happened", because the budget must never be exceeded.

use crate::audit::{Decision, Record};
use crate::history::{History, LastOutcome, Pending};
use crate::intent::Intent;
use crate::invocation::Invocation;
use crate::policy;
use selfheal_core::clock::Stamp;
use selfheal_core::procstat;
use selfheal_core::state::Loaded;
use std::path::Path;
use std::time::Duration;

/// The history to decide from: the loaded state, caught up with the last
/// intent record, or rebuilt from the audit log when it cannot be.
/// Warnings say what was rebuilt and why.
pub fn history(
    inv: &Invocation,
    loaded: Loaded<History>,
    intent: Option<Intent>,
    warnings: &mut Vec<String>,
) -> anyhow::Result<History> {
    let why = match loaded {
        Loaded::Found(mut history) => {
            let begun = intent.as_ref().map_or(0, |i| i.seq);
            if begun <= history.seq {
                return Ok(history);
            }
            if begun == history.seq + 1
                && let Some(intent) = intent
            {
                // The save made just before CMD was lost: the record has it.
                intent.apply(&mut history, &inv.policy);
                return Ok(history);
            }
            Some(format!(
                "the state of {} knows {} attempt(s) but {begun} began (saves lost in a crash?)",
                inv.name, history.seq
            ))
        }
        Loaded::Missing => None,
        Loaded::SetAside { note } => Some(note),
    };
    let rebuilt = from_audit(inv, &Stamp::now())?;
    // Why first: it explains the rebuild.
    warnings.extend(why);
    let mut history = rebuilt.map_or_else(History::default, |(history, warning)| {
        warnings.push(warning);
        history
    });
    if let Some(intent) = intent {
        let started = &intent.pending.started;
        let logged = history
            .attempts
            .iter()
            .any(|a| (a.unix - started.unix).abs() < 1e-3);
        if logged || Stamp::now().elapsed_since(started) >= inv.policy.per {
            history.seq = intent.seq;
        } else {
            // Begun, never logged: pending, settled like any other.
            intent.apply(&mut history, &inv.policy);
        }
    }
    Ok(history)
}

/// Settles an attempt a dead guard left pending: if it got as far as its
/// audit line, that line's outcome is counted; otherwise the line it owed
/// is written now, as failed with an unknown outcome. The attempt itself is
/// already in the window either way.
pub fn pending(inv: &Invocation, history: &mut History) -> anyhow::Result<()> {
    let Some(pending) = history.pending.take() else {
        return Ok(());
    };
    let mut logged = None;
    inv.audit.scan(|r: Record, _| {
        if r.name == inv.name
            && r.pid == pending.pid
            && (r.is_attempt() || r.decision == Decision::NotRun)
            && (r.unix - pending.started.unix).abs() < 1e-3
        {
            logged = Some(r);
        }
    })?;
    let record = match logged {
        Some(record) => record,
        None => owed_line(inv, history, &pending)?,
    };
    history.count(record.decision);
    history.last_outcome = Some(LastOutcome {
        decision: record.decision,
        at: pending.started,
        outcome: record.outcome.unwrap_or_default(),
    });
    Ok(())
}

/// How long ago a pending attempt began, if the guard that began it is
/// gone (killed mid-attempt, or the machine rebooted since): nobody will
/// record its outcome but the next run for the name. `None` while that
/// guard still runs (a process with its pid that started before the
/// attempt began is that guard; one that started later reuses the pid).
#[must_use]
pub fn orphaned(pending: &Pending, now: &Stamp, proc_root: &Path) -> Option<Duration> {
    let age = now.elapsed_since(&pending.started);
    if pending.started.boot_id != now.boot_id {
        return Some(age);
    }
    let pid = i32::try_from(pending.pid).ok()?;
    let alive = match procstat::read(proc_root, pid) {
        Ok(stat) => !stat.is_gone() && stat.started_after_boot() <= pending.started.uptime + 1.0,
        // Unreadable (procfs mounted hidepid=): it cannot be told, so not orphaned.
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
    };
    (!alive).then_some(age)
}

/// Writes the line a dead run owed: failed, outcome unknown.
fn owed_line(inv: &Invocation, history: &History, pending: &Pending) -> anyhow::Result<Record> {
    let judgement = policy::judge(history, &pending.started, &inv.policy);
    let mut record = inv.record(Decision::Failed, &pending.started, &judgement);
    record.reason.clone_from(&pending.reason);
    // The line stands for the dead run's attempt: its pid, so that a run
    // killed right after writing it is not followed by a duplicate.
    record.pid = pending.pid;
    record.outcome = Some(format!(
        "unknown: restart-guard (pid {}) ended before recording the outcome; CMD may have run",
        pending.pid
    ));
    inv.audit.append(&record)?;
    Ok(record)
}

/// Rebuilds the window from the audit log (every file, oldest first) when
/// the state file was lost or set aside: every logged attempt for the name
/// inside the window counts again. Returns the history and the warning
/// that says so, or `None` when the log has no line for the name.
pub fn from_audit(inv: &Invocation, now: &Stamp) -> anyhow::Result<Option<(History, String)>> {
    let mut history = History::default();
    let mut seen = false;
    inv.audit.scan(|record: Record, _| {
        if record.name != inv.name {
            return;
        }
        seen = true;
        let at = record.stamp();
        if record.is_attempt() && now.elapsed_since(&at) < inv.policy.per {
            policy::record_attempt(&mut history, &at, &inv.policy);
            history.escalated_at = None;
        } else if record.decision == Decision::Escalated {
            history.escalated_at = Some(at.clone());
            let every = inv.args.escalation.escalate_every;
            crate::escalation::opened(&mut history, &at, every);
        } else if record.decision == Decision::Recovered {
            history.open_escalation = None;
        } else if record.decision == Decision::HeldBudget {
            history.last_refused = Some(at);
        } else if record.decision == Decision::Reset {
            history = History::default();
        }
    })?;
    let warning = format!(
        "rebuilt the restart window of {} from the audit log: {} attempt(s) in the last {}",
        inv.name,
        history.attempts.len(),
        selfheal_core::duration::human(inv.policy.per)
    );
    Ok(seen.then_some((history, warning)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(boot_id: &str, uptime: f64) -> Stamp {
        Stamp {
            unix: 2_000_000_000.0 + uptime,
            boot_id: boot_id.into(),
            uptime,
        }
    }

    /// A proc tree holding pid 4242, started `started` seconds after boot
    /// (in ticks of Linux's USER_HZ, 100).
    fn proc_with_guard(started: f64) -> selfheal_test_support::TempDir {
        let root = selfheal_test_support::tempdir().unwrap();
        let ticks = (started * 100.0) as u64;
        let stat = format!(
            "4242 (restart-guard) S 1 4242 4242 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 {ticks} 0 0\n"
        );
        std::fs::create_dir(root.path().join("4242")).unwrap();
        std::fs::write(root.path().join("4242/stat"), stat).unwrap();
        root
    }

    #[test]
    fn an_attempt_is_orphaned_once_its_guard_is_gone_or_its_pid_reused() {
        let pending = Pending {
            started: stamp("b", 500.0),
            pid: 4242,
            reason: String::new(),
        };
        let now = stamp("b", 530.0);
        let alive = proc_with_guard(499.5);
        assert_eq!(orphaned(&pending, &now, alive.path()), None);
        let reused = proc_with_guard(520.0);
        let age = Some(Duration::from_secs(30));
        assert_eq!(orphaned(&pending, &now, reused.path()), age);
        let empty = selfheal_test_support::tempdir().unwrap();
        assert_eq!(orphaned(&pending, &now, empty.path()), age);
        let rebooted = stamp("c", 10.0);
        assert!(orphaned(&pending, &rebooted, alive.path()).is_some());
    }
}
