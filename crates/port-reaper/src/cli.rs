//! The flags, with their --help text.

use crate::discover;
use clap::Parser;
use selfheal_core::cli::{OutputArgs, StateArgs};
use std::path::PathBuf;
use std::time::Duration;

const AFTER_HELP: &str = "\
Exit codes:
  0  the port is free (maybe after reaping)
  2  still held, or held by a process the filters do not allow, or the
     address is not on this host
  3  bad arguments, no permission, cannot tell

Examples:
  port-reaper --list 8080
  port-reaper --only-comm '^node$' 18789
  port-reaper --only-unit gateway --grace 10s --bind-check 127.0.0.1:18789
  port-reaper --dry-run --any --tree [::]:11434
  port-reaper --udp --list 5353";

#[derive(Debug, Parser)]
#[allow(clippy::struct_excessive_bools)] // clap flags are bools
#[command(
    name = crate::TOOL.name,
    version,
    about = "Who holds this port? Free it (TERM, grace, KILL), only for processes you allow.",
    long_about = "Finds the sockets on a port (TCP listeners by default) and the processes \
holding them, then, for the holders the allow-filters admit, sends SIGTERM, waits up to \
--grace, sends SIGKILL to what is left and confirms the port is free. Signals go through \
pidfds, so a recycled pid is never hit. A holder a supervisor would restart (a systemd \
service, supervisord, dockerd...) is left alone unless --stop-unit or --kill-supervised.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// PORT, ADDR:PORT or [IPV6]:PORT (e.g. 8080, 127.0.0.1:8080, [::]:8080)
    #[arg(value_name = "TARGET", env = "PORT_REAPER_TARGET")]
    pub target: String,

    /// UDP instead of TCP
    #[arg(long, env = "PORT_REAPER_UDP")]
    pub udp: bool,

    /// Also count connected sockets on the port (accepted connections), not
    /// only listeners; never the remote end of a connection
    #[arg(long, env = "PORT_REAPER_ALL_STATES")]
    pub all_states: bool,

    /// Only look: print the holders, exit 0 if the port is free, 2 if held
    #[arg(long, env = "PORT_REAPER_LIST")]
    pub list: bool,

    /// Time between SIGTERM and SIGKILL
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = selfheal_core::duration::parse, env = "PORT_REAPER_GRACE")]
    pub grace: Duration,

    /// Prove the port is free by binding it once (and letting go)
    #[arg(long, env = "PORT_REAPER_BIND_CHECK")]
    pub bind_check: bool,

    /// Also signal the holders' descendants
    #[arg(long, env = "PORT_REAPER_TREE")]
    pub tree: bool,

    /// Allow holders whose command name (15 bytes, as in ps -o comm) matches REGEX
    #[arg(long, value_name = "REGEX", env = "PORT_REAPER_ONLY_COMM")]
    pub only_comm: Option<String>,

    /// Allow holders running this executable (absolute path, as /proc/PID/exe)
    #[arg(long, value_name = "PATH", env = "PORT_REAPER_ONLY_EXE")]
    pub only_exe: Option<String>,

    /// Allow holders in this systemd unit (gateway means gateway.service)
    #[arg(long, value_name = "UNIT", env = "PORT_REAPER_ONLY_UNIT")]
    pub only_unit: Option<String>,

    /// Allow holders running as this user (name or uid)
    #[arg(long, value_name = "USER", env = "PORT_REAPER_ONLY_USER")]
    pub only_user: Option<String>,

    /// Allow any holder (still never PID 1, port-reaper itself, its ancestors)
    #[arg(long, env = "PORT_REAPER_ANY")]
    pub any: bool,

    /// For a holder in another systemd service, run `systemctl stop UNIT`
    /// instead of signalling it (its supervisor would restart it)
    #[arg(long, env = "PORT_REAPER_STOP_UNIT")]
    pub stop_unit: bool,

    /// Signal supervised holders too (their supervisor may restart them)
    #[arg(
        long,
        env = "PORT_REAPER_KILL_SUPERVISED",
        conflicts_with = "stop_unit"
    )]
    pub kill_supervised: bool,

    /// Say what would be signalled; signal nothing
    #[arg(long, env = "PORT_REAPER_DRY_RUN")]
    pub dry_run: bool,

    /// JSONL audit log, one line per signal [default: STATE_DIR/port-reaper.audit.jsonl]
    #[arg(long, value_name = "PATH", env = "PORT_REAPER_AUDIT_LOG")]
    pub audit_log: Option<PathBuf>,

    /// Where sockets are looked up
    #[arg(long, value_enum, default_value = "auto", env = "PORT_REAPER_SOURCE")]
    pub source: discover::Source,

    #[command(flatten)]
    pub state: StateArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}
