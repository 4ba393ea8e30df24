//! A whole selfheal probe in under 100 lines, to show what a tool written on
//! the harness looks like: flags, a child run with a deadline, per-name
//! state, and text/json/prom output with `--textfile`, none of it copied.
//!
//! `command_probe --name NAME [--fail-after N] -- CMD...`: runs CMD; WARNING
//! on a failure, CRITICAL after N failures in a row (kept in the state store).

use clap::Parser;
use selfheal_core::cli::{OutputArgs, StateArgs};
use selfheal_core::command::{self, Spec};
use selfheal_core::metrics::{MetricFamily, MetricKind, Unit};
use selfheal_core::state::LockWait;
use selfheal_core::{Check, Outcome, Report, Status, Tool};
use std::ffi::OsString;
use std::time::Duration;

const TOOL: Tool = Tool {
    name: "command-probe",
    label: "COMMAND",
    version: env!("CARGO_PKG_VERSION"),
};

const HELP: &str = "Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n\nExample:\n  command-probe --name web -- curl -fsS http://127.0.0.1:8080/";

#[derive(Parser)]
#[command(name = "command-probe", version, after_help = HELP)]
struct Cli {
    /// Name the failure streak is kept under
    #[arg(long)]
    name: String,
    /// CRITICAL after this many failures in a row
    #[arg(long, default_value_t = 3)]
    fail_after: u32,
    /// Time limit for CMD (its whole process group is killed after it)
    #[arg(long, default_value = "10s", value_parser = selfheal_core::duration::parse)]
    timeout: Duration,
    #[command(flatten)]
    state: StateArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// The command to run, after `--`
    #[arg(last = true, required = true)]
    command: Vec<OsString>,
}

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Streak {
    failures: u32,
}

fn probe(cli: &Cli) -> anyhow::Result<Report> {
    let store = TOOL.state_store(&cli.state)?;
    let lock = store.lock(&cli.name, LockWait::Upto(Duration::from_secs(5)))?;
    let mut report = TOOL.report();
    let mut streak: Streak = lock.load()?.or_default_warning(&mut report);
    let done = command::run(&Spec::new(cli.command.clone(), cli.timeout))?;
    let passed = done.status.is_some_and(|s| s.success());
    streak.failures = if passed { 0 } else { streak.failures + 1 };
    lock.save(&streak)?;
    let status = match streak.failures {
        0 => Status::Ok,
        n if n >= cli.fail_after => Status::Critical,
        _ => Status::Warning,
    };
    let summary = format!(
        "{}: {} ({} failure(s) in a row)",
        cli.name,
        done.describe(),
        streak.failures
    );
    report.check(Check::new("command", status, summary.clone()));
    report.summary = summary;
    report.metrics.push(
        MetricFamily::new(
            "selfheal_command_probe_failures",
            MetricKind::Gauge,
            Unit::Count,
            "Failures in a row.",
        )
        .with(&[("name", &cli.name)], f64::from(streak.failures)),
    );
    Ok(report)
}

fn run(cli: &Cli) -> Outcome {
    TOOL.run(&cli.output, || probe(cli))
}

fn main() -> std::process::ExitCode {
    selfheal_core::cli::main(|cli: Cli| run(&cli))
}
