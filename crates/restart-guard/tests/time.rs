//! The policy end to end over simulated time: each run gets the fake clock
//! (`SELFHEAL_FAKE_CLOCK`, honoured by test builds only), nothing sleeps.

mod common;

use common::{decisions, guard};
use selfheal_test_support::{Cmd, tempdir};
use std::path::Path;

const T0: f64 = 2_000_000_000.0;

/// One run at boot time `t` (same boot, wall clock `wall` seconds off).
fn at(dir: &Path, t: f64, wall: f64, flags: &[&str]) -> Cmd {
    guard(dir)
        .env(
            "SELFHEAL_FAKE_CLOCK",
            format!("unix={},uptime={t},boot=b1", T0 + t + wall),
        )
        .args(["--name", "svc"])
        .args(flags)
        .args(["--", "true"])
}

fn code(dir: &Path, t: f64, flags: &[&str]) -> i32 {
    at(dir, t, 0.0, flags).run().code()
}

#[test]
fn cooldown_holds_until_it_has_passed() {
    let dir = tempdir().unwrap();
    let p = ["--max", "10", "--cooldown", "60s"];
    assert_eq!(code(dir.path(), 0.0, &p), 0);
    at(dir.path(), 30.0, 0.0, &p)
        .run()
        .expect_code(1)
        .stdout_has("next allowed in 30s");
    assert_eq!(code(dir.path(), 59.0, &p), 1);
    assert_eq!(code(dir.path(), 60.0, &p), 0);
}

#[test]
fn the_window_slides() {
    let dir = tempdir().unwrap();
    let p = ["--max", "3", "--per", "1h", "--cooldown", "0s"];
    for t in [0.0, 600.0, 1200.0] {
        assert_eq!(code(dir.path(), t, &p), 0, "at {t}");
    }
    at(dir.path(), 1800.0, 0.0, &p)
        .run()
        .expect_code(2)
        .stdout_has("(3/3 in 1h, next allowed in 30m)");
    assert_eq!(code(dir.path(), 3599.0, &p), 2);
    // The attempt at 0 left the window; the one at 600 has not.
    assert_eq!(code(dir.path(), 3600.0, &p), 0);
    assert_eq!(code(dir.path(), 3700.0, &p), 2);
    assert_eq!(code(dir.path(), 4200.0, &p), 0);
}

#[test]
fn backoff_grows_to_its_cap_and_resets_after_quiet() {
    let dir = tempdir().unwrap();
    let p = ["--max", "10", "--cooldown", "10s", "--backoff-max", "40s"];
    // Gaps 10, 20, 40, 40: each attempt exactly when allowed, and one second
    // before it is held.
    let mut t = 0.0;
    assert_eq!(code(dir.path(), t, &p), 0);
    for gap in [10.0, 20.0, 40.0, 40.0] {
        assert_eq!(code(dir.path(), t + gap - 1.0, &p), 1, "before {}", t + gap);
        t += gap;
        assert_eq!(code(dir.path(), t, &p), 0, "at {t}");
    }
    // Quiet for 2 x cap (80 s): back to the 10 s cooldown.
    t += 80.0;
    assert_eq!(code(dir.path(), t, &p), 0);
    assert_eq!(code(dir.path(), t + 10.0, &p), 0);
}

#[test]
fn a_wall_clock_jumping_back_neither_resets_the_budget_nor_blocks_forever() {
    let dir = tempdir().unwrap();
    let p = ["--max", "2", "--per", "1h", "--cooldown", "0s"];
    assert_eq!(code(dir.path(), 0.0, &p), 0);
    assert_eq!(code(dir.path(), 10.0, &p), 0);
    // NTP steps the clock back a day: the two attempts still count.
    at(dir.path(), 20.0, -86_400.0, &p).run().expect_code(2);
    // An hour of boot time later the budget is back, although the wall clock
    // still reads a day before the attempts were made.
    at(dir.path(), 3610.0, -86_400.0, &p).run().expect_code(0);
    assert_eq!(
        decisions(dir.path()),
        ["restarted", "restarted", "held-budget", "restarted"]
    );
}

#[test]
fn a_wall_clock_jumping_forward_does_not_empty_the_window() {
    let dir = tempdir().unwrap();
    let p = ["--max", "1", "--per", "1h", "--cooldown", "0s"];
    assert_eq!(code(dir.path(), 0.0, &p), 0);
    at(dir.path(), 60.0, 86_400.0, &p).run().expect_code(2);
}

#[test]
fn escalation_repeats_only_after_escalate_every() {
    let dir = tempdir().unwrap();
    let calls = dir.path().join("calls");
    let notifier = format!(
        "sh -c 'echo \"$SELFHEAL_NAME $SELFHEAL_RESTARTS_IN_WINDOW/$SELFHEAL_MAX\" >> {}'",
        calls.display()
    );
    let p = [
        "--max",
        "1",
        "--per",
        "1h",
        "--cooldown",
        "0s",
        "--escalate-every",
        "10m",
        "--on-exhausted",
        notifier.as_str(),
    ];
    assert_eq!(code(dir.path(), 0.0, &p), 0);
    for t in [1.0, 60.0, 600.0, 601.0, 1200.0, 1201.0] {
        assert_eq!(code(dir.path(), t, &p), 2);
    }
    let text = std::fs::read_to_string(&calls).unwrap();
    // At 1 s, 601 s and 1201 s: 10 minutes apart, never closer.
    assert_eq!(text, "svc 1/1\nsvc 1/1\nsvc 1/1\n");
    // Once a restart is allowed again the exhaustion is over; the next one
    // escalates at once.
    assert_eq!(code(dir.path(), 3600.0, &p), 0);
    assert_eq!(code(dir.path(), 3601.0, &p), 2);
    assert_eq!(std::fs::read_to_string(&calls).unwrap().lines().count(), 4);
}

#[test]
fn a_failed_last_attempt_escalates_at_once_and_only_once() {
    let dir = tempdir().unwrap();
    let calls = dir.path().join("calls");
    let notifier = format!(
        "sh -c 'echo \"$SELFHEAL_DECISION $SELFHEAL_LAST_OUTCOME\" >> {}'",
        calls.display()
    );
    let failing = |t: f64| {
        guard(dir.path())
            .env("SELFHEAL_FAKE_CLOCK", format!("unix={}", T0 + t))
            .args(["--name", "svc", "--max", "2", "--cooldown", "0s"])
            .args(["--on-exhausted", notifier.as_str(), "--", "false"])
            .run()
    };
    failing(0.0)
        .expect_code(2)
        .stdout_has("restart of svc failed: exit 1");
    assert!(!calls.exists(), "budget not used up yet: no escalation");
    failing(10.0)
        .expect_code(2)
        .stdout_has("(2/2 in 1h, next allowed in 59m50s); escalated");
    failing(20.0)
        .expect_code(2)
        .stdout_has("already escalated 10s ago");
    let text = std::fs::read_to_string(&calls).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("failed failed at "), "{text}");
    assert_eq!(
        decisions(dir.path()),
        ["failed", "failed", "escalated", "held-budget"]
    );
}
