//! `gpu-probe`: what are the GPUs doing — utilisation, VRAM, temperature and
//! power per GPU, which processes hold its memory — and is a GPU lost or the
//! NVIDIA driver mismatched with its library? It never acts.
//!
//! Reads NVIDIA GPUs through NVML (`libnvidia-ml.so.1`, loaded at run time
//! from `--nvml-lib`), AMD GPUs through sysfs (`<sysfs>/class/drm/card*/device`)
//! and their per-process VRAM through `<proc>/<pid>/fdinfo`, and names
//! processes from `<proc>/<pid>/comm` and `cmdline`.
//!
//! As a library, [`snapshot`] returns a [`Snapshot`] without judging it
//! ([`Snapshot::held_by`] says where a process holds VRAM; it is how
//! ollama-frozen-check ties runner PIDs to their GPU):
//!
//! ```no_run
//! let options = gpu_probe::SnapshotOptions {
//!     process: Some(regex::Regex::new("ollama|llama-server").unwrap()),
//!     ..Default::default()
//! };
//! for gpu in gpu_probe::snapshot(&options).gpus {
//!     println!("{}: {} bytes held by Ollama", gpu.describe(), gpu.process_memory());
//! }
//! ```
//!
//! JSON `details` (stable; fields may be added, none renamed or removed):
//! - `gpus`: one object per GPU with `vendor` (`nvidia|amd`), `index`, and
//!   where known `uuid`, `name`, `pci_bus_id`, `utilization_gpu_percent`,
//!   `utilization_memory_percent`, `memory_total_bytes`, `memory_used_bytes`,
//!   `memory_free_bytes`, `temperature_celsius`, `power_watts`,
//!   `power_limit_watts`, `performance_state`, `lost` (how the loss showed),
//!   `errors` (queries that failed), `idle_holding` (bool), `idle_since`
//!   (RFC 3339) and `idle_seconds` (with a state directory), and `processes`:
//!   `[{pid, memory_bytes, kind, name, cmdline}]`. A field the card does not
//!   report is absent, never zero.
//! - `nvidia`: `{status: skipped|ok|library_missing|driver_not_loaded|
//!   version_mismatch|failed|hung, driver_version | message}`.
//! - `amd_cards`: AMD GPUs found before `--gpu` filtering.
//! - `process_filter`: the `--process` expression, or null.

pub mod amd;
pub mod args;
pub mod classify;
pub mod cli;
pub mod fdinfo;
pub mod files;
pub mod idle;
pub mod metrics;
pub mod model;
pub mod nvidia;
pub mod procinfo;
pub mod report;
pub mod snapshot;
pub mod text;
pub mod threshold;

pub use cli::Cli;
pub use model::{Gpu, GpuProcess, NvidiaState, Snapshot, Vendor};
pub use snapshot::{DEFAULT_NVML_LIB, SnapshotOptions, snapshot};

use classify::Limits;
use selfheal_core::clock::Stamp;
use selfheal_core::{Check, Outcome, Report, Status, Tool};

pub const TOOL: Tool = selfheal_core::tool!("GPU");

#[must_use]
pub fn run(cli: &Cli) -> Outcome {
    if let Err(message) = cli::check(cli) {
        return TOOL.usage_error(message);
    }
    TOOL.run(&cli.output, || probe(cli))
}

/// Reads the GPUs, tracks idle spells, and judges.
pub fn probe(cli: &Cli) -> anyhow::Result<Report> {
    let mut report = TOOL.report();
    let options = SnapshotOptions {
        nvml_lib: (!cli.no_nvidia).then(|| cli.nvml_lib.clone()),
        sysfs_root: (!cli.no_amd).then(|| cli.sysfs_root.clone()),
        proc_root: cli.proc_root.clone(),
        gpus: cli.gpus.clone(),
        process: cli.process.clone(),
        nvml_timeout: cli.timeout,
    };
    let mut snapshot = snapshot(&options);
    if tracks_idle(cli, &snapshot.gpus) {
        let tracked = TOOL
            .state_store(&cli.state)
            .map_err(anyhow::Error::from)
            .and_then(|store| idle::track(&store, &mut snapshot.gpus, &Stamp::now(), &mut report));
        // Only the idle time is lost: a lost GPU must still be CRITICAL.
        if let Err(err) = tracked {
            report.check(Check::new(
                "state",
                Status::Unknown,
                format!(
                    "idle time not tracked: {err:#}; make the state directory writable \
                     for this user or pass another --state-dir"
                ),
            ));
        }
    }
    let limits = Limits {
        expect: cli.expect,
        temp_warn: cli.temp_warn,
        temp_crit: cli.temp_crit,
        free_warn: cli.free_warn.clone(),
        free_crit: cli.free_crit.clone(),
    };
    let where_amd = cli.sysfs_root.join("class/drm").display().to_string();
    report::fill(
        &mut report,
        &snapshot,
        &limits,
        &where_amd,
        cli.process.as_ref(),
    );
    Ok(report)
}

/// Idle spells are tracked only where a state directory was named: a probe
/// run by hand should not start writing under the user's home.
/// The state directory is not even created while no GPU reports utilisation.
fn tracks_idle(cli: &Cli, gpus: &[Gpu]) -> bool {
    (cli.state.state_dir.is_some() || std::env::var_os("STATE_DIRECTORY").is_some())
        && gpus.iter().any(|g| g.utilization_gpu_percent.is_some())
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
