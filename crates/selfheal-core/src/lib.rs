//! What every selfheal tool shares: the run harness a tool's domain code
//! stands on, the status and exit-code model, the report rendered as one Nagios line, JSON or Prometheus
//! text, flag durations, crash-safe file replacement, the locked per-name
//! state store, and the clock that survives wall-clock jumps.
//!
//! A piece lives here as soon as a second tool needs it, never copied.

pub mod atomic;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod command;
pub mod duration;
pub mod exposition;
pub mod harness;
pub mod metrics;
pub mod report;
pub mod state;
pub mod status;
pub mod textfile;

pub use cli::Outcome;
pub use harness::Tool;
pub use report::{Check, Format, Report};
pub use status::Status;
