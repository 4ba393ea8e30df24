//! The verdict on a snapshot. CRITICAL: the NVIDIA library does not match
//! the kernel module, a GPU is lost, fewer GPUs than `--expect`, or a
//! `--temp-crit`/`--free-crit` limit is crossed. WARNING: a `--temp-warn`/
//! `--free-warn` limit. UNKNOWN: no GPU found and none expected, or NVML
//! failed in a way that says nothing about the GPUs. Idle while holding
//! memory is never a fault by itself: an idle loaded model looks the same.

use crate::model::{Gpu, NvidiaState, Snapshot};
use crate::text;
use crate::threshold::FreeThreshold;
use selfheal_core::{Check, Status};

/// What the user asked to be alerted on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    pub expect: Option<u32>,
    pub temp_warn: Option<f64>,
    pub temp_crit: Option<f64>,
    pub free_warn: Option<FreeThreshold>,
    pub free_crit: Option<FreeThreshold>,
}

/// Every check on the snapshot; `where_amd` names the sysfs directory read.
#[must_use]
pub fn checks(snapshot: &Snapshot, limits: &Limits, where_amd: &str) -> Vec<Check> {
    let mut out = Vec::new();
    match &snapshot.nvidia {
        NvidiaState::VersionMismatch { message } => {
            out.push(Check::new("nvidia", Status::Critical, message.clone()));
        }
        NvidiaState::Failed { message } => {
            out.push(Check::new("nvidia", Status::Unknown, message.clone()));
        }
        _ => {}
    }
    out.push(count_check(snapshot, limits, where_amd));
    for gpu in &snapshot.gpus {
        out.extend(gpu_checks(gpu, limits));
    }
    out
}

fn count_check(snapshot: &Snapshot, limits: &Limits, where_amd: &str) -> Check {
    let found = snapshot.gpus.len();
    let plural = if found == 1 { "GPU" } else { "GPUs" };
    let why = || absence_reason(snapshot, where_amd);
    match limits.expect {
        Some(expect) if found < expect as usize => Check::new(
            "gpus",
            Status::Critical,
            format!(
                "{found} {plural} found, expected at least {expect}: {}",
                why()
            ),
        ),
        None if found == 0 => {
            // The nvidia check already says why there is no GPU, with its verdict.
            let status = if matches!(
                snapshot.nvidia,
                NvidiaState::VersionMismatch { .. } | NvidiaState::Failed { .. }
            ) {
                Status::Ok
            } else {
                Status::Unknown
            };
            Check::new("gpus", status, format!("no GPU found: {}", why()))
        }
        _ => Check::new("gpus", Status::Ok, format!("{found} {plural}")),
    }
}

fn absence_reason(snapshot: &Snapshot, where_amd: &str) -> String {
    let nvidia = match &snapshot.nvidia {
        NvidiaState::Skipped => "NVIDIA not read".to_owned(),
        NvidiaState::Ok { .. } => "NVML lists no GPU (or none matched --gpu)".to_owned(),
        NvidiaState::LibraryMissing { message }
        | NvidiaState::DriverNotLoaded { message }
        | NvidiaState::VersionMismatch { message }
        | NvidiaState::Failed { message } => message.clone(),
    };
    let amd = if snapshot.amd_cards > 0 {
        format!("{} AMD GPU(s) did not match --gpu", snapshot.amd_cards)
    } else {
        format!("no AMD GPU under {where_amd}")
    };
    format!("{nvidia}; {amd}")
}

