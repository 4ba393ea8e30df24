//! The fake `libnvidia-ml.so.1` (C, `fake_nvml/fake_nvml.c`, the real NVML
//! ABI for the entry points nvml-wrapper calls), built once per test
//! process with the system C compiler, and scenario texts for it. A tool
//! loads it through its `--nvml-lib`; `$FAKE_NVML_SCENARIO` names the
//! scenario file, read again at every `nvmlInit`, so a test may rewrite it
//! between runs (a runner that appeared, utilisation that moved).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The environment variable naming the scenario file.
pub const SCENARIO_ENV: &str = "FAKE_NVML_SCENARIO";

/// The C source, for benchmarks that build their own variant.
#[must_use]
pub fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fake_nvml/fake_nvml.c")
}

/// The built library, under `target/<profile>/fake-nvml/`. Built under a
/// per-process name and renamed into place, so test binaries running at
/// once never load a half-written library.
pub fn lib() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let dir = crate::profile_dir().join("fake-nvml");
        fs::create_dir_all(&dir).expect("create fake NVML directory");
        let partial = dir.join(format!("libnvidia-ml.so.1.{}", std::process::id()));
        let output = Command::new("cc")
            .args(["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o"])
            .arg(&partial)
            .arg(source())
            .output()
            .expect("run cc: install a C compiler (apt-get install gcc)");
        assert!(
            output.status.success(),
            "cc failed to build the fake NVML:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let lib = dir.join("libnvidia-ml.so.1");
        fs::rename(&partial, &lib).expect("rename fake NVML into place");
        lib
    })
}

/// One GPU of a scenario: an RTX 4090 with 24 GiB, its utilisation,
/// P-state and the compute processes holding its memory.
#[derive(Debug, Clone)]
pub struct FakeGpu {
    pub util_percent: u32,
    pub pstate: u32,
    /// (pid, VRAM bytes) of each compute process: a simulator's runner
    /// PIDs make the runners hold VRAM.
    pub processes: Vec<(u32, u64)>,
}

impl FakeGpu {
    pub const TOTAL_BYTES: u64 = 25_757_220_864;

    #[must_use]
    pub fn new(util_percent: u32) -> FakeGpu {
        FakeGpu {
            util_percent,
            pstate: if util_percent > 0 { 2 } else { 8 },
            processes: Vec::new(),
        }
    }

    #[must_use]
    pub fn process(mut self, pid: u32, bytes: u64) -> FakeGpu {
        self.processes.push((pid, bytes));
        self
    }

    #[must_use]
    pub fn pstate(mut self, pstate: u32) -> FakeGpu {
        self.pstate = pstate;
        self
    }
}

/// The scenario text for these GPUs.
#[must_use]
pub fn scenario(gpus: &[FakeGpu]) -> String {
    let mut text = format!("driver 550.54.14\ngpus {}\n", gpus.len());
    for (i, gpu) in gpus.iter().enumerate() {
        let used: u64 = gpu.processes.iter().map(|p| p.1).sum::<u64>() + 400_000_000;
        let free = FakeGpu::TOTAL_BYTES.saturating_sub(used);
        let _ = writeln!(text, "gpu {i} name NVIDIA GeForce RTX 4090");
        let _ = writeln!(
            text,
            "gpu {i} uuid GPU-00000000-0000-4000-8000-00000000000{i}"
        );
        let _ = writeln!(text, "gpu {i} util {} 0", gpu.util_percent);
        let _ = writeln!(
            text,
            "gpu {i} memory {} {used} {free}",
            FakeGpu::TOTAL_BYTES
        );
        let _ = writeln!(text, "gpu {i} pstate {}", gpu.pstate);
        for (pid, bytes) in &gpu.processes {
            let _ = writeln!(text, "gpu {i} compute {pid} {bytes}");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_lists_each_gpu_with_its_processes() {
        let text = scenario(&[FakeGpu::new(37).process(4242, 7_945_000_000)]);
        assert!(text.contains("gpus 1\n"), "{text}");
        assert!(text.contains("gpu 0 util 37 0\n"), "{text}");
        assert!(text.contains("gpu 0 compute 4242 7945000000\n"), "{text}");
        assert!(text.contains("gpu 0 pstate 2\n"), "{text}");
    }
}
