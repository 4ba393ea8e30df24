//! A name's restart history, as restart-guard keeps it in its state store
//! (`<state-dir>/restart-guard/<name>.json`, read-modify-written under
//! `<name>.lock`). The subdirectory keeps it apart from other tools' state
//! for the same name.
//!
//! Every field but `attempts` has a default, so a file written by an older
//! version still loads. Stamps carry the boot id and boot time next to the wall clock; see
//! `policy` for why.

use crate::audit::Decision;
use selfheal_core::clock::Stamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Per-name history and counters. `attempts` is required: a file without
/// it (`{}`) is not a state with no attempts but a damaged one, set aside
/// and rebuilt from the audit log, never a fresh budget.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Attempts still inside the window, oldest first (at most `max`).
    pub attempts: Attempts,
    /// The latest attempt, kept even after it leaves the window.
    #[serde(default)]
    pub last_attempt: Option<Stamp>,
    /// Attempts in the current backoff streak.
    #[serde(default)]
    pub streak: u32,
    /// An attempt whose outcome was not recorded yet: if it is still here
    /// when the next run takes the lock, the run that made it died.
    #[serde(default)]
    pub pending: Option<Pending>,
    /// When the notifier was last called in the current exhaustion.
    #[serde(default)]
    pub escalated_at: Option<Stamp>,
    /// When the escalation not yet resolved (by a verified restart or a
    /// reset) began; see `escalation`.
    #[serde(default)]
    pub open_escalation: Option<Stamp>,
    /// When the notifier was last called, ever.
    #[serde(default)]
    pub last_escalation: Option<Stamp>,
    /// `--escalate-every` of the last escalation, to say when the next may come.
    #[serde(default)]
    pub escalate_every_seconds: Option<f64>,
    /// The last restart the budget refused (`held-budget`).
    #[serde(default)]
    pub last_refused: Option<Stamp>,
    /// The last completed outcome (restarted, failed, verified, ...).
    #[serde(default)]
    pub last_outcome: Option<LastOutcome>,
    /// The policy of the last decision, so `status` can report the budget.
    #[serde(default)]
    pub policy: Option<PolicySnapshot>,
    /// Decisions ever made for this name, for the `_total` counters.
    #[serde(default)]
    pub totals: BTreeMap<String, u64>,
    /// Attempts ever begun: the number the last one's intent record bears
    /// (see `intent`), so a load can tell whether this state knows it.
    #[serde(default)]
    pub seq: u64,
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

/// The window's attempts. Stored compactly, as `{"boots": [id, ...],
/// "at": [[unix, uptime, boot index], ...]}`: a large `--max` can keep
/// hundreds of attempts, and repeating the 36-byte boot id in each would
/// double the state file that every run reads and writes twice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "CompactStamps", into = "CompactStamps")]
pub struct Attempts(pub Vec<Stamp>);

impl std::ops::Deref for Attempts {
    type Target = Vec<Stamp>;
    fn deref(&self) -> &Vec<Stamp> {
        &self.0
    }
}

impl std::ops::DerefMut for Attempts {
    fn deref_mut(&mut self) -> &mut Vec<Stamp> {
        &mut self.0
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CompactStamps {
    boots: Vec<String>,
    at: Vec<(f64, f64, usize)>,
}

impl From<Attempts> for CompactStamps {
    fn from(attempts: Attempts) -> Self {
        let mut compact = CompactStamps::default();
        for stamp in attempts.0 {
            let index = compact
                .boots
                .iter()
                .position(|b| *b == stamp.boot_id)
                .unwrap_or_else(|| {
                    compact.boots.push(stamp.boot_id);
                    compact.boots.len() - 1
                });
            compact.at.push((stamp.unix, stamp.uptime, index));
        }
        compact
    }
}

impl From<CompactStamps> for Attempts {
    fn from(compact: CompactStamps) -> Self {
        let boot = |i: usize| compact.boots.get(i).cloned().unwrap_or_default();
        Attempts(
            compact
                .at
                .iter()
                .map(|&(unix, uptime, i)| Stamp {
                    unix,
                    boot_id: boot(i),
                    uptime,
                })
                .collect(),
        )
    }
}

impl History {
    /// Counts one decision for the `decisions_total` counter.
    pub fn count(&mut self, decision: Decision) {
        *self.totals.entry(decision.as_str().to_owned()).or_default() += 1;
    }

    #[must_use]
    pub fn total(&self, decision: Decision) -> u64 {
        self.totals.get(decision.as_str()).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_round_trip_compactly_across_boots() {
        let stamp = |unix, boot: &str, uptime| Stamp {
            unix,
            boot_id: boot.into(),
            uptime,
        };
        let state = History {
            attempts: Attempts(vec![
                stamp(1.0, "a", 10.0),
                stamp(2.0, "a", 11.0),
                stamp(3.0, "b", 1.0),
            ]),
            ..History::default()
        };
        let json = serde_json::to_value(&state).unwrap();
        assert_eq!(json["attempts"]["boots"], serde_json::json!(["a", "b"]));
        assert_eq!(json["attempts"]["at"][2], serde_json::json!([3.0, 1.0, 1]));
        let back: History = serde_json::from_value(json).unwrap();
        assert_eq!(back, state);
    }
}
