//! Checks made before anything is counted or run: what a typo in a unit
//! would otherwise turn into a used-up budget, a failed restart (exit 2) or
//! a restart reported as UNKNOWN (exit 3) after it happened.

use crate::cli::{Argv, GuardArgs};
use std::ffi::OsString;

/// Every check, in the order a user would fix them. (`--textfile` is
/// checked by the harness, before any of these.)
pub fn check(args: &GuardArgs) -> anyhow::Result<()> {
    timeouts(args)?;
    programs(args)
}

/// A zero time limit kills its command at once: every restart would fail
/// and count, every verification or notification would be lost.
fn timeouts(args: &GuardArgs) -> anyhow::Result<()> {
    let limits = [
        ("--timeout", args.timeout, true),
        (
            "--verify-timeout",
            args.verify_timeout,
            args.verify.is_some(),
        ),
        (
            "--notify-timeout",
            args.escalation.notify_timeout,
            args.escalation.on_exhausted.is_some(),
        ),
    ];
    for (flag, limit, used) in limits {
        if used && limit.is_zero() {
            anyhow::bail!("{flag} must be longer than 0s: it would kill the command at once");
        }
    }
    Ok(())
}

/// CMD, the verifier and the notifier must exist: a notifier typo would
/// otherwise surface only when the budget is gone.
fn programs(args: &GuardArgs) -> anyhow::Result<()> {
    let first = |argv: &Option<Argv>| argv.as_ref().and_then(|a| a.0.first()).map(OsString::from);
    let checks = [
        ("CMD", args.command.first().cloned()),
        ("--verify program", first(&args.verify)),
        (
            "--on-exhausted program",
            first(&args.escalation.on_exhausted),
        ),
    ];
    for (what, program) in checks {
        if let Some(program) = program {
            selfheal_core::program::resolve(what, &program).map_err(anyhow::Error::msg)?;
        }
    }
    Ok(())
}
