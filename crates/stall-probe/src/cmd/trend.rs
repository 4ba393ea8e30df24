//! `stall-probe trend`: is this process's (or cgroup's) resource use
//! stable, growing, saturated or leaking? Each run adds a sample to a
//! window kept per `--name` (`--window`), or samples within the run
//! (`--sample-for` every `--interval`), then classifies the window.

pub use super::trend_args::Severity;
use super::trend_args::{TrendArgs, sample_count, validate};
use crate::advisor;
use crate::cgroup;
use crate::classify::{self, Class, Point, Rules};
use crate::history::{self, Session, TrendSample};
use crate::procfs;
use crate::source::target::Missing;
use crate::{TOOL, metrics};
use selfheal_core::clock::Stamp;
use selfheal_core::{Check, Outcome, Report, Status};
use std::path::PathBuf;
use std::time::{Duration, Instant};

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
