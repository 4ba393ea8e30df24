//! The policy over simulated time: stamps are built by hand, nothing sleeps.

use super::*;

const H: f64 = 3600.0;

/// A stamp in boot "a" at boot-time `t`, wall clock in step with it.
fn at(t: f64) -> Stamp {
    Stamp {
        unix: 2_000_000_000.0 + t,
        boot_id: "a".into(),
        uptime: t,
    }
}

fn policy(max: u32, per: f64, cooldown: f64) -> Policy {
    Policy {
        max,
        per: Duration::from_secs_f64(per),
        cooldown: Duration::from_secs_f64(cooldown),
        backoff_max: None,
        backoff_reset: Duration::from_secs_f64(cooldown),
    }
}

fn backoff(cooldown: f64, cap: f64, reset: f64) -> Policy {
    Policy {
        max: 1000,
        per: Duration::from_secs(86_400),
        cooldown: Duration::from_secs_f64(cooldown),
        backoff_max: Some(Duration::from_secs_f64(cap)),
        backoff_reset: Duration::from_secs_f64(reset),
    }
}

/// Attempts at the given times, each one allowed by the policy.
fn history(p: &Policy, times: &[f64]) -> History {
    let mut state = History::default();
    for &t in times {
        assert_eq!(
            judge(&state, &at(t), p).verdict,
            Verdict::Allow,
            "attempt at {t}"
        );
        record_attempt(&mut state, &at(t), p);
    }
    state
}

#[test]
fn first_restart_is_allowed() {
    let d = judge(&History::default(), &at(0.0), &policy(3, H, 60.0));
    assert_eq!(
        (d.verdict, d.in_window, d.wait),
        (Verdict::Allow, 0, Duration::ZERO)
    );
}

#[test]
fn cooldown_holds_then_releases_to_the_second() {
    let p = policy(3, H, 60.0);
    let state = history(&p, &[0.0]);
    let d = judge(&state, &at(59.0), &p);
    assert_eq!(
        (d.verdict, d.wait),
        (Verdict::Cooldown, Duration::from_secs(1))
    );
    assert_eq!(judge(&state, &at(60.0), &p).verdict, Verdict::Allow);
}

#[test]
fn budget_is_a_sliding_window() {
    let p = policy(3, H, 60.0);
    let state = history(&p, &[0.0, 100.0, 200.0]);
    let d = judge(&state, &at(300.0), &p);
    assert_eq!(d.verdict, Verdict::Budget);
    assert_eq!(d.in_window, 3);
    // The oldest attempt leaves the window at 3600 s.
    assert_eq!(d.wait, Duration::from_secs(3300));
    assert_eq!(judge(&state, &at(3599.0), &p).verdict, Verdict::Budget);
    let d = judge(&state, &at(3600.0), &p);
    assert_eq!((d.verdict, d.in_window), (Verdict::Allow, 2));
    // Sliding, not fixed: one slot frees per leaving attempt.
    let state = history(&p, &[0.0, 100.0, 200.0, 3600.0]);
    assert_eq!(judge(&state, &at(3660.0), &p).verdict, Verdict::Budget);
    assert_eq!(judge(&state, &at(3700.0), &p).verdict, Verdict::Allow);
}

#[test]
fn sliding_window_cannot_be_beaten_at_the_edge() {
    // systemd's fixed window would allow 3 just before and 3 just after its edge.
    let p = policy(3, H, 1.0);
    let state = history(&p, &[3590.0, 3595.0, 3599.0]);
    assert_eq!(judge(&state, &at(3601.0), &p).verdict, Verdict::Budget);
}

