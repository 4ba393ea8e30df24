//! `stall-probe trend`: is this process's (or cgroup's) resource use
//! stable, growing, saturated or leaking? Each run adds a sample to a
//! window kept per `--name` (`--window`), or samples within the run
//! (`--sample-for` every `--interval`), then classifies the window.

use crate::advisor::{self, AdvisorArgs};
use crate::cgroup;
use crate::classify::{self, Class, Point, Rules};
use crate::history::{self, GateArgs, Session, TrendSample, state_name};
use crate::procfs;
use crate::source::target::{Missing, TargetArgs};
use crate::{TOOL, metrics};
use clap::ArgGroup;
use selfheal_core::cli::OutputArgs;
use selfheal_core::clock::Stamp;
use selfheal_core::duration::human;
use selfheal_core::{Check, Outcome, Report, Status};
use std::path::PathBuf;
use std::time::{Duration, Instant};

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

/// What is sampled, once found.
enum Subject {
    Process { key: String, pid: u32 },
    Cgroup { key: String, dir: PathBuf },
}

impl Subject {
    fn key(&self) -> &str {
        match self {
            Subject::Process { key, .. } | Subject::Cgroup { key, .. } => key,
        }
    }
}

fn validate(args: &TrendArgs) -> Result<String, String> {
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

#[must_use]
pub fn run(args: &TrendArgs) -> Outcome {
    match validate(args) {
        Ok(name) => TOOL.run(&args.output, || probe(args, &name)),
        Err(message) => TOOL.usage_error(message),
    }
}

fn probe(args: &TrendArgs, name: &str) -> anyhow::Result<Report> {
    let mut report = TOOL.report();
    let mut session = Session::open(&args.gate.state, name, &mut report)?;
    let subject = match find(args, &mut report)? {
        Ok(subject) => subject,
        Err(Missing { key, why }) => {
            let mut report = critical(report, &key, why);
            finish(args, &mut report, &mut session)?;
            return Ok(report);
        }
    };
    let points = match args.sample_for {
        Some(span) => sample_within(args, &subject, span)?,
        None => sample_across(args, &subject, &mut session, &mut report)?,
    };
    let samples = match points {
        Ok(samples) => samples,
        Err(why) => {
            let mut report = critical(report, subject.key(), why);
            finish(args, &mut report, &mut session)?;
            return Ok(report);
        }
    };
    judge(args, &mut report, subject.key(), &samples);
    finish(args, &mut report, &mut session)?;
    Ok(report)
}

fn finish(args: &TrendArgs, report: &mut Report, session: &mut Session) -> anyhow::Result<()> {
    let streak = history::apply_consecutive(
        report,
        &mut session.history.critical_streak,
        args.gate.consecutive,
    );
    metrics::streak(report, streak);
    session.save()?;
    advisor::review(&args.advisor, report);
    Ok(())
}

fn critical(mut report: Report, key: &str, why: String) -> Report {
    report.check(Check::new(
        &format!("trend:{key}"),
        Status::Critical,
        why.clone(),
    ));
    report.summary = why;
    report
}

fn find(args: &TrendArgs, report: &mut Report) -> anyhow::Result<Result<Subject, Missing>> {
    if let Some(cgroup) = &args.cgroup {
        let dir = args
            .cgroup_root
            .join(cgroup.strip_prefix("/").unwrap_or(cgroup));
        return Ok(Ok(Subject::Cgroup {
            key: cgroup.display().to_string(),
            dir,
        }));
    }
    let targets = match args.target.find(report)? {
        Ok(targets) => targets,
        Err(missing) => return Ok(Err(missing)),
    };
    match targets.as_slice() {
        [one] => Ok(Ok(Subject::Process {
            key: one.key.clone(),
            pid: one.pid,
        })),
        many => {
            let pids: Vec<String> = many.iter().map(|t| t.pid.to_string()).collect();
            anyhow::bail!(
                "--process matches {} processes ({}): trend follows one; narrow the pattern or use --pid",
                many.len(),
                pids.join(", ")
            )
        }
    }
}

/// One sample, or why the subject cannot be sampled (stopped, gone).
/// Reading a few small files takes microseconds; if this probe was
/// descheduled meanwhile (a busy machine), the clock no longer matches the
/// counters and skews the interval, so it reads again (up to 5 times).
fn sample(args: &TrendArgs, subject: &Subject) -> anyhow::Result<Result<TrendSample, String>> {
    for attempt in 1.. {
        let before = Stamp::now();
        let result = read_sample(args, subject, before.clone())?;
        let after = Stamp::now();
        let gap = after.elapsed_since(&before);
        if gap < Duration::from_millis(2) || attempt >= 5 {
            return Ok(result.map(|mut sample| {
                let half = gap.as_secs_f64() / 2.0;
                sample.at.unix += half;
                sample.at.uptime += half;
                sample
            }));
        }
    }
    unreachable!("the loop returns by its fifth attempt")
}

fn read_sample(
    args: &TrendArgs,
    subject: &Subject,
    at: Stamp,
) -> anyhow::Result<Result<TrendSample, String>> {
    let cpus = std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64);
    match subject {
        Subject::Cgroup { dir, .. } => {
            let r = cgroup::read(dir, cpus)?;
            Ok(Ok(TrendSample {
                at,
                identity: dir.display().to_string(),
                cpu_seconds: r.cpu_seconds,
                demand_seconds: None,
                memory_bytes: r.memory_bytes,
                pressure_us: r.pressure_us,
                cpu_limit: args.cpu_limit.unwrap_or(r.cpu_limit),
            }))
        }
        Subject::Process { pid, .. } => {
            let Some(p) = procfs::read_process(&args.target.proc_root, *pid)? else {
                return Ok(Err(format!("process {pid} is gone")));
            };
            if matches!(p.stat.state, 'T' | 't' | 'Z' | 'X') {
                return Ok(Err(format!(
                    "process {pid} is {}",
                    procfs::state_name(p.stat.state)
                )));
            }
            Ok(Ok(TrendSample {
                at,
                identity: format!("{pid}:{}", p.stat.start_ticks),
                cpu_seconds: p.stat.cpu_seconds(),
                demand_seconds: p.sched_ns.map(|(run, wait)| (run + wait) as f64 / 1e9),
                memory_bytes: p.rss_bytes as f64,
                pressure_us: None,
                cpu_limit: args
                    .cpu_limit
                    .unwrap_or_else(|| f64::from(p.threads).min(cpus)),
            }))
        }
    }
}

