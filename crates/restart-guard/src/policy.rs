//! The decision, as a pure function of the stored history, the clock reading
//! and the policy: no I/O, so it is tested over simulated time.
//!
//! Every interval is measured with [`Stamp::elapsed_since`], never by
//! comparing wall-clock seconds. Within one boot that is `CLOCK_BOOTTIME`,
//! which an NTP step or a VM resume cannot move backwards, so a clock set
//! back neither empties the window (resetting the budget) nor makes the last
//! restart look like it lies in the future (blocking restarts forever).
//! Across a reboot it is the wall difference but at least the uptime, so a
//! bad RTC delays restarts by at most one window of real time.
//!
//! Three limits, checked in this order:
//! - budget: at most `max` attempts in any sliding window of `per`
//!   (systemd's StartLimitBurst= uses a fixed window anchored at the first
//!   start; a sliding one cannot be beaten by timing restarts around the
//!   window edge);
//! - backoff: after the k-th attempt of a streak the next one waits
//!   `cooldown * 2^(k-1)`, capped at `backoff_max` (Kubernetes'
//!   CrashLoopBackOff doubles 10 s up to 300 s);
//! - quiet period: a streak ends when no attempt happened for `backoff_reset`
//!   (Kubernetes forgives after 2 x its cap, which is our default too).

use crate::store::GuardState;
use selfheal_core::clock::Stamp;
use std::time::Duration;

/// The limits one invocation applies.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub max: u32,
    pub per: Duration,
    pub cooldown: Duration,
    /// `None`: no backoff, every gap is the cooldown.
    pub backoff_max: Option<Duration>,
    /// Time without attempts after which backoff starts over.
    pub backoff_reset: Duration,
}

/// What the policy says right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Too soon after the last attempt (cooldown or backoff).
    Cooldown,
    /// `max` attempts already in the window.
    Budget,
}

/// The verdict with the numbers behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub verdict: Verdict,
    /// Attempts inside the window now.
    pub in_window: u32,
    /// How long until a restart would be allowed (zero when allowed now).
    pub wait: Duration,
}

/// Decides whether an attempt may start at `now`.
#[must_use]
pub fn decide(state: &GuardState, now: &Stamp, policy: &Policy) -> Decision {
    let in_window = window(state, now, policy.per);
    let budget_wait = budget_wait(&in_window, now, policy);
    let gap_wait = state.last_attempt.as_ref().map_or(Duration::ZERO, |last| {
        required_gap(state.streak, policy).saturating_sub(now.elapsed_since(last))
    });
    let verdict = if !budget_wait.is_zero() {
        Verdict::Budget
    } else if !gap_wait.is_zero() {
        Verdict::Cooldown
    } else {
        Verdict::Allow
    };
    Decision {
        verdict,
        in_window: u32::try_from(in_window.len()).unwrap_or(u32::MAX),
        wait: budget_wait.max(gap_wait),
    }
}

/// Records an attempt that starts at `now`: it joins the window (pruned to
/// what the policy can still need) and extends or restarts the backoff streak.
pub fn record_attempt(state: &mut GuardState, now: &Stamp, policy: &Policy) {
    let quiet = state
        .last_attempt
        .as_ref()
        .is_none_or(|last| now.elapsed_since(last) >= policy.backoff_reset);
    state.streak = if quiet {
        1
    } else {
        state.streak.saturating_add(1)
    };
    state.attempts.retain(|a| now.elapsed_since(a) < policy.per);
    state.attempts.push(now.clone());
    // Only the newest `max` attempts can ever decide the budget.
    let excess = state.attempts.len().saturating_sub(policy.max as usize);
    state.attempts.drain(..excess);
    state.last_attempt = Some(now.clone());
}

/// Gap required after the `streak`-th attempt of a streak.
#[must_use]
pub fn required_gap(streak: u32, policy: &Policy) -> Duration {
    let Some(cap) = policy.backoff_max else {
        return policy.cooldown;
    };
    let doublings = streak.saturating_sub(1).min(63);
    let factor = 1u64 << doublings;
    let gap = policy
        .cooldown
        .checked_mul(u32::try_from(factor).unwrap_or(u32::MAX))
        .unwrap_or(cap);
    gap.min(cap).max(policy.cooldown)
}

/// Whether the notifier is due: never called in this exhaustion yet, or
/// the last call is at least `every` ago.
#[must_use]
pub fn escalation_due(state: &GuardState, now: &Stamp, every: Duration) -> bool {
    state
        .escalated_at
        .as_ref()
        .is_none_or(|at| now.elapsed_since(at) >= every)
}

/// Attempts inside the window ending at `now`, oldest first.
fn window<'a>(state: &'a GuardState, now: &Stamp, per: Duration) -> Vec<&'a Stamp> {
    state
        .attempts
        .iter()
        .filter(|a| now.elapsed_since(a) < per)
        .collect()
}

/// Time until the window holds fewer than `max` attempts.
fn budget_wait(in_window: &[&Stamp], now: &Stamp, policy: &Policy) -> Duration {
    let max = policy.max as usize;
    if in_window.len() < max {
        return Duration::ZERO;
    }
    // The attempt whose expiry brings the count down to max - 1.
    let leaving = in_window[in_window.len() - max];
    policy
        .per
        .saturating_sub(now.elapsed_since(leaving))
        .max(Duration::from_millis(1))
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
