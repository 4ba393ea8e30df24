//! The subcommands, one per file.

pub mod age;
pub mod trend;
pub mod trend_args;
