//! What every selfheal tool shares: the run harness a tool's domain code
//! stands on, the status and exit-code model, the report rendered as one
//! Nagios line, JSON or Prometheus text, flag durations, crash-safe file
//! replacement, the locked per-name state store, the clock that survives
//! wall-clock jumps, process control that never signals a recycled pid, and
//! stopping children when told to stop.
//!
//! A piece lives here as soon as a second tool needs it, never copied.

pub mod atomic;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod command;
pub mod duration;
pub mod harness;
pub mod interrupt;
pub mod metrics;
pub mod process;
pub mod procstat;
pub mod program;
pub mod report;
pub mod sockdiag;
pub mod socket;
pub mod state;
pub mod state_dir;
pub mod status;
pub mod subcommand;
pub mod textfile;

#[cfg(test)]
pub(crate) mod testing;

pub use cli::Outcome;
pub use harness::Tool;
pub use report::{Check, Format, Report};
pub use status::Status;
