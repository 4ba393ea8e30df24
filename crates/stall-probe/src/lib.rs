//! `stall-probe`: is this worker making progress, and is its resource use
//! healthy? `age` measures how long ago a worker last showed progress —
//! a file's mtime or content, a timestamp per key from PostgreSQL (one
//! query, one verdict per trading symbol), a value in an HTTP JSON
//! document, or CPU time in `/proc/<pid>/stat` behind a pid, a command-line
//! pattern or a systemd unit (`systemctl show`: the layered check of unit,
//! process and progress). `trend` samples a process (`/proc/<pid>/stat`,
//! `status`, `schedstat`) or a cgroup v2 directory (`cpu.stat`,
//! `memory.current`, `cpu.max`, `*.pressure`) over a window and says
//! whether it is stable, growing, saturated or leaking. An optional local
//! model (an Ollama server's `/api/generate`) may hold a CRITICAL back,
//! never raise one. It never acts.

pub mod advisor;
pub mod cgroup;
pub mod classify;
pub mod cmd;
pub mod history;
pub mod metrics;
pub mod procfs;
pub mod progress;
pub mod source;

use clap::{Parser, Subcommand};
use selfheal_core::cli::OutputArgs;
use selfheal_core::report::Format;
use selfheal_core::{Outcome, Tool};

pub const TOOL: Tool = selfheal_core::tool!("STALL");

const HELP: &str = "\
Exit codes: 0 OK, 1 WARNING, 2 CRITICAL (stalled, stopped, gone, pinned),
3 UNKNOWN (bad arguments, or the source could not be read: a database that
is down is UNKNOWN, not CRITICAL).

Examples:
  stall-probe age --file /run/worker/heartbeat --warn 1m --crit 5m
  stall-probe age --unit trader@BTC.service --sample-for 5s --crit 2m
  stall-probe trend --pid 4242 --sample-for 30s --interval 2s
  stall-probe age --help    # every source, with more examples";

#[derive(Debug, Parser)]
#[command(
    name = TOOL.name,
    version,
    about = "Is this worker making progress? Is its resource use stable, growing or pinned?",
    long_about = "Is this worker making progress? `age` reads how long ago it last did (a file, PostgreSQL, HTTP JSON, or its CPU time behind a pid, a pattern or a systemd unit) against --warn/--crit. `trend` judges its CPU and memory over a window: rising then levelling off is fine; climbing steadily, pinned at the limit, or memory that only grows is not.",
    after_help = HELP
)]
pub struct Cli {
    /// Output flags may also come before the subcommand
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// How long ago did the worker last make progress?
    Age(Box<cmd::age::AgeArgs>),
    /// Is its CPU and memory use stable, growing, saturated or leaking?
    Trend(Box<cmd::trend_args::TrendArgs>),
}

/// Runs one invocation; only `main` turns the outcome into an exit.
#[must_use]
pub fn run(cli: &Cli) -> Outcome {
    match &cli.command {
        Some(Command::Age(args)) => {
            let mut args = args.as_ref().clone();
            args.output = merged(&cli.output, &args.output);
            cmd::age::run(&args)
        }
        Some(Command::Trend(args)) => {
            let mut args = args.as_ref().clone();
            args.output = merged(&cli.output, &args.output);
            cmd::trend::run(&args)
        }
        None => TOOL.usage_error(
            "say what to check: `stall-probe age ...` or `stall-probe trend ...` (see --help)",
        ),
    }
}

/// Flags given after the subcommand win; before it, they fill in.
fn merged(before: &OutputArgs, after: &OutputArgs) -> OutputArgs {
    OutputArgs {
        format: if after.format == Format::Text {
            before.format
        } else {
            after.format
        },
        textfile: after.textfile.clone().or_else(|| before.textfile.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;

    #[test]
    fn cli_definition_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn output_flags_work_before_or_after_the_subcommand() {
        let cli: Cli = selfheal_core::cli::parse([
            "stall-probe",
            "--format",
            "json",
            "age",
            "--file",
            "/x",
            "--crit",
            "1m",
        ])
        .unwrap();
        let Some(super::Command::Age(args)) = &cli.command else {
            panic!()
        };
        assert_eq!(
            super::merged(&cli.output, &args.output).format,
            selfheal_core::report::Format::Json
        );
        let err =
            selfheal_core::cli::parse::<Cli>(["stall-probe", "age", "--crit", "1m"]).unwrap_err();
        assert_eq!(err.code, 3, "no source is a usage error: {}", err.stderr);
    }
}
