//! Where state and the audit log live, shared by the default form and the
//! subcommands.

use crate::render::TOOL;
use clap::Args;
use selfheal_core::audit::{self, AuditLog};
use selfheal_core::cli::StateArgs;
use selfheal_core::state::{NoStateDir, StateStore};
use std::path::PathBuf;

/// File name of the audit log inside the state directory.
pub const AUDIT_FILE: &str = "restart-guard.audit.jsonl";

#[derive(Debug, Clone, Args)]
pub struct FileArgs {
    #[command(flatten)]
    pub state: StateArgs,

    /// Audit log file [default: restart-guard.audit.jsonl in the state directory]
    #[arg(long, value_name = "FILE", env = "RESTART_GUARD_AUDIT")]
    pub audit: Option<PathBuf>,

    /// Rotate the audit log when a line would take it past this size
    /// (FILE -> FILE.1 -> FILE.2 ...); 0 never rotates. Rotation happens
    /// under the log's lock: do not rotate it with logrotate
    #[arg(long, value_name = "SIZE", default_value = "10MiB", value_parser = audit::parse_size, env = "RESTART_GUARD_AUDIT_MAX_SIZE")]
    pub audit_max_size: u64,

    /// Rotated audit logs to keep (FILE.1 is the newest)
    #[arg(long, value_name = "N", default_value_t = audit::DEFAULT_KEEP, value_parser = clap::value_parser!(u32).range(1..=1000), env = "RESTART_GUARD_AUDIT_KEEP")]
    pub audit_keep: u32,
}

impl FileArgs {
    /// `<state-dir>/restart-guard`, where `<name>.json` and `<name>.lock` live.
    pub fn state_dir(&self) -> Result<PathBuf, NoStateDir> {
        TOOL.state_dir(&self.state)
    }

    /// The state store in [`FileArgs::state_dir`], created on first use.
    pub fn state_store(&self) -> std::io::Result<StateStore> {
        TOOL.state_store(&self.state)
    }

    /// The audit log: `--audit FILE`, else the default file in the state dir.
    pub fn audit_log(&self) -> Result<AuditLog, NoStateDir> {
        let path = match &self.audit {
            Some(path) => path.clone(),
            None => self.state.dir()?.join(AUDIT_FILE),
        };
        Ok(AuditLog::new(path).rotate_at(self.audit_max_size, self.audit_keep))
    }
}
