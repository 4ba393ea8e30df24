//! The flags of one run, checked together, and where it reads from.

use crate::allow::Allow;
use crate::audit;
use crate::cli::Cli;
use crate::discover::Query;
use crate::holder::Sources;
use crate::reap;
use crate::socket::Scope;
use crate::target::{self, Proto};
use selfheal_core::procstat::PROC_ROOT;
use std::path::PathBuf;
use std::time::Duration;

const PASSWD: &str = "/etc/passwd";

#[derive(Debug)]
#[allow(clippy::struct_excessive_bools)] // one per flag, read once each
pub struct Settings {
    pub query: Query,
    pub list: bool,
    pub grace: Duration,
    pub bind_check: bool,
    pub tree: bool,
    pub allow: Allow,
    pub opts: reap::Options,
    pub dry_run: bool,
    pub audit_path: PathBuf,
    /// The state directory holding the default audit log: created when
    /// missing, as a fresh host has none (an explicit `--audit-log` is not).
    pub state_dir: Option<PathBuf>,
    /// Where the per-port locks live (`STATE_DIR/port-reaper`).
    pub lock_dir: PathBuf,
    pub proc_root: PathBuf,
    pub passwd: String,
}

impl Settings {
    /// Checks the flags together; an error is a usage error (exit 3).
    pub fn from_cli(cli: &Cli) -> Result<Settings, String> {
        let target = target::parse(&cli.target)?;
        let passwd = std::fs::read_to_string(PASSWD).unwrap_or_default();
        let user = cli
            .only_user
            .as_deref()
            .map(|name| (name, crate::holder::user_id(&passwd, name)));
        let allow = Allow::new(
            cli.only_comm.as_deref(),
            cli.only_exe.as_deref(),
            cli.only_unit.as_deref(),
            user,
            cli.any,
        )?;
        if !cli.list && !allow.is_set() {
            return Err(format!(
                "refusing to signal without an allow-filter: give --only-comm, --only-exe, --only-unit or --only-user (or --any), or --list to only look (e.g. port-reaper --list {})",
                cli.target
            ));
        }
        if let Some(exe) = &cli.only_exe
            && !exe.starts_with('/')
        {
            return Err(format!(
                "--only-exe {exe:?} must be an absolute path, as /proc/PID/exe shows"
            ));
        }
        // Listing needs no state: it works for a user with no home too.
        let state_dir = match cli.state.dir() {
            Ok(dir) => dir,
            Err(_) if cli.list => PathBuf::new(),
            Err(err) => return Err(err.to_string()),
        };
        Ok(Settings {
            query: Query {
                target,
                proto: if cli.udp { Proto::Udp } else { Proto::Tcp },
                scope: if cli.all_states {
                    Scope::AllStates
                } else {
                    Scope::Listening
                },
                source: cli.source,
            },
            list: cli.list,
            grace: cli.grace,
            bind_check: cli.bind_check,
            tree: cli.tree,
            allow,
            opts: reap::Options {
                kill_supervised: cli.kill_supervised,
                stop_unit: cli.stop_unit,
            },
            dry_run: cli.dry_run,
            audit_path: cli
                .audit_log
                .clone()
                .unwrap_or_else(|| state_dir.join(audit::DEFAULT_FILE)),
            lock_dir: state_dir.join(crate::TOOL.name),
            state_dir: cli.audit_log.is_none().then_some(state_dir),
            proc_root: PathBuf::from(PROC_ROOT),
            passwd,
        })
    }

    #[must_use]
    pub fn sources(&self) -> Sources<'_> {
        Sources {
            proc_root: &self.proc_root,
            passwd: &self.passwd,
            boot_unix: boot_unix(&self.proc_root),
            ticks_per_second: rustix::param::clock_ticks_per_second(),
            own_unit: own_unit(&self.proc_root),
        }
    }
}

fn boot_unix(proc_root: &std::path::Path) -> Option<f64> {
    let text = std::fs::read_to_string(proc_root.join("stat")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

fn own_unit(proc_root: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(proc_root.join("self/cgroup")).ok()?;
    crate::cgroup::unit(crate::cgroup::path(&text)?).map(|u| u.name)
}
