//! `ollama-frozen-check`: Is the Ollama server serving generations, through every hop? Frozen, down, busy, or fine?
//!
//! Not implemented yet: every run reports UNKNOWN (exit 3) with
//! "not implemented yet", so nothing can mistake it for a passing check.
//! Its work is an open issue.

use clap::Parser;
use selfheal_core::cli::{OutputArgs, not_implemented, not_implemented_help};
use selfheal_core::{Outcome, Tool};

pub const TOOL: Tool = selfheal_core::tool!("OLLAMA");

#[derive(Debug, Parser)]
#[command(
    name = TOOL.name,
    version,
    about = "Is the Ollama server serving generations, through every hop? Frozen, down, busy, or fine?",
    long_about = "Probes an Ollama server end to end (/api/version, /api/ps, a tiny /api/generate), through each hop (proxy and upstream), and tells frozen from down from busy. It never acts.\n\n\
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
