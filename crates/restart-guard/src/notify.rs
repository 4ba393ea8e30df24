//! The --on-exhausted notifier and the context every outside command gets
//! in its environment (`SELFHEAL_NAME`, `SELFHEAL_REASON`, ...), so a
//! notifier can say what happened without parsing anything.

use crate::audit::Decision;
use crate::cli::Argv;
use crate::exec::{self, Ran};
use crate::guard::Ctx;
use crate::policy;
use crate::store::GuardState;
use selfheal_core::clock::{Stamp, rfc3339};
use selfheal_core::duration::human;
use std::ffi::OsString;

/// Runs the notifier with the context of the exhaustion; `trigger` is the
/// decision that found the budget used up (`held-budget`, `failed`, ...).
#[must_use]
pub fn call(ctx: &Ctx, notifier: &Argv, state: &GuardState, now: &Stamp, trigger: Decision) -> Ran {
    let env = env(ctx, state, now, Some(trigger.as_str()));
    let argv = notifier.0.iter().map(OsString::from).collect();
    exec::run(argv, ctx.args.escalation.notify_timeout, &env)
}

/// `SELFHEAL_*` variables describing the name's situation at `now`.
#[must_use]
pub fn env(
    ctx: &Ctx,
    state: &GuardState,
    now: &Stamp,
    decision: Option<&str>,
) -> Vec<(OsString, OsString)> {
    let next = policy::decide(state, now, &ctx.policy);
    let next_unix = now.unix_after(next.wait);
    let last = state.last_outcome.as_ref().map_or(String::new(), |o| {
        format!(
            "{} at {}: {}",
            o.decision.as_str(),
            o.at.rfc3339(),
            o.outcome
        )
    });
    let mut vars = vec![
        ("SELFHEAL_NAME", ctx.name.to_owned()),
        ("SELFHEAL_REASON", ctx.args.reason.clone()),
        ("SELFHEAL_RESTARTS_IN_WINDOW", next.in_window.to_string()),
        ("SELFHEAL_MAX", ctx.policy.max.to_string()),
        ("SELFHEAL_WINDOW", human(ctx.policy.per)),
        ("SELFHEAL_NEXT_ALLOWED", rfc3339(next_unix)),
        ("SELFHEAL_NEXT_ALLOWED_UNIX", format!("{next_unix:.0}")),
        ("SELFHEAL_LAST_OUTCOME", last),
        ("SELFHEAL_AUDIT", ctx.audit.display().to_string()),
    ];
    if let Some(decision) = decision {
        vars.push(("SELFHEAL_DECISION", decision.to_owned()));
    }
    vars.into_iter()
        .map(|(k, v)| (OsString::from(k), OsString::from(v)))
        .collect()
}
