//! One run of the default form: its flags validated once, and what every
//! step of the run reads (the name, the policy, the state store, the log).

use crate::audit::{Decision, Record, Window};
use crate::cli::GuardArgs;
use crate::policy::{Judgement, Policy};
use anyhow::Context as _;
use selfheal_core::atomic::{check_dir_writable, open_regular};
use selfheal_core::audit::AuditLog;
use selfheal_core::clock::Stamp;
use selfheal_core::state::StateStore;
use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::path::PathBuf;

pub struct Invocation<'a> {
    pub args: &'a GuardArgs,
    pub name: &'a str,
    pub policy: Policy,
    /// `None` only for a dry run with no state directory yet: a dry run
    /// must not even create it.
    pub store: Option<StateStore>,
    pub audit: AuditLog,
}

impl<'a> Invocation<'a> {
    /// Validates the flags and runs every check made before anything is
    /// counted or run.
    pub fn new(args: &'a GuardArgs) -> anyhow::Result<Self> {
        let name = args.name.as_deref().context("--name is required")?;
        selfheal_core::state::validate_name(name).map_err(anyhow::Error::msg)?;
        let policy = args.policy.policy().map_err(anyhow::Error::msg)?;
        crate::preflight::check(args)?;
        let store = if args.dry_run && !args.files.state_dir()?.exists() {
            None
        } else {
            Some(args.files.state_store()?)
        };
        Ok(Invocation {
            args,
            name,
            policy,
            store,
            audit: args.files.audit_log()?,
        })
    }

    /// `<state-dir>/restart-guard/<name>.intent` (see `intent`).
    pub fn intent_path(&self) -> anyhow::Result<PathBuf> {
        let store = self.store.as_ref().context("no state directory")?;
        Ok(crate::intent::path(store, self.name))
    }

    /// What a real run would find wrong with the files it writes, checked
    /// without creating or writing any (a dry run writes nothing): the
    /// state folder writable (or, not made yet, its nearest existing
    /// parent), the name's lock and intent record regular files if they
    /// exist, the audit log appendable.
    pub fn check_files(&self) -> anyhow::Result<()> {
        let Some(store) = &self.store else {
            let dir = self.args.files.state_dir()?;
            let existing = dir.ancestors().find(|d| d.exists()).unwrap_or(&dir);
            check_dir_writable(existing)?;
            return match self.audit.check_writable() {
                // The default log's folder is the state dir, made by a real run.
                Err(e) if e.kind() == ErrorKind::NotFound && self.args.files.audit.is_none() => {
                    Ok(())
                }
                other => Ok(other?),
            };
        };
        check_dir_writable(store.dir())?;
        let lock = store.dir().join(format!("{}.lock", self.name));
        for path in [lock, self.intent_path()?] {
            match open_regular(&path, OpenOptions::new().read(true).write(true)) {
                Err(e) if e.kind() != ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        Ok(self.audit.check_writable()?)
    }

    /// The audit record of `decision` made at `now`, with the window as
    /// `judgement` found it.
    #[must_use]
    pub fn record(&self, decision: Decision, now: &Stamp, judgement: &Judgement) -> Record {
        self.record_in(decision, now, self.policy.window(judgement, now))
    }

    /// The same with a window of the caller's.
    #[must_use]
    pub fn record_in(&self, decision: Decision, now: &Stamp, window: Window) -> Record {
        let mut record = Record::new(self.name, decision, now, window);
        record.reason.clone_from(&self.args.reason);
        record
    }
}