#[test]
fn backoff_doubles_from_the_cooldown_up_to_the_cap() {
    let p = backoff(10.0, 300.0, 600.0);
    let gaps: Vec<u64> = (1..=7).map(|k| required_gap(k, &p).as_secs()).collect();
    assert_eq!(gaps, [10, 20, 40, 80, 160, 300, 300]);
    assert_eq!(required_gap(200, &p).as_secs(), 300);
    // Growth through real decisions: 0, +10, +20, +40.
    let state = history(&p, &[0.0, 10.0, 30.0, 70.0]);
    assert_eq!(state.streak, 4);
    assert_eq!(judge(&state, &at(149.0), &p).verdict, Verdict::Cooldown);
    assert_eq!(judge(&state, &at(150.0), &p).verdict, Verdict::Allow);
}

#[test]
fn backoff_resets_after_a_quiet_period() {
    let p = backoff(10.0, 300.0, 600.0);
    let mut state = history(&p, &[0.0, 10.0, 30.0, 70.0, 150.0]);
    assert_eq!(state.streak, 5);
    // 599 s of quiet: the streak goes on.
    let mut s2 = state.clone();
    record_attempt(&mut s2, &at(749.0), &p);
    assert_eq!(s2.streak, 6);
    // 600 s of quiet: back to the first step.
    record_attempt(&mut state, &at(750.0), &p);
    assert_eq!(state.streak, 1);
    assert_eq!(judge(&state, &at(760.0), &p).verdict, Verdict::Allow);
}

#[test]
fn without_backoff_every_gap_is_the_cooldown() {
    let p = policy(100, H, 60.0);
    assert_eq!(required_gap(9, &p), Duration::from_secs(60));
}

#[test]
fn wall_clock_jumping_back_neither_resets_nor_blocks() {
    let p = policy(3, H, 60.0);
    let state = history(&p, &[0.0, 100.0, 200.0]);
    // 10 minutes later by boot time, but the wall clock was set back a day.
    let jumped = Stamp {
        unix: 2_000_000_000.0 + 800.0 - 86_400.0,
        ..at(800.0)
    };
    let d = judge(&state, &jumped, &p);
    assert_eq!((d.verdict, d.in_window), (Verdict::Budget, 3));
    assert_eq!(d.wait, Duration::from_secs(2800));
    // And when an hour of boot time has passed, it is allowed again,
    // although the wall clock still reads earlier than the attempts.
    let later = Stamp {
        unix: 2_000_000_000.0 + 3600.0 - 86_400.0,
        ..at(3600.0)
    };
    assert_eq!(judge(&state, &later, &p).verdict, Verdict::Allow);
}

#[test]
fn wall_clock_jumping_forward_does_not_empty_the_window() {
    let p = policy(3, H, 60.0);
    let state = history(&p, &[0.0, 100.0, 200.0]);
    let jumped = Stamp {
        unix: 2_000_000_000.0 + 86_400.0,
        ..at(300.0)
    };
    assert_eq!(judge(&state, &jumped, &p).verdict, Verdict::Budget);
}

#[test]
fn after_a_reboot_with_a_bad_rtc_uptime_bounds_the_wait() {
    let p = policy(3, H, 60.0);
    let state = history(&p, &[0.0, 100.0, 200.0]);
    // New boot, RTC a year behind, 10 minutes up: still held (window is 1 h).
    let rebooted = Stamp {
        unix: 2_000_000_000.0 - 31_536_000.0,
        boot_id: "b".into(),
        uptime: 600.0,
    };
    assert_eq!(judge(&state, &rebooted, &p).verdict, Verdict::Budget);
    // After an hour of uptime, allowed whatever the wall clock says.
    let later = Stamp {
        uptime: 3600.0,
        ..rebooted
    };
    assert_eq!(judge(&state, &later, &p).verdict, Verdict::Allow);
}

#[test]
fn window_keeps_at_most_max_attempts() {
    let p = policy(2, H, 0.0);
    let state = history(&p, &[0.0, 1.0]);
    let mut state = state;
    record_attempt(&mut state, &at(3600.5), &p);
    assert_eq!(state.attempts.len(), 2);
    assert_eq!(state.attempts[0], at(1.0));
}

