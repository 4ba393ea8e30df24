//! `port-reaper`: Who holds this port? Free it (TERM, grace, KILL), only for processes you allow.
//!
//! Not implemented yet: every run reports UNKNOWN (exit 3) with
//! "not implemented yet", so nothing can mistake it for a passing check.
//! Its work is an open issue.

use clap::Parser;
use selfheal_core::cli::{OutputArgs, not_implemented, not_implemented_help};
use selfheal_core::{Outcome, Tool};

pub const TOOL: Tool = selfheal_core::tool!("PORT");

#[derive(Debug, Parser)]
#[command(
    name = TOOL.name,
    version,
    about = "Who holds this port? Free it (TERM, grace, KILL), only for processes you allow.",
    long_about = "Finds the processes that hold a TCP port and, for those matching the allow-filters you give, signals them through pidfds (TERM, a grace period, then KILL) so the service can start.\n\n\
NOT IMPLEMENTED YET: every run exits 3 (UNKNOWN) and says so.",
    after_help = not_implemented_help(TOOL.name)
)]
pub struct Cli {
    #[command(flatten)]
    pub output: OutputArgs,
}

#[must_use]
pub fn run(cli: &Cli) -> Outcome {
    not_implemented(&TOOL, &cli.output)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
