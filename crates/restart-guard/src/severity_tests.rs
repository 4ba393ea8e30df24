//! Each rule over hand-built histories: nothing sleeps.

use super::*;
use crate::history::LastOutcome;
use crate::policy::{self, record_attempt};

/// 2033-05-18T03:33:20Z plus `t` seconds, in boot "a".
fn at(t: f64) -> Stamp {
    Stamp {
        unix: 2_000_000_000.0 + t,
        boot_id: "a".into(),
        uptime: t,
    }
}

fn policy() -> Policy {
    Policy::checked(
        1,
        Duration::from_secs(3600),
        Duration::from_secs(60),
        None,
        None,
    )
    .unwrap()
}

/// One attempt at 0 that ended with `decision`.
fn after(decision: Decision) -> History {
    let mut history = History::default();
    record_attempt(&mut history, &at(0.0), &policy());
    history.last_outcome = Some(LastOutcome {
        decision,
        at: at(0.0),
        outcome: "exit 0".into(),
    });
    history
}

fn status(history: &History, t: f64) -> (Status, String) {
    let p = policy();
    let now = at(t);
    of(history, &policy::judge(history, &now, &p), &p, (&now, None))
}

#[test]
fn exhausted_after_a_verified_restart_is_a_warning_with_the_time() {
    let (status, note) = status(&after(Decision::Verified), 60.0);
    assert_eq!(status, Status::Warning);
    assert_eq!(
        note,
        ", exhausted after a verified restart: no restart left until 04:33 UTC"
    );
}

#[test]
fn exhausted_after_a_failed_or_unverified_attempt_is_critical() {
    for decision in [
        Decision::Failed,
        Decision::VerifyFailed,
        Decision::Interrupted,
        Decision::Restarted,
    ] {
        assert_eq!(
            status(&after(decision), 60.0).0,
            Status::Critical,
            "{decision:?}"
        );
    }
    assert!(
        status(&after(Decision::Restarted), 60.0)
            .1
            .contains("not verified")
    );
}

#[test]
fn a_refused_restart_or_an_open_escalation_is_critical() {
    let mut refused = after(Decision::Verified);
    refused.last_refused = Some(at(30.0));
    assert_eq!(status(&refused, 60.0).0, Status::Critical);
    let mut escalated = after(Decision::Verified);
    escalated.open_escalation = Some(at(30.0));
    escalated.last_escalation = Some(at(30.0));
    escalated.escalate_every_seconds = Some(3600.0);
    // Critical while in the window, even once the budget has room again.
    assert_eq!(status(&escalated, 3620.0).0, Status::Critical);
    assert_eq!(next_escalation(&escalated), Some(2_000_003_630.0));
    // An escalation whose last call lies a whole window back is old news.
    assert_eq!(status(&escalated, 3631.0).0, Status::Ok);
}

#[test]
fn budget_left_failed_is_a_warning_and_after_reset_ok() {
    assert_eq!(status(&after(Decision::Failed), 3601.0).0, Status::Warning);
    assert_eq!(status(&after(Decision::Verified), 3601.0).0, Status::Ok);
    let mut reset = History {
        last_outcome: after(Decision::Failed).last_outcome,
        ..History::default()
    };
    reset.last_outcome.as_mut().unwrap().decision = Decision::Reset;
    assert_eq!(status(&reset, 1.0), (Status::Ok, String::new()));
}

#[test]
fn a_pending_attempt_is_in_progress_or_orphaned() {
    let mut pending = after(Decision::Failed);
    pending.pending = Some(crate::history::Pending {
        started: at(3700.0),
        pid: 4242,
        reason: String::new(),
    });
    let p = policy();
    let now = at(3760.0);
    let judged = policy::judge(&pending, &now, &p);
    assert_eq!(
        of(&pending, &judged, &p, (&now, None)),
        (Status::Warning, ", a restart is in progress".into())
    );
    let (status, note) = of(&pending, &judged, &p, (&now, Some(Duration::from_secs(60))));
    assert_eq!(status, Status::Warning);
    assert!(
        note.starts_with(", an attempt begun 1m ago is orphaned (restart-guard pid 4242"),
        "{note}"
    );
}
