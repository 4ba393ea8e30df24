//! `gpu-probe`: What are the GPUs doing: utilisation, VRAM, which processes hold it; is a GPU lost or the driver mismatched?
//!
//! Not implemented yet: every run reports UNKNOWN (exit 3) with
//! "not implemented yet", so nothing can mistake it for a passing check.
//! Its work is an open issue.

use clap::Parser;
use selfheal_core::cli::{OutputArgs, not_implemented, not_implemented_help};
use selfheal_core::{Outcome, Tool};

pub const TOOL: Tool = selfheal_core::tool!("GPU");

#[derive(Debug, Parser)]
#[command(
    name = TOOL.name,
    version,
    about = "What are the GPUs doing: utilisation, VRAM, which processes hold it; is a GPU lost or the driver mismatched?",
    long_about = "Reads NVIDIA GPUs through NVML and AMD GPUs through sysfs, and reports utilisation, VRAM, the processes holding it, a lost GPU or a driver/library mismatch. It never acts.\n\n\
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
