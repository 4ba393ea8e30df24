//! The --on-exhausted notifier and the context every outside command gets
//! in its environment (`SELFHEAL_NAME`, `SELFHEAL_REASON`, ...), so a
//! notifier can say what happened without parsing anything.

use crate::audit::Decision;
use crate::cli::Argv;
use crate::exec::{self, Ran};
use crate::history::History;
use crate::invocation::Invocation;
use crate::policy::Judgement;
use selfheal_core::clock::{Stamp, rfc3339};
use selfheal_core::duration::human;
use std::ffi::OsString;

/// Where a name stands at one moment: its history and the policy's
/// judgement of it.
pub struct Standing<'a> {
    pub history: &'a History,
    pub now: &'a Stamp,
    pub judgement: &'a Judgement,
}

/// Runs the notifier with the context of the exhaustion; `trigger` is the
/// decision that found the budget used up (`held-budget`, `failed`, ...).
#[must_use]
pub fn call(inv: &Invocation, notifier: &Argv, standing: &Standing, trigger: Decision) -> Ran {
    let env = env(inv, standing, Some(trigger.as_str()));
    let argv = notifier.0.iter().map(OsString::from).collect();
    exec::run(argv, inv.args.escalation.notify_timeout, &env, None)
}

/// `SELFHEAL_*` variables describing the name's situation.
#[must_use]
pub fn env(
    inv: &Invocation,
    standing: &Standing,
    decision: Option<&str>,
) -> Vec<(OsString, OsString)> {
    let next_unix = standing.now.unix_after(standing.judgement.wait);
    let last = standing
        .history
        .last_outcome
        .as_ref()
        .map_or(String::new(), |o| {
            format!(
                "{} at {}: {}",
                o.decision.as_str(),
                o.at.rfc3339(),
                o.outcome
            )
        });
    let mut vars = vec![
        ("SELFHEAL_NAME", inv.name.to_owned()),
        ("SELFHEAL_REASON", inv.args.reason.clone()),
        (
            "SELFHEAL_RESTARTS_IN_WINDOW",
            standing.judgement.in_window.to_string(),
        ),
        ("SELFHEAL_MAX", inv.policy.max.to_string()),
        ("SELFHEAL_WINDOW", human(inv.policy.per)),
        ("SELFHEAL_NEXT_ALLOWED", rfc3339(next_unix)),
        ("SELFHEAL_NEXT_ALLOWED_UNIX", format!("{next_unix:.0}")),
        ("SELFHEAL_LAST_OUTCOME", last),
        ("SELFHEAL_AUDIT", inv.audit.path().display().to_string()),
        ("SELFHEAL_DEDUP_KEY", crate::escalation::dedup_key(inv.name)),
    ];
    if let Some(decision) = decision {
        vars.push(("SELFHEAL_DECISION", decision.to_owned()));
    }
    vars.into_iter()
        .map(|(k, v)| (OsString::from(k), OsString::from(v)))
        .collect()
}
