//! NVIDIA GPUs through NVML, loaded at run time from a library path.
//!
//! A field the card does not support (`NVML_ERROR_NOT_SUPPORTED`, common on
//! consumer cards) is left out; `NVML_ERROR_GPU_IS_LOST` marks the GPU lost;
//! any other failure of one query is noted on the GPU and the rest is read.

use crate::model::{Gpu, GpuProcess, NvidiaState, Vendor};
use nvml_wrapper::enum_wrappers::device::TemperatureSensor;
use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::struct_wrappers::device::ProcessInfo;
use nvml_wrapper::{Device, Nvml};
use std::ffi::OsStr;

/// What the operator should do when library and kernel module disagree.
pub const MISMATCH_FIX: &str = "reboot or reload the nvidia kernel module";

/// Loads NVML from `lib` and reads every GPU it lists.
#[must_use]
pub fn read(lib: &OsStr) -> (NvidiaState, Vec<Gpu>) {
    let nvml = match Nvml::builder().lib_path(lib).init() {
        Ok(nvml) => nvml,
        Err(err) => return (init_failure(lib, &err), Vec::new()),
    };
    let count = match nvml.device_count() {
        Ok(count) => count,
        Err(err) => return (init_failure(lib, &err), Vec::new()),
    };
    let gpus = (0..count).map(|index| read_gpu(&nvml, index)).collect();
    let driver_version = nvml.sys_driver_version().ok();
    (NvidiaState::Ok { driver_version }, gpus)
}

fn init_failure(lib: &OsStr, err: &NvmlError) -> NvidiaState {
    let lib = lib.to_string_lossy();
    match err {
        NvmlError::LibloadingError(e) => NvidiaState::LibraryMissing {
            message: format!("cannot load the NVIDIA library {lib}: {e}"),
        },
        NvmlError::LibraryNotFound => NvidiaState::LibraryMissing {
            message: format!("NVML ({lib}) found no NVIDIA library to talk to"),
        },
        NvmlError::DriverNotLoaded => NvidiaState::DriverNotLoaded {
            message: format!("NVML ({lib}): the NVIDIA kernel driver is not loaded"),
        },
        NvmlError::LibRmVersionMismatch => NvidiaState::VersionMismatch {
            message: format!(
                "NVIDIA driver/library version mismatch: {lib} does not match the loaded \
                 kernel module (a driver upgraded under a running module); CUDA programs \
                 cannot use the GPU (Ollama silently falls back to CPU); {MISMATCH_FIX}"
            ),
        },
        NvmlError::NoPermission => NvidiaState::Failed {
            message: format!(
                "NVML ({lib}) may not talk to the driver: no permission \
                 (run as root, or check the permissions of /dev/nvidia*)"
            ),
        },
        other => NvidiaState::Failed {
            message: format!("NVML ({lib}) failed to start: {other}"),
        },
    }
}

fn read_gpu(nvml: &Nvml, index: u32) -> Gpu {
    let mut gpu = Gpu {
        vendor: Vendor::Nvidia,
        index,
        ..Gpu::default()
    };
    match nvml.device_by_index(index) {
        Ok(device) => read_fields(&device, &mut gpu),
        Err(err) => {
            let _ = keep(Err::<(), _>(err), &mut gpu, "handle");
        }
    }
    gpu
}

fn read_fields(device: &Device<'_>, gpu: &mut Gpu) {
    gpu.uuid = keep(device.uuid(), gpu, "uuid");
    gpu.name = keep(device.name(), gpu, "name");
    if let Some(util) = keep(device.utilization_rates(), gpu, "utilization") {
        gpu.utilization_gpu_percent = Some(util.gpu);
        gpu.utilization_memory_percent = Some(util.memory);
    }
    if let Some(memory) = keep(device.memory_info(), gpu, "memory") {
        gpu.memory_total_bytes = Some(memory.total);
        gpu.memory_used_bytes = Some(memory.used);
        gpu.memory_free_bytes = Some(memory.free);
    }
    let temp = keep(
        device.temperature(TemperatureSensor::Gpu),
        gpu,
        "temperature",
    );
    gpu.temperature_celsius = temp.map(f64::from);
    let power = keep(device.power_usage(), gpu, "power");
    gpu.power_watts = power.map(milliwatts);
    let limit = keep(device.enforced_power_limit(), gpu, "power limit");
    gpu.power_limit_watts = limit.map(milliwatts);
    let pstate = keep(device.performance_state(), gpu, "performance state");
    gpu.performance_state = pstate.map(|p| p.as_c());
    let compute = keep(device.running_compute_processes(), gpu, "compute processes");
    let graphics = keep(
        device.running_graphics_processes(),
        gpu,
        "graphics processes",
    );
    gpu.processes = merge_processes(compute.unwrap_or_default(), graphics.unwrap_or_default());
}

fn milliwatts(mw: u32) -> f64 {
    f64::from(mw) / 1000.0
}

/// The value, or `None` with the reason recorded on the GPU.
fn keep<T>(result: Result<T, NvmlError>, gpu: &mut Gpu, what: &str) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(NvmlError::NotSupported) => None,
        Err(NvmlError::GpuLost) => {
            if gpu.lost.is_none() {
                gpu.lost = Some(format!("NVML_ERROR_GPU_IS_LOST reading its {what}"));
            }
            None
        }
        Err(err) => {
            gpu.errors.push(format!("{what}: {err}"));
            None
        }
    }
}

/// One entry per pid: a process with both a compute and a graphics
/// context is listed by both calls with the same allocation.
fn merge_processes(compute: Vec<ProcessInfo>, graphics: Vec<ProcessInfo>) -> Vec<GpuProcess> {
    let mut out: Vec<GpuProcess> = Vec::with_capacity(compute.len() + graphics.len());
    let tagged = compute
        .into_iter()
        .map(|p| (p, "compute"))
        .chain(graphics.into_iter().map(|p| (p, "graphics")));
    for (info, kind) in tagged {
        let memory = match info.used_gpu_memory {
            UsedGpuMemory::Used(bytes) => Some(bytes),
            UsedGpuMemory::Unavailable => None,
        };
        if let Some(seen) = out.iter_mut().find(|p| p.pid == info.pid) {
            if seen.kind != kind {
                seen.kind = "compute+graphics";
            }
            seen.memory_bytes = seen.memory_bytes.max(memory);
            continue;
        }
        out.push(GpuProcess {
            pid: info.pid,
            memory_bytes: memory,
            kind,
            ..GpuProcess::default()
        });
    }
    out.sort_by_key(|p| p.pid);
    out
}
