//! Flags. The default form `restart-guard --name NAME [policy] -- CMD ...`
//! decides and maybe restarts; subcommands report and administer. Every flag
//! can also come from the environment (`Environment=` in a unit).

use crate::audit::Decision;
use clap::{Args, Parser, Subcommand};
use selfheal_core::cli::{OutputArgs, StateArgs};
use selfheal_core::duration;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

const AFTER_HELP: &str = "\
Policy: a restart runs only if fewer than --max attempts happened in the
sliding window --per, and the gap since the last attempt is at least the
cooldown (with --backoff-max: cooldown, 2x, 4x ... up to --backoff-max,
starting over after --backoff-reset without attempts). Attempts count
whether CMD succeeded or not. Times are measured on the boot clock, so a
wall clock set back neither resets the budget nor blocks restarts.

Exit codes:
  0  restarted (and verified, with --verify), or nothing to do
  1  held back for now: cooldown/backoff, or another run holds the lock
  2  budget exhausted (escalated with --on-exhausted), or CMD or
     --verify failed
  3  bad arguments or unusable state (a usage error is never 2)

Example:
  restart-guard --name ollama --max 3 --per 1h --cooldown 60s \\
      --reason \"$(ollama-frozen-check)\" --verify 'ollama-frozen-check' \\
      --on-exhausted 'notify-send \"ollama restarts exhausted\"' \\
      -- systemctl restart ollama.service
  restart-guard status --format prom
  restart-guard audit --name ollama --since 1d --decision held-budget
  restart-guard reset ollama --reason 'fixed the driver'
  restart-guard loops --unit gateway.service --max 50/1h";

#[derive(Debug, Parser)]
#[command(
    name = "restart-guard",
    version,
    about = "Should this restart run now? Rate limit, cooldown, backoff, single instance, audit, escalation.",
    long_about = "Should this restart run now? Runs CMD (argv, no shell) only when the \
policy allows, one instance per name at a time, and records every decision in a \
JSONL audit log. When the budget is exhausted it calls --on-exhausted once, then \
at most every --escalate-every, instead of restarting.",
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub guard: GuardArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Budget used and left, next allowed time, exhausted or not (text, json, prom)
    #[command(
        after_help = "Exit codes: 0 every budget has room, 1 a last attempt failed or \
a restart is in progress, 2 a budget is exhausted, 3 state unreadable or bad arguments.\n\n\
Example:\n  restart-guard status \\\n      --textfile /var/lib/prometheus/node-exporter/restart_guard.prom"
    )]
    Status(StatusArgs),
    /// Query the audit log; prints the matching JSON lines
    #[command(
        after_help = "Exit codes: 0 printed (maybe nothing matched), 3 log unreadable or \
bad arguments.\n\nExample:\n  restart-guard audit --name ollama --since 1d --decision held-budget \\\n      | jq .reason"
    )]
    Audit(AuditArgs),
    /// Clear a name's budget and backoff after a human fixed the cause (audited)
    #[command(
        after_help = "Exit codes: 0 reset, 1 a restart is in progress (try again), \
3 bad arguments or state unusable.\n\nExample:\n  restart-guard reset ollama --reason 'replaced the GPU driver'"
    )]
    Reset(ResetArgs),
    /// Detect a restart loop from systemd's NRestarts counter
    #[command(
        after_help = "Exit codes (a probe): 0 OK, 1 WARNING above --warn, 2 CRITICAL above \
--max (a restart loop), 3 UNKNOWN: no systemd here, unknown unit, bad arguments.\n\n\
Example (every minute from a timer):\n  restart-guard loops --unit gateway.service --max 50/1h --textfile loops.prom"
    )]
    Loops(crate::loops::LoopsArgs),
}

#[derive(Debug, Args)]
pub struct GuardArgs {
    /// Name this restart is guarded under (usually the unit): the state file,
    /// lock and audit entries are per name
    #[arg(long, required = true, env = "RESTART_GUARD_NAME")]
    pub name: Option<String>,

    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Kill CMD (its whole process group) after this long; counts as failed
    #[arg(long, default_value = "2m", value_parser = duration::parse, env = "RESTART_GUARD_TIMEOUT")]
    pub timeout: Duration,

