//! `restart-guard`: should this restart run now? It is the one place where
//! that is decided, safely, whoever calls it and however often: a budget of
//! attempts per sliding window, a cooldown with optional exponential
//! backoff, one instance per name (an exclusive lock in the state store), a
//! durable record of every attempt before CMD starts, a JSONL audit line per
//! decision, and one escalation to a human instead of hundreds. It also
//! detects restart loops from systemd's `NRestarts` (`loops`).
//!
//! Reads and writes only its state directory (`restart-guard/<name>.json`,
//! `restart-guard/<name>.lock`, `restart-guard/<name>.intent`,
//! `restart-guard/loops/`, `restart-guard.audit.jsonl` and its rotated
//! `.1 .2 ...`); runs CMD, `--verify` and
//! `--on-exhausted` as argv, never through a shell; `loops` runs
//! `systemctl show`. Elapsed times come from `selfheal_core::clock` (boot
//! id + `CLOCK_BOOTTIME`), so wall-clock jumps cannot reset or jam the budget.

pub mod audit;
pub mod cli;
pub mod cmd;
pub mod escalation;
pub mod exec;
pub mod history;
pub mod intent;
pub mod invocation;
pub mod metrics;
pub mod notify;
pub mod policy;
pub mod preflight;
pub mod recover;
pub mod render;
pub mod severity;

pub use cli::Cli;
pub use render::TOOL;

use selfheal_core::Outcome;

/// Runs one invocation; only `main` turns the outcome into an exit.
#[must_use]
pub fn run(cli: &Cli) -> Outcome {
    if let Err(problem) = cli.check() {
        return TOOL.usage_error(problem);
    }
    match &cli.command {
        None => cmd::guard::run(&cli.guard),
        Some(cli::Command::Status(args)) => cmd::status::run(args),
        Some(cli::Command::Audit(args)) => cmd::audit::run(args),
        Some(cli::Command::Reset(args)) => cmd::reset::run(args),
        Some(cli::Command::Loops(args)) => cmd::loops::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn default_form_and_subcommands_both_parse() {
        let cli = selfheal_core::cli::parse::<Cli>([
            "restart-guard",
            "--name",
            "ollama",
            "--max",
            "2",
            "--",
            "systemctl",
            "restart",
            "x",
        ])
        .unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.guard.command.len(), 3);
        assert_eq!(cli.guard.policy.max, 2);
        let cli = selfheal_core::cli::parse::<Cli>(["restart-guard", "status", "ollama"]).unwrap();
        assert!(cli.command.is_some());
    }

    #[test]
    fn usage_errors_exit_3() {
        for args in [
            &["restart-guard", "--name", "x"][..],
            &["restart-guard", "--name", "x", "--max", "0", "--", "true"],
            &[
                "restart-guard",
                "--name",
                "x",
                "--cooldown",
                "60",
                "--",
                "true",
            ],
            &[
                "restart-guard",
                "--name",
                "x",
                "--verify",
                "'oops",
                "--",
                "true",
            ],
            &["restart-guard", "loops", "--unit", "u", "--max", "50"],
        ] {
            let outcome = selfheal_core::cli::parse::<Cli>(args.iter().copied()).unwrap_err();
            assert_eq!(outcome.code, 3, "{args:?}: {}", outcome.stderr);
        }
    }
}
