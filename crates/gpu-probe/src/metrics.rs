//! `selfheal_gpu_probe_*` metrics in base units: bytes, ratios 0..1 for
//! utilisation, celsius, watts. GPU series carry `gpu` (index), `uuid`,
//! `name` and `vendor`; process series `gpu`, `uuid`, `vendor`, `pid` and
//! `comm`. A value the card does not report has no series.

use crate::model::{Gpu, NvidiaState, Snapshot};
use selfheal_core::metrics::{MetricFamily, MetricKind, Unit};

const PREFIX: &str = "selfheal_gpu_probe_";

/// The NVIDIA states `selfheal_gpu_probe_nvidia_state` enumerates.
const NVIDIA_STATES: [&str; 5] = [
    "ok",
    "library_missing",
    "driver_not_loaded",
    "version_mismatch",
    "failed",
];

fn gauge(name: &str, unit: Unit, help: &str) -> MetricFamily {
    MetricFamily::new(&format!("{PREFIX}{name}"), MetricKind::Gauge, unit, help)
}

type Read = fn(&Gpu) -> Option<f64>;

/// Per-GPU gauges: name, unit, help, how to read the value.
const GPU_GAUGES: [(&str, Unit, &str, Read); 11] = [
    (
        "lost",
        Unit::Count,
        "1 if the GPU fell off the bus or is otherwise inaccessible.",
        |g| Some(f64::from(u8::from(g.lost.is_some()))),
    ),
    (
        "utilization_ratio",
        Unit::Ratio,
        "Share of the last sample period the GPU was busy (0..1).",
        |g| g.utilization_gpu_percent.map(|p| f64::from(p) / 100.0),
    ),
    (
        "memory_utilization_ratio",
        Unit::Ratio,
        "Share of the last sample period device memory was read or written (0..1).",
        |g| g.utilization_memory_percent.map(|p| f64::from(p) / 100.0),
    ),
    (
        "memory_total_bytes",
        Unit::Bytes,
        "Device memory (VRAM) size in bytes.",
        |g| g.memory_total_bytes.map(|b| b as f64),
    ),
    (
        "memory_used_bytes",
        Unit::Bytes,
        "Device memory in use, in bytes.",
        |g| g.memory_used_bytes.map(|b| b as f64),
    ),
    (
        "memory_free_bytes",
        Unit::Bytes,
        "Device memory free, in bytes.",
        |g| g.memory_free().map(|b| b as f64),
    ),
    (
        "temperature_celsius",
        Unit::Count,
        "GPU core temperature in degrees Celsius.",
        |g| g.temperature_celsius,
    ),
    ("power_watts", Unit::Count, "Power draw in watts.", |g| {
        g.power_watts
    }),
    (
        "power_limit_watts",
        Unit::Count,
        "Enforced power limit in watts.",
        |g| g.power_limit_watts,
    ),
    (
        "performance_state",
        Unit::Count,
        "NVIDIA performance state, 0 (fastest) to 15 (slowest).",
        |g| g.performance_state.map(f64::from),
    ),
    (
        "idle_holding",
        Unit::Count,
        "1 if utilisation is 0 while a process holds device memory.",
        |g| {
            g.utilization_gpu_percent
                .map(|_| f64::from(u8::from(g.idle_holding)))
        },
    ),
];

/// Every family for this snapshot; families without samples are left out.
#[must_use]
pub fn families(snapshot: &Snapshot) -> Vec<MetricFamily> {
    let mut out = vec![
        gauge("gpus", Unit::Count, "GPUs seen (after --gpu filtering).")
            .with(&[], snapshot.gpus.len() as f64),
    ];
    if let Some(state) = nvidia_state(&snapshot.nvidia) {
        let mut family = gauge(
            "nvidia_state",
            Unit::Count,
            "1 for the state NVML is in: ok, library_missing, driver_not_loaded, version_mismatch or failed.",
        );
        for name in NVIDIA_STATES {
            family.push(&[("state", name)], f64::from(u8::from(name == state)));
        }
        out.push(family);
    }
    for (name, unit, help, read) in GPU_GAUGES {
        let mut family = gauge(name, unit, help);
        for gpu in &snapshot.gpus {
            if let Some(value) = read(gpu) {
                family.push(&gpu_labels(gpu).as_refs(), value);
            }
        }
        out.push(family);
    }
    out.push(idle_seconds(snapshot));
    out.extend(process_families(snapshot));
    out.retain(|family| !family.samples.is_empty());
    out
}

fn nvidia_state(state: &NvidiaState) -> Option<&'static str> {
    Some(match state {
        NvidiaState::Skipped => return None,
        NvidiaState::Ok { .. } => "ok",
        NvidiaState::LibraryMissing { .. } => "library_missing",
        NvidiaState::DriverNotLoaded { .. } => "driver_not_loaded",
        NvidiaState::VersionMismatch { .. } => "version_mismatch",
        NvidiaState::Failed { .. } => "failed",
    })
}

fn idle_seconds(snapshot: &Snapshot) -> MetricFamily {
    let mut family = gauge(
        "idle_holding_seconds",
        Unit::Seconds,
        "How long the GPU has been idle while a process holds device memory (needs --state-dir).",
    );
    for gpu in &snapshot.gpus {
        if let Some(seconds) = gpu.idle_seconds {
            family.push(&gpu_labels(gpu).as_refs(), seconds);
        }
    }
    family
}

fn process_families(snapshot: &Snapshot) -> [MetricFamily; 2] {
    let mut count = gauge(
        "processes",
        Unit::Count,
        "Processes listed on the GPU (after --process filtering).",
    );
    let mut memory = gauge(
        "process_memory_bytes",
        Unit::Bytes,
        "Device memory a process holds on the GPU, in bytes.",
    );
    for gpu in &snapshot.gpus {
        let labels = gpu_labels(gpu);
        count.push(&labels.as_refs(), gpu.processes.len() as f64);
        for process in &gpu.processes {
            let Some(bytes) = process.memory_bytes else {
                continue;
            };
            let pid = process.pid.to_string();
            let comm = process.name.clone().unwrap_or_default();
            let mut refs = labels.as_refs();
            refs.retain(|(k, _)| *k != "name");
            refs.extend([("pid", pid.as_str()), ("comm", comm.as_str())]);
            memory.push(&refs, bytes as f64);
        }
    }
    [count, memory]
}

struct GpuLabels([(&'static str, String); 4]);

impl GpuLabels {
    fn as_refs(&self) -> Vec<(&'static str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
}

fn gpu_labels(gpu: &Gpu) -> GpuLabels {
    GpuLabels([
        ("gpu", gpu.index.to_string()),
        ("uuid", gpu.uuid.clone().unwrap_or_default()),
        ("name", gpu.name.clone().unwrap_or_default()),
        ("vendor", gpu.vendor.as_str().to_owned()),
    ])
}