    /// Why the restart is wanted (e.g. the probe's summary line), recorded in
    /// the audit log (up to 1000 characters)
    #[arg(long, default_value = "", value_parser = parse_reason, env = "RESTART_GUARD_REASON")]
    pub reason: String,

    /// After CMD succeeds and --settle has passed, run this check (split like
    /// a shell, run without one); non-zero means the service did not come back
    #[arg(long, value_name = "'CMD ARGS'", value_parser = parse_argv, env = "RESTART_GUARD_VERIFY")]
    pub verify: Option<Argv>,

    /// Wait this long after CMD before --verify
    #[arg(long, default_value = "5s", value_parser = duration::parse, env = "RESTART_GUARD_SETTLE")]
    pub settle: Duration,

    /// Time limit for --verify
    #[arg(long, default_value = "30s", value_parser = duration::parse, env = "RESTART_GUARD_VERIFY_TIMEOUT")]
    pub verify_timeout: Duration,

    #[command(flatten)]
    pub escalation: EscalationArgs,

    /// Wait up to this long for another run of the same name instead of
    /// exiting 1 at once
    #[arg(long, value_parser = duration::parse, env = "RESTART_GUARD_WAIT")]
    pub wait: Option<Duration>,

    /// Decide and report, change nothing (no CMD, no state, no audit line)
    #[arg(long, env = "RESTART_GUARD_DRY_RUN")]
    pub dry_run: bool,

    #[command(flatten)]
    pub files: FileArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    /// The restart command, after `--`; run directly, never through a shell
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// At most this many restart attempts per window
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..), env = "RESTART_GUARD_MAX")]
    pub max: u32,

    /// The sliding window the budget applies to
    #[arg(long, default_value = "1h", value_parser = duration::parse, env = "RESTART_GUARD_PER")]
    pub per: Duration,

    /// Minimum gap between attempts (the first backoff step)
    #[arg(long, default_value = "60s", value_parser = duration::parse, env = "RESTART_GUARD_COOLDOWN")]
    pub cooldown: Duration,

    /// Enable exponential backoff: the gap doubles from --cooldown up to this
    #[arg(long, value_parser = duration::parse, env = "RESTART_GUARD_BACKOFF_MAX")]
    pub backoff_max: Option<Duration>,

    /// Backoff starts over after this long without attempts [default: 2 x --backoff-max]
    #[arg(long, value_parser = duration::parse, env = "RESTART_GUARD_BACKOFF_RESET")]
    pub backoff_reset: Option<Duration>,
}

#[derive(Debug, Clone, Args)]
pub struct EscalationArgs {
    /// When the budget is exhausted, run this notifier (split like a shell,
    /// run without one) once, then at most every --escalate-every. Context
    /// comes in the environment: SELFHEAL_NAME, SELFHEAL_DECISION,
    /// SELFHEAL_REASON, SELFHEAL_RESTARTS_IN_WINDOW, SELFHEAL_MAX,
    /// SELFHEAL_WINDOW, SELFHEAL_NEXT_ALLOWED (+_UNIX), SELFHEAL_LAST_OUTCOME,
    /// SELFHEAL_AUDIT
    #[arg(long, value_name = "'CMD ARGS'", value_parser = parse_argv, env = "RESTART_GUARD_ON_EXHAUSTED")]
    pub on_exhausted: Option<Argv>,

    /// Minimum time between notifier calls while still exhausted
    #[arg(long, default_value = "1h", value_parser = duration::parse, env = "RESTART_GUARD_ESCALATE_EVERY")]
    pub escalate_every: Duration,

    /// Time limit for the notifier
    #[arg(long, default_value = "30s", value_parser = duration::parse, env = "RESTART_GUARD_NOTIFY_TIMEOUT")]
    pub notify_timeout: Duration,
}

/// Where state and the audit log live.
#[derive(Debug, Clone, Args)]
pub struct FileArgs {
    #[command(flatten)]
    pub state: StateArgs,

