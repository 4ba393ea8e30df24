//! One reading of every GPU on the box: the library entry point
//! ([`snapshot`]) and what it reads. Nothing here judges; the verdict is
//! `classify`'s.

use crate::model::{NvidiaState, Snapshot};
use crate::{amd, fdinfo, nvidia, procinfo};
use regex::Regex;
use std::ffi::OsString;
use std::path::PathBuf;

/// The NVML library loaded when none is named: the runtime name the driver
/// package installs (the unversioned `.so` comes only with development
/// packages).
pub const DEFAULT_NVML_LIB: &str = "libnvidia-ml.so.1";

/// What to read and what to keep.
#[derive(Debug, Clone)]
pub struct SnapshotOptions {
    /// NVML library name or path; `None` skips NVIDIA entirely.
    pub nvml_lib: Option<OsString>,
    /// Root of sysfs (`/sys`); `None` skips AMD entirely.
    pub sysfs_root: Option<PathBuf>,
    /// Root of procfs, for process names, command lines and AMD fdinfo.
    pub proc_root: PathBuf,
    /// Keep only GPUs whose index or UUID is listed (empty keeps all).
    pub gpus: Vec<String>,
    /// Keep only processes whose name or command line matches.
    pub process: Option<Regex>,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        SnapshotOptions {
            nvml_lib: Some(DEFAULT_NVML_LIB.into()),
            sysfs_root: Some(PathBuf::from("/sys")),
            proc_root: PathBuf::from("/proc"),
            gpus: Vec::new(),
            process: None,
        }
    }
}

/// Reads NVIDIA (NVML) and AMD (sysfs, fdinfo) GPUs, names their
/// processes from procfs, and applies the filters.
#[must_use]
pub fn snapshot(options: &SnapshotOptions) -> Snapshot {
    let (nvidia, mut gpus) = match &options.nvml_lib {
        Some(lib) => nvidia::read(lib),
        None => (NvidiaState::Skipped, Vec::new()),
    };
    let mut amd_gpus = options
        .sysfs_root
        .as_deref()
        .map(amd::read_cards)
        .unwrap_or_default();
    let amd_cards = amd_gpus.len();
    if !amd_gpus.is_empty() {
        fdinfo::attach_processes(&options.proc_root, &mut amd_gpus);
    }
    gpus.append(&mut amd_gpus);
    gpus.retain(|gpu| gpu.matches(&options.gpus));
    for gpu in &mut gpus {
        gpu.idle_holding = gpu.utilization_gpu_percent == Some(0)
            && gpu.processes.iter().any(|p| p.memory_bytes != Some(0));
        for process in &mut gpu.processes {
            procinfo::describe(&options.proc_root, process);
        }
        if let Some(pattern) = &options.process {
            gpu.processes.retain(|p| procinfo::matches(pattern, p));
        }
    }
    Snapshot {
        gpus,
        nvidia,
        amd_cards,
    }
}
