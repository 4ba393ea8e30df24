//! GPU corroboration through gpu-probe's library: on which NVIDIA GPU each
//! runner process holds VRAM and how much, and that GPU's utilisation and
//! performance state (NVML, loaded from `--nvml-lib`). Off when the
//! library cannot be loaded (no NVIDIA driver) or the server is on
//! another host. Per-process VRAM is trusted over utilisation, which a
//! GPU shared with other work cannot attribute: utilisation counts only
//! on a GPU where every process holding memory is one of the runners.

use gpu_probe::text::bytes;
use gpu_probe::{NvidiaState, Snapshot, SnapshotOptions};
use serde::Serialize;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

/// One GPU as the check uses it.
#[derive(Debug, Clone, Serialize)]
pub struct GpuUse {
    pub index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utilization_percent: Option<u32>,
    /// NVIDIA P-state, 0 (fastest) to 15.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performance_state: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_used_bytes: Option<u64>,
    /// Every process holding memory on it is a runner: its utilisation is theirs.
    pub runners_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<String>,
}

/// VRAM one runner holds on one GPU.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunnerVram {
    pub pid: u32,
    pub gpu: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GpuView {
    /// How reading NVML went (`status`: ok, `library_missing`, `hung`...).
    pub nvidia: NvidiaState,
    pub gpus: Vec<GpuUse>,
    pub runners: Vec<RunnerVram>,
}

/// Reads NVML within `limit`; `runners` are the runner PIDs of layer 0.
#[must_use]
pub fn read(lib: &OsStr, proc_root: &Path, runners: &[u32], limit: Duration) -> GpuView {
    let options = SnapshotOptions {
        nvml_lib: Some(lib.to_owned()),
        sysfs_root: None,
        proc_root: proc_root.to_owned(),
        nvml_timeout: limit,
        ..SnapshotOptions::default()
    };
    view(&gpu_probe::snapshot(&options), runners)
}

/// The check's view of a snapshot, pure.
#[must_use]
pub fn view(snapshot: &Snapshot, runners: &[u32]) -> GpuView {
    let gpus = snapshot
        .gpus
        .iter()
        .map(|g| GpuUse {
            index: g.index,
            uuid: g.uuid.clone(),
            utilization_percent: g.utilization_gpu_percent,
            performance_state: g.performance_state,
            memory_used_bytes: g.memory_used_bytes,
            runners_only: !g.processes.is_empty()
                && g.processes.iter().all(|p| runners.contains(&p.pid)),
            lost: g.lost.clone(),
        })
        .collect();
    let held = runners.iter().flat_map(|&pid| {
        snapshot
            .held_by(pid)
            .into_iter()
            .map(move |(g, b)| RunnerVram {
                pid,
                gpu: g.index,
                bytes: b,
            })
    });
    GpuView {
        nvidia: snapshot.nvidia.clone(),
        gpus,
        runners: held.collect(),
    }
}

impl GpuView {
    /// NVML answered and lists at least one GPU: its silence about a
    /// runner means that runner holds no VRAM.
    #[must_use]
    pub fn available(&self) -> bool {
        matches!(self.nvidia, NvidiaState::Ok { .. }) && !self.gpus.is_empty()
    }

    /// VRAM `pid` holds over all GPUs; `None` when NVML cannot tell.
    #[must_use]
    pub fn vram_of(&self, pid: u32) -> Option<u64> {
        self.available().then(|| {
            self.runners
                .iter()
                .filter(|r| r.pid == pid)
                .filter_map(|r| r.bytes)
                .sum()
        })
    }

    /// Why the NVIDIA GPU cannot be used at all, if NVML says so: driver
    /// library and kernel module mismatched (after an upgrade), NVML hung,
    /// or a GPU lost. A driver that is simply absent is not "broken".
    #[must_use]
    pub fn broken(&self) -> Option<String> {
        match &self.nvidia {
            NvidiaState::VersionMismatch { message } | NvidiaState::Hung { message } => {
                Some(message.clone())
            }
            _ => self
                .gpus
                .iter()
                .find_map(|g| Some(format!("GPU {} is lost ({})", g.index, g.lost.as_ref()?))),
        }
    }

    /// Memory in use on every GPU together (whoever holds it).
    #[must_use]
    pub fn used_bytes(&self) -> u64 {
        self.gpus.iter().filter_map(|g| g.memory_used_bytes).sum()
    }

    /// Utilisation of each GPU only runners use, by index.
    #[must_use]
    pub fn runner_utilization(&self) -> BTreeMap<u32, u32> {
        self.gpus
            .iter()
            .filter(|g| g.runners_only)
            .filter_map(|g| Some((g.index, g.utilization_percent?)))
            .collect()
    }

    /// `GPU 0 at 0% (P8), runner 4242 holds 7.4GiB`, for summaries.
    #[must_use]
    pub fn describe(&self, pids: &[u32]) -> Option<String> {
        let mut parts = Vec::new();
        for r in self.runners.iter().filter(|r| pids.contains(&r.pid)) {
            let gpu = self.gpus.iter().find(|g| g.index == r.gpu)?;
            let util = gpu
                .utilization_percent
                .map_or_else(|| "?".to_owned(), |u| u.to_string());
            let pstate = gpu
                .performance_state
                .map(|p| format!(" (P{p})"))
                .unwrap_or_default();
            let held = r.bytes.map_or_else(|| "memory".to_owned(), bytes);
            parts.push(format!(
                "GPU {} at {util}%{pstate}, runner {} holds {held}",
                gpu.index, r.pid
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

#[cfg(test)]
#[path = "gpu_tests.rs"]
mod tests;
