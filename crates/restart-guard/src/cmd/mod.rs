//! The subcommands, one per file: the default form (`guard`) and the ones
//! that report and administer.

pub mod audit;
pub mod guard;
pub mod loops;
pub mod reset;
pub mod status;
