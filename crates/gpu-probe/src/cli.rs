//! Flags; every one can also come from the environment (`Environment=`).

use crate::args;
use crate::threshold::{self, FreeThreshold};
use clap::Parser;
use regex::Regex;
use selfheal_core::cli::{OutputArgs, StateArgs};
use std::ffi::OsString;
use std::path::PathBuf;

const AFTER_HELP: &str = "\
What it reads: NVIDIA GPUs through NVML (the driver's libnvidia-ml.so.1),
AMD GPUs through /sys/class/drm/card*/device and /proc/<pid>/fdinfo, and
process names from /proc/<pid>/comm and cmdline. It never changes anything.

Idle while holding memory (utilisation 0 while a process holds VRAM) is
reported, and how long it has lasted when --state-dir (or systemd's
$STATE_DIRECTORY) is given, but it is never a fault by itself: an idle
loaded model looks exactly like a frozen one.

Exit codes:
  0  OK: every GPU read, no limit crossed
  1  WARNING: --temp-warn or --free-warn crossed
  2  CRITICAL: NVIDIA driver/library version mismatch, NVML hung past
     --timeout, a GPU lost (fallen off the bus), fewer GPUs than --expect,
     --temp-crit or --free-crit
  3  UNKNOWN: no GPU found and none expected, NVML failed, bad arguments

Example:
  gpu-probe
  gpu-probe --format json --process 'ollama|llama-server'
  gpu-probe --expect 2 --temp-warn 85 --temp-crit 95 --free-crit 5%
  gpu-probe --gpu 0 --free-warn 2GiB --state-dir /var/lib/selfheal
  gpu-probe --format prom \\
      --textfile /var/lib/prometheus/node-exporter/gpu.prom";

#[derive(Debug, Parser)]
#[command(
    name = "gpu-probe",
    version,
    about = "What are the GPUs doing: utilisation, VRAM, which processes hold it; is a GPU lost or the driver mismatched?",
    long_about = "What are the GPUs doing: utilisation, VRAM, temperature and power per GPU, \
which processes hold its memory, and whether a GPU is lost or the NVIDIA driver and \
library disagree (after which GPU programs silently fall back to CPU).",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Only this GPU: an index or a UUID (repeat for several)
    #[arg(
        long = "gpu",
        value_name = "INDEX|UUID",
        env = "GPU_PROBE_GPU",
        value_delimiter = ',',
        value_parser = args::parse_gpu
    )]
    pub gpus: Vec<String>,

    /// Only processes whose name or command line matches this regular expression
    #[arg(long, value_name = "REGEX", value_parser = parse_regex, env = "GPU_PROBE_PROCESS")]
    pub process: Option<Regex>,

    /// CRITICAL when fewer than N GPUs are found (default: no GPU is UNKNOWN)
    #[arg(long, value_name = "N", value_parser = args::parse_expect, allow_hyphen_values = true, env = "GPU_PROBE_EXPECT")]
    pub expect: Option<u32>,

    /// WARNING at or above this temperature, in degrees Celsius
    #[arg(long, value_name = "CELSIUS", value_parser = args::parse_celsius, allow_hyphen_values = true, env = "GPU_PROBE_TEMP_WARN")]
    pub temp_warn: Option<f64>,

    /// CRITICAL at or above this temperature, in degrees Celsius
    #[arg(long, value_name = "CELSIUS", value_parser = args::parse_celsius, allow_hyphen_values = true, env = "GPU_PROBE_TEMP_CRIT")]
    pub temp_crit: Option<f64>,

    /// WARNING when a GPU's free memory is below this (2GiB, 500MB, 10%)
    #[arg(long, value_name = "SIZE|PCT", value_parser = threshold::parse_free, allow_hyphen_values = true, env = "GPU_PROBE_FREE_WARN")]
    pub free_warn: Option<FreeThreshold>,

    /// CRITICAL when a GPU's free memory is below this (2GiB, 500MB, 10%)
    #[arg(long, value_name = "SIZE|PCT", value_parser = threshold::parse_free, allow_hyphen_values = true, env = "GPU_PROBE_FREE_CRIT")]
    pub free_crit: Option<FreeThreshold>,

    /// NVML library to load, a name or a path
    #[arg(long, value_name = "PATH", default_value = crate::snapshot::DEFAULT_NVML_LIB, env = "GPU_PROBE_NVML_LIB")]
    pub nvml_lib: OsString,

    /// Give NVML up as hung (CRITICAL) after this long (e.g. 10s, 1m)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = selfheal_core::duration::parse, env = "GPU_PROBE_TIMEOUT")]
    pub timeout: std::time::Duration,

    /// Do not read NVIDIA GPUs
    #[arg(long, env = "GPU_PROBE_NO_NVIDIA")]
    pub no_nvidia: bool,

    /// Do not read AMD GPUs
    #[arg(long, env = "GPU_PROBE_NO_AMD")]
    pub no_amd: bool,

    /// Root of sysfs, where AMD GPUs are read (for tests and containers)
    #[arg(
        long,
        value_name = "DIR",
        default_value = "/sys",
        env = "GPU_PROBE_SYSFS_ROOT"
    )]
    pub sysfs_root: PathBuf,

    /// Root of procfs, where process names and AMD per-process memory are read
    #[arg(
        long,
        value_name = "DIR",
        default_value = "/proc",
        env = "GPU_PROBE_PROC_ROOT"
    )]
    pub proc_root: PathBuf,

    #[command(flatten)]
    pub state: StateArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

fn parse_regex(text: &str) -> Result<Regex, String> {
    Regex::new(text).map_err(|e| format!("invalid --process regular expression '{text}': {e}"))
}

/// Flags that are valid alone but not together.
pub fn check(cli: &Cli) -> Result<(), String> {
    if cli.nvml_lib.is_empty() {
        return Err("--nvml-lib is empty: give the NVML library's name or path \
                    (default libnvidia-ml.so.1), or pass --no-nvidia"
            .to_owned());
    }
    if let (Some(warn), Some(crit)) = (cli.temp_warn, cli.temp_crit)
        && warn > crit
    {
        return Err(format!(
            "--temp-warn {warn} is above --temp-crit {crit}: the warning must come first, \
             at a lower temperature (e.g. --temp-warn 85 --temp-crit 95)"
        ));
    }
    if let (Some(warn), Some(crit)) = (&cli.free_warn, &cli.free_crit)
        && crate::args::inverted(warn, crit)
    {
        return Err(format!(
            "--free-warn {warn} is below --free-crit {crit}: the warning must come first, \
             with more memory still free (e.g. --free-warn 20% --free-crit 5%)"
        ));
    }
    Ok(())
}
