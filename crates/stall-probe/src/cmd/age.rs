//! `stall-probe age`: how long ago did the worker last make progress,
//! against `--warn` and `--crit`, from one source (a file, PostgreSQL, an
//! HTTP JSON document, or a process's CPU time behind a pid, a pattern or
//! a systemd unit).

use crate::advisor::{self, AdvisorArgs};
use crate::history::{self, GateArgs, History, Session, state_name};
use crate::progress::{self, Progress, Thresholds};
use crate::source::file::{self, FileArgs};
use crate::source::http::{self, HttpArgs};
use crate::source::postgres::{self, PgArgs};
use crate::source::process;
use crate::source::target::TargetArgs;
use crate::{TOOL, metrics};
use clap::ArgGroup;
use selfheal_core::cli::OutputArgs;
use selfheal_core::{Outcome, Report};
use serde_json::json;
use std::time::Duration;

const HELP: &str = "\
Exit codes: 0 OK, 1 WARNING (older than --warn, or held back), 2 CRITICAL
(older than --crit, stopped, gone), 3 UNKNOWN (bad arguments; the source
could not be read: database down, wrong column type, bad JSON).

Examples:
  stall-probe age --file /run/worker/heartbeat --warn 1m --crit 5m
  stall-probe age --dsn-file /etc/trader/dsn --warn 2m --crit 10m \\
    --query 'SELECT symbol, max(decided_at) FROM decisions
             WHERE decided_at > now() - $1::interval GROUP BY symbol' \\
    --param '1 day' --expect-key BTC --expect-key ETH
  stall-probe age --http http://127.0.0.1:8080/status \\
    --json-pointer /last_tick --crit 2m
  stall-probe age --unit trader@BTC.service --sample-for 5s --crit 2m \\
    --consecutive 2
  stall-probe age --pid 4242 --sample-for 2s --crit 1s --format json";

#[derive(Debug, Clone, clap::Args)]
#[command(
    group(ArgGroup::new("source").required(true).args(["file", "query", "http", "pid", "process", "unit"])),
    after_help = HELP
)]
pub struct AgeArgs {
    #[command(flatten)]
    pub file: FileArgs,
    #[command(flatten)]
    pub pg: PgArgs,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// With --pid/--process/--unit: also watch CPU time for this long within this run
    #[arg(long, value_name = "DURATION", value_parser = selfheal_core::duration::parse, env = "STALL_PROBE_SAMPLE_FOR")]
    pub sample_for: Option<Duration>,
    /// WARNING when the last progress is at least this old
    #[arg(long, value_name = "DURATION", value_parser = selfheal_core::duration::parse, env = "STALL_PROBE_WARN")]
    pub warn: Option<Duration>,
    /// CRITICAL when the last progress is at least this old
    #[arg(long, value_name = "DURATION", value_parser = selfheal_core::duration::parse, env = "STALL_PROBE_CRIT")]
    pub crit: Duration,
    #[command(flatten)]
    pub gate: GateArgs,
    #[command(flatten)]
    pub advisor: AdvisorArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

impl AgeArgs {
    fn limits(&self) -> Thresholds {
        Thresholds {
            warn: self.warn,
            crit: self.crit,
        }
    }

    /// History is needed to see CPU progress across runs and for --consecutive.
    fn history_name(&self) -> Result<Option<String>, String> {
        if !self.target.is_set() && self.gate.consecutive == 1 {
            return Ok(None);
        }
        let default = || {
            if self.target.is_set() {
                Some(self.target.default_name())
            } else if let Some(path) = &self.file.file {
                Some(history::name_from("file", &path.display().to_string()))
            } else {
                self.http
                    .http
                    .as_ref()
                    .map(|url| history::name_from("http", &http::redact_url(url)))
            }
        };
        state_name(self.gate.name.as_ref(), default).map(Some)
    }

    /// The key of a single-value source: --name, else what it reads.
    fn single_key(&self) -> String {
        if let Some(name) = &self.gate.name {
            return name.clone();
        }
        match (&self.file.file, &self.http.http) {
            (Some(path), _) => path.display().to_string(),
            (_, Some(url)) => http::redact_url(url),
            _ => "query".into(),
        }
    }
}

fn validate(args: &AgeArgs) -> Result<Option<String>, String> {
    if let Some(warn) = args.warn
        && warn > args.crit
    {
        return Err(format!(
            "--warn {} is longer than --crit {}: warn must come first",
            selfheal_core::duration::human(warn),
            selfheal_core::duration::human(args.crit)
        ));
    }
    let timeouts = [
        ("--connect-timeout", args.pg.connect_timeout),
        ("--statement-timeout", args.pg.statement_timeout),
        ("--http-timeout", args.http.http_timeout),
    ];
    if let Some((flag, _)) = timeouts.iter().find(|(_, t)| t.is_zero()) {
        return Err(format!(
            "{flag} 0s would give up at once (it does not mean \"no limit\"): give a time, e.g. 10s"
        ));
    }
    if args.sample_for.is_some() && !args.target.is_set() {
        return Err("--sample-for applies to --pid, --process and --unit (CPU time); drop it for this source".into());
    }
    args.history_name()
}

#[must_use]
pub fn run(args: &AgeArgs) -> Outcome {
    match validate(args) {
        Ok(name) => TOOL.run(&args.output, || probe(args, name.as_deref())),
        Err(message) => TOOL.usage_error(message),
    }
}

fn probe(args: &AgeArgs, name: Option<&str>) -> anyhow::Result<Report> {
    let mut report = TOOL.report();
    let mut session = match name {
        Some(name) => Some(Session::open(&args.gate.state, name, &mut report)?),
        None => None,
    };
    let mut scratch = History::default();
    let history = session.as_mut().map_or(&mut scratch, |s| &mut s.history);
    let readings = read_source(args, history, &mut report)?;
    let verdicts = progress::fold_into(&mut report, &readings, args.limits());
    metrics::ages(&mut report, &readings, &verdicts, args.limits());
    details(&mut report, &readings, &verdicts);
    if let Some(session) = session.as_mut() {
        let streak = history::apply_consecutive(
            &mut report,
            &mut session.history.critical_streak,
            args.gate.consecutive,
        );
        metrics::streak(&mut report, streak);
        session.save()?;
    }
    advisor::review(&args.advisor, &mut report);
    Ok(report)
}

fn read_source(
    args: &AgeArgs,
    history: &mut History,
    report: &mut Report,
) -> anyhow::Result<Vec<Progress>> {
    if let Some(path) = &args.file.file {
        return Ok(vec![file::read(
            path,
            args.file.content,
            &args.single_key(),
        )?]);
    }
    if let Some(sql) = &args.pg.query {
        return postgres::read(&args.pg, sql, &args.single_key());
    }
    if let Some(url) = &args.http.http {
        return Ok(vec![http::read(&args.http, url, &args.single_key())?]);
    }
    process::read(&args.target, args.sample_for, history, report)
}

fn details(report: &mut Report, readings: &[Progress], verdicts: &[selfheal_core::Status]) {
    let keys: Vec<_> = readings
        .iter()
        .zip(verdicts)
        .map(|(p, status)| json!({"key": p.key, "age_seconds": p.age, "status": status, "how": p.how}))
        .collect();
    report.details.insert("keys".into(), json!(keys));
}
