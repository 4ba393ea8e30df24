//! Where the last sign of progress comes from: one module per source.

pub mod file;
pub mod http;
pub mod pgconf;
pub mod postgres;
pub mod process;
pub mod target;
pub mod unit;