fn gpu_checks(gpu: &Gpu, limits: &Limits) -> Vec<Check> {
    let name = format!("gpu{}", gpu.index);
    let mut out = Vec::new();
    if let Some(lost) = &gpu.lost {
        out.push(Check::new(
            &name,
            Status::Critical,
            format!(
                "{} is lost (fallen off the bus or inaccessible: {lost}); \
                 look for Xid 79 in the kernel log; it needs a GPU reset or a reboot",
                gpu.describe()
            ),
        ));
    }
    if let Some(temp) = gpu.temperature_celsius {
        let crossed = |limit: Option<f64>| limit.filter(|l| temp >= *l);
        let hit = crossed(limits.temp_crit)
            .map(|l| (Status::Critical, l))
            .or_else(|| crossed(limits.temp_warn).map(|l| (Status::Warning, l)));
        if let Some((status, limit)) = hit {
            let summary = format!("{} at {temp}C (limit {limit}C)", gpu.describe());
            out.push(Check::new(&name, status, summary));
        }
    }
    if let Some(free) = gpu.memory_free() {
        let total = gpu.memory_total_bytes;
        let crossed =
            |limit: &Option<FreeThreshold>| limit.as_ref().is_some_and(|l| l.breached(free, total));
        let hit = if crossed(&limits.free_crit) {
            limits.free_crit.as_ref().map(|l| (Status::Critical, l))
        } else if crossed(&limits.free_warn) {
            limits.free_warn.as_ref().map(|l| (Status::Warning, l))
        } else {
            None
        };
        if let Some((status, limit)) = hit {
            let summary = format!(
                "{} has {} free (limit {limit})",
                gpu.describe(),
                text::bytes_floor(free)
            );
            out.push(Check::new(&name, status, summary));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Vendor;
    use crate::threshold::FreeLimit;

    fn snapshot(gpus: Vec<Gpu>, nvidia: NvidiaState) -> Snapshot {
        Snapshot {
            gpus,
            nvidia,
            amd_cards: 0,
        }
    }

    fn card(temp: f64, free: u64) -> Gpu {
        Gpu {
            vendor: Vendor::Nvidia,
            temperature_celsius: Some(temp),
            memory_total_bytes: Some(24 << 30),
            memory_free_bytes: Some(free),
            ..Gpu::default()
        }
    }

    fn worst(checks: &[Check]) -> Status {
        checks.iter().fold(Status::Ok, |s, c| s.worst(c.status))
    }

    #[test]
    fn no_gpu_is_unknown_unless_expected() {
        let missing = NvidiaState::LibraryMissing {
            message: "cannot load".into(),
        };
        let empty = snapshot(vec![], missing);
        assert_eq!(
            worst(&checks(&empty, &Limits::default(), "/sys")),
            Status::Unknown
        );
        let expect = Limits {
            expect: Some(1),
            ..Limits::default()
        };
        let found = checks(&empty, &expect, "/sys");
        assert_eq!(worst(&found), Status::Critical);
        assert!(
            found[0]
                .summary
                .contains("0 GPUs found, expected at least 1")
        );
        assert!(found[0].summary.contains("cannot load"));
    }

    #[test]
    fn temperature_and_free_memory_limits() {
        let limits = Limits {
            temp_warn: Some(80.0),
            temp_crit: Some(90.0),
            free_warn: Some(FreeThreshold::new(FreeLimit::Percent(20.0), "20%")),
            free_crit: Some(FreeThreshold::new(FreeLimit::Bytes(1 << 30), "1GiB")),
            ..Limits::default()
        };
        let ok = Snapshot {
            ..snapshot(
                vec![card(70.0, 10 << 30)],
                NvidiaState::Ok {
                    driver_version: None,
                },
            )
        };
        assert_eq!(worst(&checks(&ok, &limits, "/sys")), Status::Ok);
        let warm = snapshot(
            vec![card(85.0, 10 << 30)],
            NvidiaState::Ok {
                driver_version: None,
            },
        );
        assert_eq!(worst(&checks(&warm, &limits, "/sys")), Status::Warning);
        let hot = snapshot(
            vec![card(90.0, 10 << 30)],
            NvidiaState::Ok {
                driver_version: None,
            },
        );
        let found = checks(&hot, &limits, "/sys");
        assert_eq!(worst(&found), Status::Critical);
        assert!(
            found
                .iter()
                .any(|c| c.summary.contains("at 90C (limit 90C)")),
            "{found:?}"
        );
        let tight = snapshot(
            vec![card(50.0, 2 << 30)],
            NvidiaState::Ok {
                driver_version: None,
            },
        );
        assert_eq!(worst(&checks(&tight, &limits, "/sys")), Status::Warning);
        let full = snapshot(
            vec![card(50.0, 512 << 20)],
            NvidiaState::Ok {
                driver_version: None,
            },
        );
        let found = checks(&full, &limits, "/sys");
        assert!(
            found
                .iter()
                .any(|c| c.summary.contains("512MiB free (limit 1GiB)")),
            "{found:?}"
        );
    }

    #[test]
    fn idle_while_holding_is_not_a_fault() {
        let mut gpu = card(40.0, 10 << 30);
        gpu.idle_holding = true;
        let idle = snapshot(
            vec![gpu],
            NvidiaState::Ok {
                driver_version: None,
            },
        );
        assert_eq!(
            worst(&checks(&idle, &Limits::default(), "/sys")),
            Status::Ok
        );
    }
}
