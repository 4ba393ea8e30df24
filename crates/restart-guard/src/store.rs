//! What restart-guard keeps per name in the shared state store
//! (`<state-dir>/<name>.json`, read-modify-written under `<name>.lock`).
//!
//! Every field has a default, so a file written by an older version still
//! loads. Stamps carry the boot id and boot time next to the wall clock; see
//! `policy` for why.

use crate::audit::Decision;
use crate::policy::Policy;
use selfheal_core::clock::Stamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Per-name history and counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GuardState {
    /// Attempts still inside the window, oldest first (at most `max`).
    pub attempts: Vec<Stamp>,
    /// The latest attempt, kept even after it leaves the window.
    pub last_attempt: Option<Stamp>,
    /// Attempts in the current backoff streak.
    pub streak: u32,
    /// An attempt whose outcome was not recorded yet: if it is still here
    /// when the next run takes the lock, the run that made it died.
    pub pending: Option<Pending>,
    /// When the notifier was last called in the current exhaustion.
    pub escalated_at: Option<Stamp>,
    /// The last completed outcome (restarted, failed, verified, ...).
    pub last_outcome: Option<LastOutcome>,
    /// The policy of the last decision, so `status` can report the budget.
    pub policy: Option<PolicySnapshot>,
    /// Decisions ever made for this name, for the `_total` counters.
    pub totals: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    pub started: Stamp,
    pub pid: u32,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastOutcome {
    pub decision: Decision,
    pub at: Stamp,
    pub outcome: String,
}

/// The policy as stored (seconds, so the file reads without a parser).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicySnapshot {
    pub max: u32,
    pub per_seconds: f64,
    pub cooldown_seconds: f64,
    pub backoff_max_seconds: Option<f64>,
    pub backoff_reset_seconds: f64,
}

impl From<&Policy> for PolicySnapshot {
    fn from(p: &Policy) -> Self {
        PolicySnapshot {
            max: p.max,
            per_seconds: p.per.as_secs_f64(),
            cooldown_seconds: p.cooldown.as_secs_f64(),
            backoff_max_seconds: p.backoff_max.map(|d| d.as_secs_f64()),
            backoff_reset_seconds: p.backoff_reset.as_secs_f64(),
        }
    }
}

impl PolicySnapshot {
    #[must_use]
    pub fn policy(&self) -> Policy {
        let secs = |s: f64| std::time::Duration::try_from_secs_f64(s.max(0.0)).unwrap_or_default();
        Policy {
            max: self.max.max(1),
            per: secs(self.per_seconds),
            cooldown: secs(self.cooldown_seconds),
            backoff_max: self.backoff_max_seconds.map(secs),
            backoff_reset: secs(self.backoff_reset_seconds),
        }
    }
}

impl GuardState {
    /// Counts one decision for the `decisions_total` counter.
    pub fn count(&mut self, decision: Decision) {
        *self.totals.entry(decision.as_str().to_owned()).or_default() += 1;
    }

    #[must_use]
    pub fn total(&self, decision: Decision) -> u64 {
        self.totals.get(decision.as_str()).copied().unwrap_or(0)
    }
}
