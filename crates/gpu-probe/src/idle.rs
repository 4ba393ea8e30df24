//! How long each GPU has been idle while holding memory, kept across runs
//! in the state store: one `<gpu>.json` per GPU (named by UUID, else
//! `<vendor>-<index>`) holding the stamp of the first run that saw the
//! current idle spell. Elapsed time is on the boot clock, so a wall clock
//! that jumps neither starts nor lengthens a spell.

use crate::model::Gpu;
use anyhow::Context as _;
use selfheal_core::Report;
use selfheal_core::clock::Stamp;
use selfheal_core::state::{LockWait, StateStore};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A run that finds the lock held waits this long, then gives up.
const LOCK_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, Default, Serialize, Deserialize)]
struct IdleState {
    /// First run that saw the GPU idle while holding memory; `None` when it is not.
    idle_since: Option<Stamp>,
}

/// State-file name of a GPU.
fn state_name(gpu: &Gpu) -> String {
    let key = gpu
        .uuid
        .clone()
        .unwrap_or_else(|| format!("{}-{}", gpu.vendor.as_str(), gpu.index));
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-@:+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Sets `idle_since`/`idle_seconds` on each idle GPU, and records the
/// start or end of each spell. The file is written only when a spell
/// starts or ends, not on every run.
/// A corrupt state file is set aside and noted as a report warning.
pub fn track(
    store: &StateStore,
    gpus: &mut [Gpu],
    now: &Stamp,
    report: &mut Report,
) -> anyhow::Result<()> {
    for gpu in gpus
        .iter_mut()
        .filter(|g| g.utilization_gpu_percent.is_some())
    {
        let name = state_name(gpu);
        let lock = store
            .lock(&name, LockWait::Upto(LOCK_WAIT))
            .with_context(|| format!("idle state of {}", gpu.describe()))?;
        let state: IdleState = lock.load()?.or_default_warning(report);
        match (gpu.idle_holding, state.idle_since) {
            (true, Some(since)) => mark(gpu, &since, now),
            (true, None) => {
                lock.save(&IdleState {
                    idle_since: Some(now.clone()),
                })?;
                mark(gpu, now, now);
            }
            (false, Some(_)) => lock.save(&IdleState::default())?,
            (false, None) => {}
        }
    }
    Ok(())
}

fn mark(gpu: &mut Gpu, since: &Stamp, now: &Stamp) {
    gpu.idle_since = Some(since.rfc3339());
    gpu.idle_seconds = Some(now.elapsed_since(since).as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(uptime: f64) -> Stamp {
        Stamp {
            unix: 2_000_000_000.0 + uptime,
            boot_id: "b".into(),
            uptime,
        }
    }

    fn idle_gpu(idle: bool) -> Gpu {
        Gpu {
            uuid: Some("GPU-1".into()),
            utilization_gpu_percent: Some(if idle { 0 } else { 40 }),
            idle_holding: idle,
            ..Gpu::default()
        }
    }

    #[test]
    fn a_spell_lasts_until_the_gpu_works_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path()).unwrap();
        let mut gpus = [idle_gpu(true)];
        track(
            &store,
            &mut gpus,
            &at(100.0),
            &mut Report::new("t", "T", "0"),
        )
        .unwrap();
        assert_eq!(gpus[0].idle_seconds, Some(0.0));
        let mut gpus = [idle_gpu(true)];
        track(
            &store,
            &mut gpus,
            &at(292.0),
            &mut Report::new("t", "T", "0"),
        )
        .unwrap();
        assert_eq!(gpus[0].idle_seconds, Some(192.0));
        assert_eq!(gpus[0].idle_since.as_deref(), Some("2033-05-18T03:35:00Z"));
        let mut gpus = [idle_gpu(false)];
        track(
            &store,
            &mut gpus,
            &at(300.0),
            &mut Report::new("t", "T", "0"),
        )
        .unwrap();
        assert_eq!(gpus[0].idle_seconds, None);
        let mut gpus = [idle_gpu(true)];
        track(
            &store,
            &mut gpus,
            &at(400.0),
            &mut Report::new("t", "T", "0"),
        )
        .unwrap();
        assert_eq!(gpus[0].idle_seconds, Some(0.0), "a new spell starts afresh");
    }

    #[test]
    fn names_are_safe_file_names() {
        let mut gpu = idle_gpu(true);
        assert_eq!(state_name(&gpu), "GPU-1");
        gpu.uuid = None;
        gpu.index = 3;
        assert_eq!(state_name(&gpu), "nvidia-3");
        gpu.uuid = Some("a/b c".into());
        assert_eq!(state_name(&gpu), "a_b_c");
    }
}
