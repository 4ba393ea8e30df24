//! What a snapshot holds: GPUs, the processes holding their memory, and how
//! reading NVIDIA went. Plain values; readers fill them, nothing here reads.

use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    #[default]
    Nvidia,
    Amd,
}

impl Vendor {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Nvidia => "nvidia",
            Vendor::Amd => "amd",
        }
    }
}

/// One GPU. Every value a card does not report is `None` (and absent from
/// JSON), never a made-up zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Gpu {
    pub vendor: Vendor,
    /// NVML index for NVIDIA, DRM card number (`card1` is 1) for AMD.
    pub index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pci_bus_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utilization_gpu_percent: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utilization_memory_percent: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_total_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_used_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_free_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature_celsius: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power_watts: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power_limit_watts: Option<f64>,
    /// NVIDIA P-state, 0 (fastest) to 15.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performance_state: Option<u32>,
    /// The GPU fell off the bus or is otherwise inaccessible; the message says how it showed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<String>,
    /// Utilisation 0 while a process (any, whatever `--process` keeps)
    /// holds VRAM: a fact, not a fault; an idle loaded model looks the same.
    pub idle_holding: bool,
    /// When this idle spell was first seen (RFC 3339 UTC); only with a state directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_since: Option<String>,
    /// How long it has lasted, measured on the boot clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_seconds: Option<f64>,
    /// Queries that failed for another reason than "not supported".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    pub processes: Vec<GpuProcess>,
}

impl Gpu {
    /// `0 (GPU-5d1f…, NVIDIA GeForce RTX 4090)` for messages.
    #[must_use]
    pub fn describe(&self) -> String {
        let vendor = match self.vendor {
            Vendor::Nvidia => "",
            Vendor::Amd => "AMD ",
        };
        let mut text = format!("{vendor}GPU {}", self.index);
        let extra: Vec<&str> = [self.uuid.as_deref(), self.name.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if !extra.is_empty() {
            text = format!("{text} ({})", extra.join(", "));
        }
        text
    }

    /// Free memory, from the card or from total minus used.
    #[must_use]
    pub fn memory_free(&self) -> Option<u64> {
        self.memory_free_bytes.or_else(|| {
            Some(
                self.memory_total_bytes?
                    .saturating_sub(self.memory_used_bytes?),
            )
        })
    }

    /// VRAM held by the processes listed, where known.
    #[must_use]
    pub fn process_memory(&self) -> u64 {
        self.processes.iter().filter_map(|p| p.memory_bytes).sum()
    }

    /// Whether `--gpu` keeps this GPU: no list, or its index or UUID listed.
    #[must_use]
    pub fn matches(&self, wanted: &[String]) -> bool {
        wanted.is_empty()
            || wanted.iter().any(|w| {
                w.parse::<u32>().is_ok_and(|i| i == self.index)
                    || self
                        .uuid
                        .as_deref()
                        .is_some_and(|u| u.eq_ignore_ascii_case(w))
            })
    }
}

/// A process holding memory on a GPU.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GpuProcess {
    pub pid: u32,
    /// VRAM it holds on this GPU; `None` when the driver does not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    /// `compute`, `graphics` or `compute+graphics` (NVIDIA); `drm` (AMD).
    pub kind: &'static str,
    /// `/proc/<pid>/comm`; `None` when the process is gone or in another PID namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmdline: Option<String>,
}

/// How reading NVIDIA GPUs went.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum NvidiaState {
    /// Not asked for (`--no-nvidia`).
    Skipped,
    Ok {
        #[serde(skip_serializing_if = "Option::is_none")]
        driver_version: Option<String>,
    },
    /// The library could not be loaded: no NVIDIA driver installed.
    LibraryMissing { message: String },
    /// The library loaded but the kernel driver is not running.
    DriverNotLoaded { message: String },
    /// Library and kernel module are from different driver versions.
    VersionMismatch { message: String },
    /// Anything else that stopped NVML (no permission, unknown error).
    Failed { message: String },
    /// An NVML call did not return in time: a wedged driver or GPU.
    Hung { message: String },
}

/// Everything one run saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    pub gpus: Vec<Gpu>,
    pub nvidia: NvidiaState,
    /// AMD GPUs found under sysfs before filtering.
    pub amd_cards: usize,
    /// `--gpu` entries that matched no GPU; said in a check, not in `details`.
    #[serde(skip)]
    pub unmatched_gpus: Option<Unmatched>,
}

impl Snapshot {
    /// The GPUs on which `pid` holds memory, with how much where the driver
    /// says: how a caller ties its own processes (say, model runners) to
    /// VRAM and to their GPU's utilisation.
    #[must_use]
    pub fn held_by(&self, pid: u32) -> Vec<(&Gpu, Option<u64>)> {
        self.gpus
            .iter()
            .filter_map(|gpu| {
                let process = gpu.processes.iter().find(|p| p.pid == pid)?;
                Some((gpu, process.memory_bytes))
            })
            .collect()
    }
}

/// `--gpu` entries no GPU answers to, beside the GPUs there are.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmatched {
    pub missing: Vec<String>,
    /// Every GPU read, as [`Gpu::describe`] names it.
    pub present: Vec<String>,
    /// Lost GPUs whose UUID could not be read: one may be the GPU asked for.
    pub lost_unnamed: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holding(index: u32, pid: u32, bytes: Option<u64>) -> Gpu {
        Gpu {
            index,
            processes: vec![GpuProcess {
                pid,
                memory_bytes: bytes,
                kind: "compute",
                ..GpuProcess::default()
            }],
            ..Gpu::default()
        }
    }

    #[test]
    fn held_by_names_every_gpu_a_process_holds_memory_on() {
        let snapshot = Snapshot {
            gpus: vec![
                holding(0, 4242, Some(7_945_000_000)),
                holding(1, 5150, None),
                holding(2, 4242, Some(1_000)),
            ],
            nvidia: NvidiaState::Ok {
                driver_version: None,
            },
            amd_cards: 0,
            unmatched_gpus: None,
        };
        let held: Vec<(u32, Option<u64>)> = snapshot
            .held_by(4242)
            .iter()
            .map(|(g, b)| (g.index, *b))
            .collect();
        assert_eq!(held, [(0, Some(7_945_000_000)), (2, Some(1_000))]);
        assert_eq!(snapshot.held_by(5150)[0].1, None);
        assert!(snapshot.held_by(1).is_empty());
    }
}
