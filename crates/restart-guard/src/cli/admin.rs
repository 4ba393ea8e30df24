//! The flags of the subcommands that report and administer.

use super::files::FileArgs;
use super::guard::Argv;
use crate::audit::Decision;
use clap::Args;
use clap::builder::{OsStringValueParser, TypedValueParser as _};
use selfheal_core::cli::{OutputArgs, StateArgs};
use selfheal_core::duration;
use std::time::Duration;

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
    /// Only the last N matching lines (memory stays small on any log)
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,
    /// table (for people) or json (the log's own lines, one object each)
    #[arg(
        long,
        value_enum,
        default_value = "table",
        env = "RESTART_GUARD_AUDIT_FORMAT"
    )]
    pub format: AuditFormat,
    #[command(flatten)]
    pub files: FileArgs,
}

/// How `audit` prints what it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// The name to reset
    pub name: String,
    /// Who fixed what, recorded in the audit log (sanitised like the
    /// default form's --reason)
    #[arg(long, default_value = "reset by hand", value_parser = OsStringValueParser::new().map(super::guard::reason))]
    pub reason: String,
    /// Wait up to this long for a restart in progress
    #[arg(long, default_value = "30s", value_parser = duration::parse)]
    pub wait: Duration,
    /// When the reset ends an escalation, run this notifier once (as the
    /// default form's --on-recovered, SELFHEAL_RESOLVED_BY=reset)
    #[arg(long, value_name = "'CMD ARGS'", value_parser = super::guard::parse_argv, env = "RESTART_GUARD_ON_RECOVERED")]
    pub on_recovered: Option<Argv>,
    /// Time limit for --on-recovered
    #[arg(long, default_value = "30s", value_parser = duration::parse, env = "RESTART_GUARD_NOTIFY_TIMEOUT")]
    pub notify_timeout: Duration,
    #[command(flatten)]
    pub files: FileArgs,
    #[command(flatten)]
    pub output: OutputArgs,
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

#[derive(Debug, Args)]
pub struct LoopsArgs {
    /// The systemd unit to watch, e.g. gateway.service
    #[arg(long, env = "RESTART_GUARD_UNIT")]
    pub unit: String,
    /// CRITICAL when the unit restarted more than COUNT times in the last
    /// DURATION
    #[arg(
        long,
        value_name = "COUNT/DURATION",
        default_value = "50/1h",
        value_parser = parse_rate,
        env = "RESTART_GUARD_LOOP_MAX"
    )]
    pub max: Rate,
    /// WARNING above this many restarts in the same window [default: half of --max]
    #[arg(long, value_name = "COUNT", env = "RESTART_GUARD_LOOP_WARN")]
    pub warn: Option<u64>,
    #[command(flatten)]
    pub systemd: selfheal_core::cli::SystemctlArgs,
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

impl LoopsArgs {
    /// `--warn` must lie below `--max`: WARNING is "more than --warn",
    /// CRITICAL "more than --max", so a higher --warn is never seen.
    pub fn check(&self) -> Result<(), String> {
        match self.warn {
            Some(warn) if warn >= self.max.count => Err(format!(
                "--warn {warn} can never show: WARNING needs more than {warn} restarts, but \
                 more than {} is already CRITICAL (--max {}/{}); give --warn below {}",
                self.max.count,
                self.max.count,
                duration::human(self.max.per),
                self.max.count
            )),
            _ => Ok(()),
        }
    }
}

/// `50/1h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u64,
    pub per: Duration,
}

fn parse_rate(text: &str) -> Result<Rate, String> {
    let (count, per) = text
        .split_once('/')
        .ok_or_else(|| format!("'{text}': write COUNT/DURATION, e.g. 50/1h"))?;
    let count = count
        .trim()
        .parse()
        .map_err(|e| format!("'{count}': {e}"))?;
    let per = duration::parse(per)?;
    if per.is_zero() {
        return Err("the window must be longer than 0s".into());
    }
    Ok(Rate { count, per })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_duration_or_a_time() {
        assert_eq!(parse_since("1h"), Ok(Since::Ago(Duration::from_secs(3600))));
        assert_eq!(
            parse_since("2026-11-23T15:48:47Z"),
            Ok(Since::Unix(1_795_448_927.0))
        );
        assert!(parse_since("yesterday").is_err());
    }

    #[test]
    fn rate_flag_parses() {
        assert_eq!(
            parse_rate("50/1h"),
            Ok(Rate {
                count: 50,
                per: Duration::from_secs(3600)
            })
        );
        assert!(parse_rate("50").is_err());
        assert!(parse_rate("x/1h").is_err());
        assert!(parse_rate("5/0s").is_err());
    }
}
