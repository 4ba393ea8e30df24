//! What `status` asks of a human, per name, as a pure function of the
//! history and the policy's judgement:
//! - CRITICAL: an escalation not yet resolved within the window, a restart
//!   the budget refused since the last attempt, or an exhausted budget
//!   whose last attempt failed, was interrupted, or was not verified
//!   (no --verify: nothing knows the service came back);
//! - WARNING: exhausted after a verified restart (the service is up, but
//!   no restart is left until the window frees one), a restart in
//!   progress or orphaned (its guard died before recording the outcome),
//!   or a failed last attempt with budget left;
//! - OK otherwise, and after a `reset`.

use crate::audit::Decision;
use crate::history::History;
use crate::policy::{Judgement, Policy, Verdict};
use selfheal_core::Status;
use selfheal_core::clock::{Stamp, rfc3339};
use selfheal_core::duration::human;
use std::time::Duration;

/// The status of one name and the note that says why; `orphaned` is how
/// long ago a pending attempt whose guard died began (None: not orphaned).
#[must_use]
pub fn of(
    history: &History,
    judgement: &Judgement,
    policy: &Policy,
    (now, orphaned): (&Stamp, Option<Duration>),
) -> (Status, String) {
    let last = history.last_outcome.as_ref().map(|o| o.decision);
    if open_escalation(history, now, policy.per).is_some() {
        return (Status::Critical, ", an escalation is not resolved".into());
    }
    if judgement.verdict == Verdict::Budget {
        let until = until(now, judgement.wait);
        return match last {
            _ if refused_since_last_attempt(history, now) => (
                Status::Critical,
                format!(", exhausted: a restart was refused; none left until {until}"),
            ),
            Some(Decision::Verified) => (
                Status::Warning,
                format!(", exhausted after a verified restart: no restart left until {until}"),
            ),
            Some(Decision::Restarted) => (
                Status::Critical,
                format!(
                    ", exhausted and the last restart was not verified (no --verify); none left until {until}"
                ),
            ),
            _ => (
                Status::Critical,
                format!(", exhausted and the last attempt failed; none left until {until}"),
            ),
        };
    }
    if let Some(pending) = &history.pending {
        let note = match orphaned {
            Some(age) => format!(
                ", an attempt begun {} ago is orphaned (restart-guard pid {} ended before \
                 recording its outcome; the next run for the name records it)",
                human(age),
                pending.pid
            ),
            None => ", a restart is in progress".into(),
        };
        return (Status::Warning, note);
    }
    match last {
        Some(Decision::Failed | Decision::VerifyFailed | Decision::Interrupted) => {
            (Status::Warning, String::new())
        }
        _ => (Status::Ok, String::new()),
    }
}

/// When the open escalation began, if one is open and its last call lies
/// within the window.
#[must_use]
pub fn open_escalation<'a>(history: &'a History, now: &Stamp, per: Duration) -> Option<&'a Stamp> {
    let opened = history.open_escalation.as_ref()?;
    let last = history.last_escalation.as_ref().unwrap_or(opened);
    (now.elapsed_since(last) < per).then_some(opened)
}

/// When the notifier may be called again (while still exhausted), if an
/// escalation is open.
#[must_use]
pub fn next_escalation(history: &History) -> Option<f64> {
    history.open_escalation.as_ref()?;
    let last = history.last_escalation.as_ref()?;
    Some(last.unix + history.escalate_every_seconds.unwrap_or(0.0))
}

fn refused_since_last_attempt(history: &History, now: &Stamp) -> bool {
    match (&history.last_refused, &history.last_attempt) {
        (Some(refused), Some(attempt)) => now.elapsed_since(refused) < now.elapsed_since(attempt),
        (Some(_), None) => true,
        _ => false,
    }
}

/// `04:20 UTC`, or the whole date and time when a day or more away.
fn until(now: &Stamp, wait: Duration) -> String {
    let text = rfc3339(now.unix_after(wait));
    if wait < Duration::from_secs(20 * 3600) {
        format!("{} UTC", &text[11..16])
    } else {
        text
    }
}

#[cfg(test)]
#[path = "severity_tests.rs"]
mod tests;
