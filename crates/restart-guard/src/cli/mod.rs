//! Flags, all in one place. The default form `restart-guard --name NAME
//! [policy] -- CMD ...` decides and maybe restarts; subcommands report and
//! administer. Every flag can also come from the environment
//! (`Environment=` in a unit).

mod admin;
mod files;
mod guard;

pub use admin::{AuditArgs, AuditFormat, LoopsArgs, Rate, ResetArgs, Since, StatusArgs};
pub use files::FileArgs;
pub use guard::{Argv, EscalationArgs, GuardArgs, MAX_REASON_CHARS, PolicyArgs};

use clap::{Parser, Subcommand};

const AFTER_HELP: &str = "\
Policy: a restart runs only if fewer than --max attempts happened in the
sliding window --per, and the gap since the last attempt is at least the
cooldown (with --backoff-max: cooldown, 2x, 4x ... up to --backoff-max,
starting over after --backoff-reset without attempts). Attempts count
whether CMD succeeded or not. Times are measured on the boot clock, so a
wall clock set back neither resets the budget nor blocks restarts.
A policy whose gaps alone span the window before the --max-th attempt
(--max 3 --cooldown 2h --per 1h) could never run out, so it is refused.

Decisions (the audit log's `decision`, metric decisions_total):
  restarted      CMD exited 0 (no --verify given)
  verified       CMD exited 0 and --verify passed
  verify-failed  CMD exited 0 but --verify failed
  failed         CMD failed, timed out, or could not start
  interrupted    told to stop while CMD or --verify ran
  held-cooldown  too soon after the last attempt (cooldown/backoff)
  held-budget    --max attempts already in the window
  held-lock      another run holds the name (audit log only, not counted)
  escalated      the --on-exhausted notifier was called
  recovered      a verified restart or a reset ended an escalation
  reset          a human cleared the budget (restart-guard reset)
attempts_total counts the first five, whatever the outcome.

Exit codes:
  0  restarted (and verified, with --verify), or nothing to do
  1  held back for now: cooldown/backoff, or another run holds the lock
  2  budget exhausted (escalated with --on-exhausted), CMD or
     --verify failed, or we were told to stop (SIGTERM) while they ran
  3  bad arguments or unusable state (a usage error is never 2), or CMD
     could not be started (not counted against the budget)

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

impl Cli {
    /// Flags clap accepts one by one but that make no sense together: a
    /// policy whose budget can never be used up, a `loops --warn` that can
    /// never show; and an --on-recovered program that does not exist (it
    /// would fail only once an escalation ends). Usage errors, checked
    /// before anything runs.
    pub fn check(&self) -> Result<(), String> {
        match &self.command {
            None => {
                self.guard.policy.policy()?;
                runnable(self.guard.escalation.on_recovered.as_ref())
            }
            Some(Command::Reset(args)) => runnable(args.on_recovered.as_ref()),
            Some(Command::Loops(args)) => args.check(),
            Some(_) => Ok(()),
        }
    }
}

fn runnable(on_recovered: Option<&Argv>) -> Result<(), String> {
    match on_recovered.and_then(|argv| argv.0.first()) {
        Some(program) => {
            selfheal_core::program::resolve("--on-recovered program", program.as_ref()).map(|_| ())
        }
        None => Ok(()),
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Budget used and left, next allowed time, exhausted or not (text, json, prom)
    #[command(
        after_help = "Exit codes: 0 every budget has room (and after a reset); 1 no \
restart left after a verified one, a last attempt failed, or a restart is in progress; \
2 exhausted after a failed or unverified (no --verify) attempt, a restart refused since, \
or an escalation not yet resolved; 3 state unreadable or bad arguments.\n\n\
Example:\n  restart-guard status \\\n      --textfile /var/lib/prometheus/node-exporter/restart_guard.prom"
    )]
    Status(StatusArgs),
    /// Query the audit log: a table, or the matching JSON lines
    #[command(
        after_help = "Exit codes: 0 printed (maybe nothing matched), 3 log unreadable or \
bad arguments.\n\nExample:\n  restart-guard audit --name ollama --since 1d\n  \
restart-guard audit --decision held-budget --format json | jq .reason"
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
    Loops(LoopsArgs),
}
