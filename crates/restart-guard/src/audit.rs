//! What restart-guard writes to its audit log: one [`Record`] per decision,
//! one line each, shared by every name (default
//! `<state-dir>/restart-guard.audit.jsonl`). How lines are appended, read,
//! and rotated is `selfheal_core::audit`'s business.

use selfheal_core::clock::{Stamp, rfc3339};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// File name of the log inside the state directory.
pub const DEFAULT_FILE: &str = "restart-guard.audit.jsonl";

/// What one invocation decided (the `decision` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// CMD ran and exited 0 (no --verify given).
    Restarted,
    /// Held back: too soon after the last attempt (cooldown or backoff).
    HeldCooldown,
    /// Held back: the budget for the window is used up.
    HeldBudget,
    /// Held back: another invocation for the name holds the lock.
    HeldLock,
    /// CMD exited non-zero, timed out, or could not start.
    Failed,
    /// CMD exited 0 and --verify passed.
    Verified,
    /// CMD exited 0 but --verify failed.
    VerifyFailed,
    /// The --on-exhausted notifier was called.
    Escalated,
    /// A human cleared the budget with `reset`.
    Reset,
    /// restart-guard was told to stop (SIGTERM, SIGINT, SIGHUP) while CMD
    /// or --verify ran: their process group was stopped first.
    Interrupted,
    /// CMD could not be started although the checks before the attempt
    /// found it runnable (it was removed or changed since): nothing ran,
    /// and the attempt is not counted against the budget.
    NotRun,
    /// An escalation was resolved by a verified restart or a `reset`
    /// (--on-recovered called, if given).
    Recovered,
}

impl Decision {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Restarted => "restarted",
            Decision::HeldCooldown => "held-cooldown",
            Decision::HeldBudget => "held-budget",
            Decision::HeldLock => "held-lock",
            Decision::Failed => "failed",
            Decision::Verified => "verified",
            Decision::VerifyFailed => "verify-failed",
            Decision::Escalated => "escalated",
            Decision::Reset => "reset",
            Decision::Interrupted => "interrupted",
            Decision::NotRun => "not-run",
            Decision::Recovered => "recovered",
        }
    }

    /// Whether CMD was (or may have been) started for this decision.
    #[must_use]
    pub fn is_attempt(self) -> bool {
        matches!(
            self,
            Decision::Restarted
                | Decision::Failed
                | Decision::Verified
                | Decision::VerifyFailed
                | Decision::Interrupted
        )
    }

    pub const ALL: [Decision; 12] = [
        Decision::Restarted,
        Decision::HeldCooldown,
        Decision::HeldBudget,
        Decision::HeldLock,
        Decision::Failed,
        Decision::Verified,
        Decision::VerifyFailed,
        Decision::Escalated,
        Decision::Reset,
        Decision::Interrupted,
        Decision::NotRun,
        Decision::Recovered,
    ];
}

/// One line of the log. Fields are stable; new ones may be added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Wall-clock UTC, RFC 3339.
    pub time: String,
    pub unix: f64,
    /// Boot id and boot time of `time`, so history can be rebuilt safely.
    #[serde(default)]
    pub boot_id: String,
    #[serde(default)]
    pub uptime: f64,
    pub name: String,
    pub decision: Decision,
    #[serde(default)]
    pub reason: String,
    /// Exit code of CMD (or of the verifier or notifier); null when it did
    /// not exit normally or did not run.
    #[serde(default)]
    pub exit_status: Option<i32>,
    /// `exit 0`, `exit 1`, `timed out`, `killed by signal 9`, `cannot run ...`.
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub duration_seconds: Option<f64>,
    pub restarts_in_window: u32,
    pub max: u32,
    pub window_seconds: f64,
    /// When a restart is next allowed (RFC 3339), null when unknown.
    #[serde(default)]
    pub next_allowed: Option<String>,
    #[serde(default)]
    pub next_allowed_unix: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub dry_run: bool,
    pub pid: u32,
}

/// The budget as it stands after a decision, for the record's window fields.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub restarts_in_window: u32,
    pub max: u32,
    pub per: Duration,
    /// `None` when the run cannot know (another run holds the state).
    pub next_allowed_unix: Option<f64>,
}

impl Record {
    /// The record of `decision` for `name` made at `now`; the outcome
    /// fields start empty.
    #[must_use]
    pub fn new(name: &str, decision: Decision, now: &Stamp, window: Window) -> Record {
        Record {
            time: now.rfc3339(),
            unix: now.unix,
            boot_id: now.boot_id.clone(),
            uptime: now.uptime,
            name: name.to_owned(),
            decision,
            reason: String::new(),
            exit_status: None,
            outcome: None,
            duration_seconds: None,
            restarts_in_window: window.restarts_in_window,
            max: window.max,
            window_seconds: window.per.as_secs_f64(),
            next_allowed: window.next_allowed_unix.map(rfc3339),
            next_allowed_unix: window.next_allowed_unix,
            command: None,
            dry_run: false,
            pid: std::process::id(),
        }
    }

    /// The record's time as a stamp, for rebuilding history from the log.
    #[must_use]
    pub fn stamp(&self) -> Stamp {
        Stamp {
            unix: self.unix,
            boot_id: self.boot_id.clone(),
            uptime: self.uptime,
        }
    }

    /// Whether CMD was (or may have been) started for this decision.
    #[must_use]
    pub fn is_attempt(&self) -> bool {
        self.decision.is_attempt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(decision: Decision) -> Record {
        let now = Stamp {
            unix: 1_795_448_927.0,
            boot_id: "b".into(),
            uptime: 100.0,
        };
        let window = Window {
            restarts_in_window: 1,
            max: 3,
            per: Duration::from_secs(3600),
            next_allowed_unix: Some(1_795_448_987.0),
        };
        Record::new("svc", decision, &now, window)
    }

    #[test]
    fn decisions_serialize_in_kebab_case() {
        let text = serde_json::to_string(&record(Decision::VerifyFailed)).unwrap();
        assert!(text.contains(r#""decision":"verify-failed""#), "{text}");
        for d in Decision::ALL {
            assert_eq!(serde_json::to_value(d).unwrap(), d.as_str());
        }
    }

    #[test]
    fn a_record_carries_its_time_and_window() {
        let r = record(Decision::Restarted);
        assert_eq!(
            (r.time.as_str(), r.next_allowed.as_deref()),
            ("2026-11-23T15:48:47Z", Some("2026-11-23T15:49:47Z"))
        );
        assert_eq!((r.max, r.window_seconds), (3, 3600.0));
        assert_eq!(r.stamp().boot_id, "b");
        assert!(r.is_attempt());
        assert!(!record(Decision::HeldBudget).is_attempt());
    }
}
