//! The default form's flags: the name, the policy, CMD and what runs
//! around it (verification, escalation).

use super::files::FileArgs;
use crate::policy::{DEFAULT_COOLDOWN, DEFAULT_MAX, DEFAULT_PER, Policy};
use clap::Args;
use clap::builder::{OsStringValueParser, TypedValueParser as _};
use selfheal_core::cli::OutputArgs;
use selfheal_core::duration;
use std::ffi::OsString;
use std::time::Duration;

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
    /// the audit log (up to 1000 characters; control characters escaped,
    /// bytes that are not UTF-8 replaced, never refused)
    #[arg(long, default_value = "", value_parser = OsStringValueParser::new().map(reason), env = "RESTART_GUARD_REASON")]
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
    #[arg(long, default_value_t = DEFAULT_MAX, value_parser = clap::value_parser!(u32).range(1..), env = "RESTART_GUARD_MAX")]
    pub max: u32,

    /// The sliding window the budget applies to
    #[arg(long, default_value = DEFAULT_PER, value_parser = duration::parse, env = "RESTART_GUARD_PER")]
    pub per: Duration,

    /// Minimum gap between attempts (the first backoff step)
    #[arg(long, default_value = DEFAULT_COOLDOWN, value_parser = duration::parse, env = "RESTART_GUARD_COOLDOWN")]
    pub cooldown: Duration,

    /// Enable exponential backoff: the gap doubles from --cooldown up to this
    #[arg(long, value_parser = duration::parse, env = "RESTART_GUARD_BACKOFF_MAX")]
    pub backoff_max: Option<Duration>,

    /// Backoff starts over after this long without attempts [default: 2 x --backoff-max]
    #[arg(long, value_parser = duration::parse, env = "RESTART_GUARD_BACKOFF_RESET")]
    pub backoff_reset: Option<Duration>,
}

impl PolicyArgs {
    /// The policy these flags describe, or why they make no sense together.
    pub fn policy(&self) -> Result<Policy, String> {
        Policy::checked(
            self.max,
            self.per,
            self.cooldown,
            self.backoff_max,
            self.backoff_reset,
        )
    }
}

#[derive(Debug, Clone, Args)]
pub struct EscalationArgs {
    /// When the budget is exhausted, run this notifier (split like a shell,
    /// run without one) once, then at most every --escalate-every. Context
    /// comes in the environment: SELFHEAL_NAME, SELFHEAL_DECISION,
    /// SELFHEAL_REASON, SELFHEAL_RESTARTS_IN_WINDOW, SELFHEAL_MAX,
    /// SELFHEAL_WINDOW, SELFHEAL_NEXT_ALLOWED (+_UNIX), SELFHEAL_LAST_OUTCOME,
    /// SELFHEAL_AUDIT, and SELFHEAL_DEDUP_KEY (host and name: the same for
    /// every call about this name, for a pager to group by)
    #[arg(long, value_name = "'CMD ARGS'", value_parser = parse_argv, env = "RESTART_GUARD_ON_EXHAUSTED")]
    pub on_exhausted: Option<Argv>,

    /// Run this notifier once when a verified restart (or a `reset`) follows
    /// an escalation, so a pager can resolve what --on-exhausted opened.
    /// Environment: SELFHEAL_NAME, SELFHEAL_DECISION=recovered,
    /// SELFHEAL_RESOLVED_BY (verified or reset), SELFHEAL_REASON,
    /// SELFHEAL_ESCALATED_AT, SELFHEAL_DEDUP_KEY (as --on-exhausted's), SELFHEAL_AUDIT
    #[arg(long, value_name = "'CMD ARGS'", value_parser = parse_argv, env = "RESTART_GUARD_ON_RECOVERED")]
    pub on_recovered: Option<Argv>,

    /// Minimum time between notifier calls while still exhausted
    #[arg(long, default_value = "1h", value_parser = duration::parse, env = "RESTART_GUARD_ESCALATE_EVERY")]
    pub escalate_every: Duration,

    /// Time limit for the notifier
    #[arg(long, default_value = "30s", value_parser = duration::parse, env = "RESTART_GUARD_NOTIFY_TIMEOUT")]
    pub notify_timeout: Duration,
}

/// A command line split into argv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argv(pub Vec<String>);

pub fn parse_argv(text: &str) -> Result<Argv, String> {
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

/// A `--reason` as recorded. Never refused, since it usually carries a
/// probe's output (`--reason "$(probe)"`), and a refusal would block the
/// restart: bytes that are not UTF-8 become U+FFFD, control characters
/// are escaped (`\n`), and the text is cut at [`MAX_REASON_CHARS`].
#[must_use]
pub fn reason(raw: OsString) -> String {
    let text = raw
        .into_string()
        .unwrap_or_else(|raw| raw.to_string_lossy().into_owned());
    let text = selfheal_core::report::escape_controls(&text);
    match text.char_indices().nth(MAX_REASON_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
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
    fn reasons_are_sanitised_never_refused() {
        use std::os::unix::ffi::OsStringExt;
        assert_eq!(reason("probe: down".into()), "probe: down");
        let raw = OsString::from_vec(b"GPU \xff\xfe lost\nOK\x1b[2K".to_vec());
        assert_eq!(reason(raw), "GPU \u{fffd}\u{fffd} lost\\nOK\\u{1b}[2K");
    }

    #[test]
    fn long_reasons_are_cut() {
        let long = "é".repeat(MAX_REASON_CHARS + 5);
        let cut = reason(long.into());
        assert_eq!(cut.chars().count(), MAX_REASON_CHARS + 3);
        assert!(cut.ends_with("..."));
    }
}