#[test]
fn escalation_is_due_once_per_period() {
    let mut state = History::default();
    let every = Duration::from_secs(3600);
    assert!(escalation_due(&state, &at(0.0), every));
    state.escalated_at = Some(at(0.0));
    assert!(!escalation_due(&state, &at(3599.0), every));
    assert!(escalation_due(&state, &at(3600.0), every));
}

#[test]
fn the_default_is_3_per_hour_60s_apart_and_round_trips_as_stored() {
    let p = Policy::default();
    assert_eq!(
        (p.max, p.per, p.cooldown, p.backoff_reset),
        (
            3,
            Duration::from_secs(3600),
            Duration::from_secs(60),
            p.cooldown
        )
    );
    assert_eq!(Policy::of(&History::default()), p);
    let stored = History {
        policy: Some(PolicySnapshot::from(&backoff(10.0, 300.0, 600.0))),
        ..History::default()
    };
    assert_eq!(Policy::of(&stored), backoff(10.0, 300.0, 600.0));
}

#[test]
fn checked_refuses_what_cannot_work_and_fills_the_reset() {
    let s = Duration::from_secs;
    assert!(Policy::checked(3, Duration::ZERO, s(60), None, None).is_err());
    assert!(Policy::checked(3, s(3600), Duration::ZERO, Some(s(60)), None).is_err());
    let err = Policy::checked(3, s(3600), s(60), Some(s(30)), None).unwrap_err();
    assert_eq!(err, "--backoff-max (30s) must be at least --cooldown (1m)");
    let p = Policy::checked(3, s(3600), s(10), Some(s(300)), None).unwrap();
    assert_eq!(p.backoff_reset, s(600));
    assert_eq!(
        Policy::checked(3, s(3600), s(10), None, None)
            .unwrap()
            .backoff_reset,
        s(10)
    );
}

#[test]
fn a_budget_the_gaps_can_never_fill_is_refused_with_the_arithmetic() {
    let s = Duration::from_secs;
    let err = Policy::checked(3, s(3600), s(7200), None, None).unwrap_err();
    assert_eq!(
        err,
        "--max 3 can never be reached: attempt 3 comes at least 4h after the first \
         (2 gap(s) of --cooldown 2h), outside the 1h window (--per), so at most 1 \
         attempt(s) fit in one; give --max 1, a shorter --cooldown, or a longer --per"
    );
    // 3 attempts 30m apart span 1h: the first has left the window.
    let err = Policy::checked(3, s(3600), s(1800), None, None).unwrap_err();
    assert!(err.contains("at most 2 attempt(s)"), "{err}");
    assert!(Policy::checked(3, s(3600), s(1799), None, None).is_ok());
    // Backoff 10, 20, 40, 40 ... s, or 10, 20, then 80 s of quiet to start
    // over (quicker on average): 100 attempts need at least 3590 s.
    let err = Policy::checked(100, s(3589), s(10), Some(s(40)), None).unwrap_err();
    assert!(err.contains("doubling up to --backoff-max 40s"), "{err}");
    assert!(err.contains("at least 59m50s"), "{err}");
    assert!(Policy::checked(100, s(3591), s(10), Some(s(40)), None).is_ok());
    // No cooldown: any --max fits.
    assert!(Policy::checked(u32::MAX, s(1), Duration::ZERO, None, None).is_ok());
}

#[test]
fn starting_the_streak_over_is_the_quicker_way_when_the_reset_is_short() {
    let s = Duration::from_secs;
    // Gaps 10, 20, 40 ... but after 15 s of quiet the streak starts over:
    // 15 s apart, 10 attempts take 9 x 15 - 5 = 130 s, where doubling
    // would take 10 + 20 + 40 + ... > 5000 s.
    assert!(Policy::checked(10, s(131), s(10), Some(s(1000)), Some(s(15))).is_ok());
    let err = Policy::checked(10, s(130), s(10), Some(s(1000)), Some(s(15))).unwrap_err();
    assert!(err.contains("at least 2m10s"), "{err}");
    assert!(err.contains("at most 9 attempt(s)"), "{err}");
}
