//! `port-reaper`: who holds this port, and free it (TERM, grace, KILL) for
//! the processes you allow, before a service starts.
//!
//! Sockets come from netlink sock_diag (the port filter runs in the kernel)
//! or `/proc/net/{tcp,tcp6,udp,udp6}`; their holders from the
//! `/proc/<pid>/fd` links, described from `/proc/<pid>/{stat,status,
//! cmdline,exe,cgroup}` and `/etc/passwd`. Signals go through pidfds, every
//! one into a JSONL audit log; PID 1, port-reaper itself, its ancestors and
//! kernel threads are never signalled.

pub mod allow;
pub mod audit;
pub mod bind;
pub mod cgroup;
pub mod cli;
pub mod describe;
pub mod discover;
pub mod flow;
pub mod holder;
pub mod procnet;
pub mod reap;
pub mod render;
pub mod settings;
pub mod sockdiag;
pub mod socket;
pub mod target;
pub mod tree;
pub mod walk;

pub use cli::Cli;
use selfheal_core::Outcome;

pub const TOOL: &str = "port-reaper";
pub const LABEL: &str = "PORT";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[must_use]
pub fn run(cli: &Cli) -> Outcome {
    let settings = match settings::Settings::from_cli(cli) {
        Ok(settings) => settings,
        Err(message) => return usage_error(&message),
    };
    if let Some(path) = &cli.output.textfile
        && let Err(err) = selfheal_core::textfile::check_target(path)
    {
        return usage_error(&format!(
            "--textfile {}: {}",
            path.display(),
            textfile_problem(&err)
        ));
    }
    let report = match flow::probe(&settings) {
        Ok(report) => report,
        Err(err) => selfheal_core::cli::unknown_report(
            selfheal_core::Report::new(TOOL, LABEL, VERSION),
            &err,
        ),
    };
    Outcome::from_report(report, &cli.output)
}

fn textfile_problem(problem: &selfheal_core::textfile::TargetProblem) -> String {
    use selfheal_core::textfile::TargetProblem;
    match problem {
        TargetProblem::IsDirectory => "is a directory: give a file path".into(),
        TargetProblem::NoDirectory { dir, error } => {
            format!("its directory {} is unusable: {error}", dir.display())
        }
        TargetProblem::NotWritable { dir, error } => {
            format!("cannot write into {}: {error}", dir.display())
        }
    }
}

fn usage_error(message: &str) -> Outcome {
    Outcome {
        code: selfheal_core::cli::USAGE_EXIT,
        stdout: String::new(),
        stderr: format!("{TOOL}: {message}\n"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