    /// Audit log file [default: restart-guard.audit.jsonl in the state directory]
    #[arg(long, value_name = "FILE", env = "RESTART_GUARD_AUDIT")]
    pub audit: Option<PathBuf>,
}

/// Subdirectory of the state directory for restart-guard's per-name state.
/// Other selfheal tools keep state in the same directory, often under the
/// same names (`ollama`): a shared file would mix two schemas.
pub const STATE_SUBDIR: &str = "restart-guard";

impl FileArgs {
    /// `<state-dir>/restart-guard`, where `<name>.json` and `<name>.lock` live.
    #[must_use]
    pub fn guard_dir(&self) -> PathBuf {
        self.state.dir().join(STATE_SUBDIR)
    }

    #[must_use]
    pub fn audit_path(&self) -> PathBuf {
        crate::audit::path(self.audit.as_deref(), &self.state.dir())
    }
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this name [default: every name with state]
    pub name: Option<String>,
    #[command(flatten)]
    pub files: FileArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only lines for this name
    #[arg(long)]
    pub name: Option<String>,
    /// Only lines from the last DURATION (e.g. 1d) or since an RFC 3339 time
    #[arg(long, value_name = "DURATION|TIME", value_parser = parse_since)]
    pub since: Option<Since>,
    /// Only lines with this decision
    #[arg(long, value_enum)]
    pub decision: Option<Decision>,
    #[command(flatten)]
    pub files: FileArgs,
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// The name to reset
    pub name: String,
    /// Who fixed what, recorded in the audit log
    #[arg(long, default_value = "reset by hand")]
    pub reason: String,
    /// Wait up to this long for a restart in progress
    #[arg(long, default_value = "30s", value_parser = duration::parse)]
    pub wait: Duration,
    #[command(flatten)]
    pub files: FileArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// A command line split into argv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argv(pub Vec<String>);

fn parse_argv(text: &str) -> Result<Argv, String> {
    match shlex::split(text) {
        Some(words) if !words.is_empty() => Ok(Argv(words)),
        Some(_) => Err("empty command".into()),
        None => Err(format!(
            "cannot split '{text}': unbalanced quotes or a trailing backslash"
        )),
    }
}

/// Longest `--reason` kept: a probe's whole output must not bloat every
/// audit line and notifier environment.
pub const MAX_REASON_CHARS: usize = 1000;

// A clap value_parser must return a Result, even one that never fails.
#[allow(clippy::unnecessary_wraps)]
fn parse_reason(text: &str) -> Result<String, String> {
    Ok(match text.char_indices().nth(MAX_REASON_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    })
}

/// `--since`: a duration back from now, or a fixed time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Since {
    Ago(Duration),
    Unix(f64),
}

fn parse_since(text: &str) -> Result<Since, String> {
    if let Ok(d) = duration::parse(text) {
        return Ok(Since::Ago(d));
    }
    selfheal_core::clock::parse_rfc3339(text)
        .map(Since::Unix)
        .map_err(|e| format!("{e}; or give a duration such as 1h or 2d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_splits_like_a_shell_without_one() {
        assert_eq!(
            parse_argv("curl -fsS 'http://x/a b'").unwrap().0,
            ["curl", "-fsS", "http://x/a b"]
        );
        assert!(parse_argv("echo 'unbalanced").is_err());
        assert!(parse_argv("  ").is_err());
    }

    #[test]
    fn long_reasons_are_cut() {
        assert_eq!(parse_reason("probe: down").unwrap(), "probe: down");
        let long = "é".repeat(MAX_REASON_CHARS + 5);
        let cut = parse_reason(&long).unwrap();
        assert_eq!(cut.chars().count(), MAX_REASON_CHARS + 3);
        assert!(cut.ends_with("..."));
    }

    #[test]
    fn since_takes_a_duration_or_a_time() {
        assert_eq!(parse_since("1h"), Ok(Since::Ago(Duration::from_secs(3600))));
        assert_eq!(
            parse_since("2026-11-23T15:48:47Z"),
            Ok(Since::Unix(1_795_448_927.0))
        );
        assert!(parse_since("yesterday").is_err());
    }
}
