//! Where port-reaper's audit log lives: one JSONL line per signal sent, per
//! unit stopped and per target's ending, through selfheal-core's shared
//! audit log (regular files only, never through a symlink, one fsynced
//! line per write, rotated at 10 MiB keeping 3 old files).

pub use selfheal_core::audit::AuditLog;

/// File name inside the state directory.
pub const DEFAULT_FILE: &str = "port-reaper.audit.jsonl";
