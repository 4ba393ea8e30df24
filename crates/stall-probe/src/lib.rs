//! `stall-probe`: Is this worker making progress? Is its resource use stable, growing or pinned?
//!
//! Not implemented yet: every run reports UNKNOWN (exit 3) with
//! "not implemented yet", so nothing can mistake it for a passing check.
//! Its work is an open issue.

use clap::Parser;
use selfheal_core::cli::{OutputArgs, not_implemented, not_implemented_help};
use selfheal_core::{Outcome, Tool};

pub const TOOL: Tool = selfheal_core::tool!("STALL");

#[derive(Debug, Parser)]
#[command(
    name = TOOL.name,
    version,
    about = "Is this worker making progress? Is its resource use stable, growing or pinned?",
    long_about = "Reads a worker's last-progress age (from a file, PostgreSQL, HTTP JSON or its CPU time) and judges its CPU and memory over a window: rises then levels off is fine; keeps climbing, pinned, or a leak is not.\n\n\
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
