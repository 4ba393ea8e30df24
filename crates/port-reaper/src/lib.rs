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
pub mod target;
pub mod tree;
pub mod walk;

// The kernel's view of sockets is shared with ollama-frozen-check.
pub use selfheal_core::{sockdiag, socket};

pub use cli::Cli;
use selfheal_core::{Outcome, Tool};

pub const TOOL: Tool = selfheal_core::tool!("PORT");

#[must_use]
pub fn run(cli: &Cli) -> Outcome {
    match settings::Settings::from_cli(cli) {
        Ok(settings) => TOOL.run(&cli.output, || flow::probe(&settings)),
        Err(message) => TOOL.usage_error(message),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
