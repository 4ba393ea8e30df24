//! What one run leaves for the next (the state file `<name>.json`): the
//! progress signals last seen, since when the server has looked stuck, when
//! the last end-to-end probe ran and last succeeded, which runner processes
//! were born when (a model reloaded again and again is thrashing), and
//! facts learnt on the way (a GPU was in use, a model only embeds, the
//! systemd unit of the server).

use selfheal_core::clock::Stamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Signals that move only when work gets done.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// Tokens decoded in the current tasks, per busy runner pid (`/slots`;
    /// llama-server restarts the count with each task, so any change counts).
    pub decoded: BTreeMap<u32, u64>,
    /// `expires_at` per model: it changes when a request completes.
    pub expires: BTreeMap<String, String>,
    /// Load progress per runner pid, in thousandths (old runners' `/health`).
    pub loading: BTreeMap<u32, u64>,
    /// Utilisation per GPU index, of GPUs only runners use (NVML).
    #[serde(default)]
    pub gpu_util: BTreeMap<u32, u32>,
}

impl Signals {
    /// Whether anything in `self` moved past `earlier`: a runner decoded
    /// more tokens, a request completed, a load advanced. A runner or model
    /// that is new or gone is not progress by itself.
    #[must_use]
    pub fn moved_since(&self, earlier: &Signals) -> Option<String> {
        for (pid, now) in &self.decoded {
            if earlier.decoded.get(pid).is_some_and(|was| now != was) {
                return Some(format!(
                    "runner {pid} is generating (tokens decoded moved from {} to {now})",
                    earlier.decoded[pid]
                ));
            }
        }
        for (model, now) in &self.expires {
            if earlier.expires.get(model).is_some_and(|was| was != now) {
                return Some(format!("a request on {model} completed (expires_at moved)"));
            }
        }
        for (gpu, now) in &self.gpu_util {
            if let Some(was) = earlier.gpu_util.get(gpu).filter(|was| *was != now) {
                return Some(format!(
                    "GPU {gpu}, used only by runners, is working (utilisation moved from {was}% to {now}%)"
                ));
            }
        }
        for (pid, now) in &self.loading {
            if earlier.loading.get(pid).is_some_and(|was| now > was) {
                return Some(format!("runner {pid} load progressed"));
            }
        }
        None
    }
}

/// The server looked stuck in every run since `since`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suspect {
    pub since: Stamp,
    pub what: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct History {
    #[serde(default)]
    pub signals: Signals,
    #[serde(default)]
    pub suspect: Option<Suspect>,
    /// First run of the current unhealthy stretch.
    #[serde(default)]
    pub unhealthy_since: Option<Stamp>,
    /// Wall-clock Unix seconds of the last healthy run.
    #[serde(default)]
    pub last_success_unix: Option<f64>,
    #[serde(default)]
    pub last_e2e: Option<Stamp>,
    #[serde(default)]
    pub last_load_probe: Option<Stamp>,
    /// Since when some runner has been loading.
    #[serde(default)]
    pub loading_since: Option<Stamp>,
    /// Runner pid → (model blob, first seen), pruned to the thrash window.
    #[serde(default)]
    pub runner_births: BTreeMap<u32, Birth>,
    /// Some model held VRAM once: a later `size_vram` 0 is a CPU fallback.
    #[serde(default)]
    pub gpu_seen: bool,
    /// Models that answered "does not support generate".
    #[serde(default)]
    pub embedding_models: Vec<String>,
    /// The systemd unit seen owning the server, for when it is gone.
    #[serde(default)]
    pub unit: Option<(String, bool)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Birth {
    pub model: String,
    pub seen: Stamp,
}

/// How long runner births are remembered for the thrash count.
pub const THRASH_WINDOW: Duration = Duration::from_secs(600);
/// Distinct runner processes of one model within the window that make a thrash.
pub const THRASH_LOADS: usize = 3;

impl History {
    /// Whether `every` has passed since `last` (or it never happened).
    #[must_use]
    pub fn due(last: Option<&Stamp>, now: &Stamp, every: Duration) -> bool {
        last.is_none_or(|l| now.elapsed_since(l) >= every)
    }

    /// Records runners seen now; returns the models with
    /// [`THRASH_LOADS`] or more runner processes born within the window.
    pub fn note_runners(&mut self, now: &Stamp, runners: &[(u32, String)]) -> Vec<String> {
        self.runner_births
            .retain(|_, b| now.elapsed_since(&b.seen) < THRASH_WINDOW);
        for (pid, model) in runners {
            self.runner_births.entry(*pid).or_insert_with(|| Birth {
                model: model.clone(),
                seen: now.clone(),
            });
        }
        // Bounded: a pathological box cannot grow the state file forever.
        while self.runner_births.len() > 256 {
            let oldest = *self.runner_births.keys().next().expect("not empty");
            self.runner_births.remove(&oldest);
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for birth in self.runner_births.values() {
            *counts.entry(birth.model.as_str()).or_default() += 1;
        }
        counts
            .into_iter()
            .filter(|(_, n)| *n >= THRASH_LOADS)
            .map(|(m, _)| m.to_owned())
            .collect()
    }

    /// Starts or continues the stuck clock; returns how long it has run.
    pub fn stuck(&mut self, now: &Stamp, what: &str) -> Duration {
        let suspect = self.suspect.get_or_insert_with(|| Suspect {
            since: now.clone(),
            what: what.to_owned(),
        });
        what.clone_into(&mut suspect.what);
        now.elapsed_since(&suspect.since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(uptime: f64) -> Stamp {
        Stamp {
            unix: 1_800_000_000.0 + uptime,
            boot_id: "b".into(),
            uptime,
        }
    }

    #[test]
    fn progress_is_a_counter_that_moved_not_a_new_face() {
        let mut before = Signals::default();
        before.decoded.insert(7, 100);
        before
            .expires
            .insert("m".into(), "2026-01-01T00:00:00Z".into());
        let mut after = before.clone();
        after.decoded.insert(8, 5);
        after.expires.insert("new".into(), "x".into());
        assert_eq!(after.moved_since(&before), None);
        after.decoded.insert(7, 101);
        assert!(after.moved_since(&before).unwrap().contains("runner 7"));
        let mut after = before.clone();
        after
            .expires
            .insert("m".into(), "2026-01-01T00:05:00Z".into());
        assert!(after.moved_since(&before).unwrap().contains("on m"));
    }

    #[test]
    fn three_runner_processes_of_one_model_in_the_window_are_a_thrash() {
        let mut h = History::default();
        assert!(h.note_runners(&at(0.0), &[(1, "a".into())]).is_empty());
        assert!(
            h.note_runners(&at(5.0), &[(2, "a".into()), (9, "b".into())])
                .is_empty()
        );
        assert_eq!(h.note_runners(&at(9.0), &[(3, "a".into())]), ["a"]);
        // Ten minutes later the old births are forgotten.
        assert!(h.note_runners(&at(700.0), &[(4, "a".into())]).is_empty());
    }

    #[test]
    fn the_stuck_clock_keeps_its_start() {
        let mut h = History::default();
        assert_eq!(h.stuck(&at(10.0), "x"), Duration::ZERO);
        assert_eq!(h.stuck(&at(40.0), "y"), Duration::from_secs(30));
        assert_eq!(h.suspect.as_ref().unwrap().what, "y");
        assert!(History::due(None, &at(0.0), Duration::from_secs(300)));
        assert!(!History::due(
            Some(&at(0.0)),
            &at(299.0),
            Duration::from_secs(300)
        ));
    }
}