/// The most samples one `--sample-for` run takes (and keeps in memory).
const MAX_SAMPLES: u32 = 100_000;

/// Samples taken by `--sample-for SPAN --interval I`: one at the start and
/// one per whole interval (whole nanoseconds: 600ms / 200ms in floating
/// point is 2.999...).
fn sample_count(span: Duration, interval: Duration) -> u32 {
    u32::try_from(span.as_nanos() / interval.as_nanos().max(1)).unwrap_or(u32::MAX - 1) + 1
}

type Sampled = anyhow::Result<Result<Vec<TrendSample>, String>>;

fn sample_within(args: &TrendArgs, subject: &Subject, span: Duration) -> Sampled {
    let start = Instant::now();
    let count = sample_count(span, args.interval);
    let mut samples = Vec::new();
    for i in 0..count {
        if let Some(wait) = (start + args.interval * i).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        match sample(args, subject)? {
            Ok(s) => samples.push(s),
            Err(why) => return Ok(Err(why)),
        }
    }
    Ok(Ok(samples))
}

fn sample_across(
    args: &TrendArgs,
    subject: &Subject,
    session: &mut Session,
    report: &mut Report,
) -> Sampled {
    let new = match sample(args, subject)? {
        Ok(s) => s,
        Err(why) => {
            session.history.samples.clear();
            return Ok(Err(why));
        }
    };
    let kept = &mut session.history.samples;
    if kept
        .last()
        .is_some_and(|last| last.identity != new.identity)
    {
        report.warn(format!(
            "{} changed ({} now): the window starts again",
            subject.key(),
            new.identity
        ));
        kept.clear();
    }
    kept.retain(|s| new.at.elapsed_since(&s.at) <= args.window);
    kept.push(new);
    let excess = kept.len().saturating_sub(10_000);
    kept.drain(..excess);
    Ok(Ok(kept.clone()))
}

fn judge(args: &TrendArgs, report: &mut Report, key: &str, samples: &[TrendSample]) {
    let first = &samples[0].at;
    let points: Vec<Point> = samples
        .iter()
        .map(|s| Point {
            t: s.at.elapsed_since(first).as_secs_f64(),
            cpu_seconds: s.cpu_seconds,
            demand_seconds: s.demand_seconds,
            memory: s.memory_bytes,
            pressure_us: s.pressure_us,
        })
        .collect();
    let limit = samples.iter().map(|s| s.cpu_limit).fold(0.0, f64::max);
    let rules = Rules {
        saturated_at: args.saturated_at,
        r2: args.r2,
        min_samples: args.min_samples as usize,
        ..classify::DEFAULT_RULES
    };
    let verdict = classify::classify(&points, limit, &rules);
    let status = match verdict.class {
        Class::Collecting | Class::Stable => Status::Ok,
        Class::Saturated if args.saturated == Severity::Critical => Status::Critical,
        Class::Growing | Class::Leaking | Class::Saturated => Status::Warning,
    };
    let line = format!("{key}: {}", verdict.reason);
    report.check(Check::new(&format!("trend:{key}"), status, line.clone()));
    report.summary = line;
    metrics::trend(report, key, &verdict);
    report.details.insert(
        "trend".into(),
        serde_json::to_value(&verdict).unwrap_or_default(),
    );
    report.details.insert("key".into(), key.into());
}
