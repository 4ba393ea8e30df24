//! `stall-probe trend`'s flags and the checks on them made after parsing
//! (what clap cannot say: ratios, sample counts, the state name).

use crate::advisor::AdvisorArgs;
use crate::history::{self, GateArgs, state_name};
use crate::source::target::TargetArgs;
use clap::ArgGroup;
use selfheal_core::cli::OutputArgs;
use selfheal_core::duration::human;
use std::path::PathBuf;
use std::time::Duration;

const HELP: &str = "\
Classes: stable (flat, or rose then levelled off), growing (a sustained
least-squares rise in CPU or memory), leaking (memory that only grows),
saturated (wanting the whole CPU limit in every interval).

Exit codes: 0 OK (stable, or still collecting samples), 1 WARNING
(growing, leaking, saturated), 2 CRITICAL (saturated with --saturated
critical; the process stopped or gone), 3 UNKNOWN (bad arguments, cannot
read the process or cgroup).

Examples:
  stall-probe trend --pid 4242 --sample-for 60s --interval 5s
  stall-probe trend --unit ollama.service --window 10m --format prom
  stall-probe trend --cgroup system.slice/ollama.service --window 15m \\
    --saturated critical --textfile /var/lib/prometheus/node-exporter/trend.prom";

/// How a saturated window is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Severity {
    Warning,
    Critical,
}

#[derive(Debug, Clone, clap::Args)]
#[command(
    group(ArgGroup::new("source").required(true).args(["pid", "process", "unit", "cgroup"])),
    after_help = HELP
)]
pub struct TrendArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Watch a cgroup v2 directory (relative to --cgroup-root): CPU,
    /// memory.current and PSI pressure of everything in it
    #[arg(
        long,
        value_name = "PATH",
        env = "STALL_PROBE_CGROUP",
        help_heading = "Sources"
    )]
    pub cgroup: Option<PathBuf>,
    /// Where the cgroup v2 hierarchy is mounted
    #[arg(
        long,
        value_name = "DIR",
        default_value = "/sys/fs/cgroup",
        env = "STALL_PROBE_CGROUP_ROOT"
    )]
    pub cgroup_root: PathBuf,
    /// Keep this much history across runs (one sample per run)
    #[arg(long, default_value = "5m", value_parser = selfheal_core::duration::parse, env = "STALL_PROBE_WINDOW")]
    pub window: Duration,
    /// Sample within this run for this long instead of across runs
    #[arg(long, value_name = "DURATION", value_parser = selfheal_core::duration::parse, env = "STALL_PROBE_SAMPLE_FOR")]
    pub sample_for: Option<Duration>,
    /// Time between samples with --sample-for
    #[arg(long, default_value = "5s", value_parser = selfheal_core::duration::parse, env = "STALL_PROBE_INTERVAL")]
    pub interval: Duration,
    /// The CPU limit in cores [default: cpu.max for a cgroup; for a process,
    /// its thread count, at most the CPUs this probe may use]
    #[arg(long, value_name = "CORES", env = "STALL_PROBE_CPU_LIMIT")]
    pub cpu_limit: Option<f64>,
    /// Saturated when every interval wants at least this share of the limit
    #[arg(
        long,
        default_value_t = 0.9,
        value_name = "RATIO",
        env = "STALL_PROBE_SATURATED_AT"
    )]
    pub saturated_at: f64,
    /// Least R² for a rise to count as sustained
    #[arg(long, default_value_t = 0.8, value_name = "R2", env = "STALL_PROBE_R2")]
    pub r2: f64,
    /// Samples needed before judging
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u32).range(3..=100_000), env = "STALL_PROBE_MIN_SAMPLES")]
    pub min_samples: u32,
    /// How a saturated window is reported
    #[arg(
        long,
        value_enum,
        default_value = "warning",
        env = "STALL_PROBE_SATURATED"
    )]
    pub saturated: Severity,
    #[command(flatten)]
    pub gate: GateArgs,
    #[command(flatten)]
    pub advisor: AdvisorArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn validate(args: &TrendArgs) -> Result<String, String> {
    let ratio_ok = |r: f64| r > 0.0 && r <= 1.0;
    if !ratio_ok(args.saturated_at) || !ratio_ok(args.r2) {
        return Err(format!(
            "--saturated-at {} and --r2 {} must be above 0 and at most 1",
            args.saturated_at, args.r2
        ));
    }
    if args.cpu_limit.is_some_and(|c| c.is_nan() || c <= 0.0) {
        return Err("--cpu-limit must be a positive number of cores, e.g. 1 or 0.5".into());
    }
    if args.interval.is_zero() || args.sample_for.is_some_and(|s| s < args.interval) {
        return Err(format!(
            "--interval {} must be above 0s and no longer than --sample-for",
            human(args.interval)
        ));
    }
    if args.window.is_zero() {
        return Err(
            "--window 0s keeps no history: give the span to judge, e.g. --window 5m".into(),
        );
    }
    if let Some(span) = args.sample_for {
        let count = sample_count(span, args.interval);
        if count > MAX_SAMPLES {
            return Err(format!(
                "--sample-for {} every --interval {} takes {count} samples, more than \
                 {MAX_SAMPLES}: sample less often (they are all kept in memory)",
                human(span),
                human(args.interval)
            ));
        }
        if count < args.min_samples {
            return Err(format!(
                "--sample-for {} every --interval {} takes {count} samples, fewer than \
                 --min-samples {}: sample longer or more often",
                human(span),
                human(args.interval),
                args.min_samples
            ));
        }
    }
    let default = || {
        args.cgroup
            .as_ref()
            .map(|c| history::name_from("cgroup", &c.display().to_string()))
            .or_else(|| Some(args.target.default_name()))
    };
    state_name(args.gate.name.as_ref(), default)
}

/// The most samples one `--sample-for` run takes (and keeps in memory).
const MAX_SAMPLES: u32 = 100_000;

/// Samples taken by `--sample-for SPAN --interval I`: one at the start and
/// one per whole interval (whole nanoseconds: 600ms / 200ms in floating
/// point is 2.999...).
#[must_use]
pub fn sample_count(span: Duration, interval: Duration) -> u32 {
    u32::try_from(span.as_nanos() / interval.as_nanos().max(1)).unwrap_or(u32::MAX - 1) + 1
}
