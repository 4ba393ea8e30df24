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

use crate::audit::Window;
use crate::history::{History, PolicySnapshot};
use selfheal_core::clock::Stamp;
use selfheal_core::duration::{self, human};
use std::time::Duration;

/// The default policy, stated once: `--max 3 --per 1h --cooldown 60s`.
pub const DEFAULT_MAX: u32 = 3;
pub const DEFAULT_PER: &str = "1h";
pub const DEFAULT_COOLDOWN: &str = "60s";

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
pub struct Judgement {
    pub verdict: Verdict,
    /// Attempts inside the window now.
    pub in_window: u32,
    /// How long until a restart would be allowed (zero when allowed now).
    pub wait: Duration,
}

impl Policy {
    /// The policy of the flags, or why they make no sense together.
    /// `backoff_reset` defaults to twice `backoff_max` (with backoff) or
    /// the cooldown (without).
    pub fn checked(
        max: u32,
        per: Duration,
        cooldown: Duration,
        backoff_max: Option<Duration>,
        backoff_reset: Option<Duration>,
    ) -> Result<Policy, String> {
        if per.is_zero() {
            return Err(
                "--per must be longer than 0s: it is the window the budget applies to".into(),
            );
        }
        if let Some(cap) = backoff_max {
            if cooldown.is_zero() {
                return Err("--backoff-max needs a --cooldown above 0s to double from".into());
            }
            if cap < cooldown {
                return Err(format!(
                    "--backoff-max ({}) must be at least --cooldown ({})",
                    human(cap),
                    human(cooldown)
                ));
            }
        }
        let policy = Policy {
            max: max.max(1),
            per,
            cooldown,
            backoff_max,
            backoff_reset: backoff_reset
                .or(backoff_max.map(|cap| cap * 2))
                .unwrap_or(cooldown),
        };
        match policy.unreachable() {
            Some(why) => Err(why),
            None => Ok(policy),
        }
    }

    /// Why `max` attempts can never fall in one window, if they cannot:
    /// the shortest the gaps allow from the first to the max-th attempt
    /// is not shorter than `per`, so the budget never runs out and
    /// --on-exhausted never fires.
    fn unreachable(&self) -> Option<String> {
        let (fit, span) = reach::fitting(self)?;
        let gaps = match self.backoff_max {
            None => format!(
                "{} gap(s) of --cooldown {}",
                self.max - 1,
                human(self.cooldown)
            ),
            Some(cap) => format!(
                "gaps from --cooldown {} doubling up to --backoff-max {}",
                human(self.cooldown),
                human(cap)
            ),
        };
        Some(format!(
            "--max {max} can never be reached: attempt {max} comes at least {} after the first \
             ({gaps}), outside the {} window (--per), so at most {fit} attempt(s) fit in one; \
             give --max {fit}, a shorter --cooldown, or a longer --per",
            human(span),
            human(self.per),
            max = self.max,
        ))
    }

    /// The policy a name was last judged by, else the default.
    #[must_use]
    pub fn of(history: &History) -> Policy {
        history
            .policy
            .as_ref()
            .map_or_else(Policy::default, Policy::from)
    }

    /// The record fields that describe the budget after a decision.
    #[must_use]
    pub fn window(&self, judgement: &Judgement, now: &Stamp) -> Window {
        Window {
            restarts_in_window: judgement.in_window,
            max: self.max,
            per: self.per,
            next_allowed_unix: Some(now.unix_after(judgement.wait)),
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        let parse = |text| duration::parse(text).unwrap_or_default();
        let (per, cooldown) = (parse(DEFAULT_PER), parse(DEFAULT_COOLDOWN));
        Policy {
            max: DEFAULT_MAX,
            per,
            cooldown,
            backoff_max: None,
            backoff_reset: cooldown,
        }
    }
}

impl From<&Policy> for PolicySnapshot {
    fn from(p: &Policy) -> Self {
        PolicySnapshot {
            max: p.max,
            per_seconds: p.per.as_secs_f64(),
            cooldown_seconds: p.cooldown.as_secs_f64(),
            backoff_max_seconds: p.backoff_max.map(|d| d.as_secs_f64()),
            backoff_reset_seconds: p.backoff_reset.as_secs_f64(),
        }
    }
}

impl From<&PolicySnapshot> for Policy {
    fn from(s: &PolicySnapshot) -> Self {
        let secs = |s: f64| Duration::try_from_secs_f64(s.max(0.0)).unwrap_or_default();
        Policy {
            max: s.max.max(1),
            per: secs(s.per_seconds),
            cooldown: secs(s.cooldown_seconds),
            backoff_max: s.backoff_max_seconds.map(secs),
            backoff_reset: secs(s.backoff_reset_seconds),
        }
    }
}

/// Judges whether an attempt may start at `now`.
#[must_use]
pub fn judge(state: &History, now: &Stamp, policy: &Policy) -> Judgement {
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
    Judgement {
        verdict,
        in_window: u32::try_from(in_window.len()).unwrap_or(u32::MAX),
        wait: budget_wait.max(gap_wait),
    }
}

/// Records an attempt that starts at `now`: it joins the window (pruned to
/// what the policy can still need) and extends or restarts the backoff streak.
pub fn record_attempt(state: &mut History, now: &Stamp, policy: &Policy) {
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
pub fn escalation_due(state: &History, now: &Stamp, every: Duration) -> bool {
    state
        .escalated_at
        .as_ref()
        .is_none_or(|at| now.elapsed_since(at) >= every)
}

/// Attempts inside the window ending at `now`, oldest first.
fn window<'a>(state: &'a History, now: &Stamp, per: Duration) -> Vec<&'a Stamp> {
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

/// How many attempts the gaps let into one window.
mod reach {
    use super::{Policy, required_gap};
    use std::time::Duration;

    /// Past this many attempts the search stops and the policy is taken
    /// as reachable (only a window of over 100 000 cooldowns gets there).
    const SEARCH: u32 = 100_000;

    /// `(attempts that fit, shortest span to the max-th)` when `max`
    /// attempts cannot fit in `per`; `None` when they can.
    ///
    /// Breadth-first over the streak after each attempt: the next one
    /// comes at the earliest allowed gap (the streak grows, or starts
    /// over when that gap is at least --backoff-reset), or after
    /// --backoff-reset (the streak starts over, gaps shrink). Waiting any
    /// other time is never quicker.
    pub fn fitting(policy: &Policy) -> Option<(u32, Duration)> {
        if policy.cooldown.is_zero() {
            return None;
        }
        // The streak at which the gap stops growing; beyond, all alike.
        let top = (1..64)
            .find(|&s| required_gap(s, policy) >= policy.backoff_max.unwrap_or_default())
            .unwrap_or(64);
        // Earliest time of the current attempt, by streak (index = streak).
        let mut earliest: Vec<Option<Duration>> = vec![None; top as usize + 1];
        earliest[1] = Some(Duration::ZERO);
        let mut fit = None;
        let mut soonest = Duration::ZERO;
        for attempt in 2..=policy.max.min(SEARCH) {
            let mut next = vec![None; earliest.len()];
            for (streak, at) in earliest.iter().enumerate() {
                let Some(at) = *at else { continue };
                let gap = required_gap(u32::try_from(streak).unwrap_or(64), policy);
                let grown = if gap >= policy.backoff_reset {
                    1
                } else {
                    (streak + 1).min(top as usize)
                };
                keep_min(&mut next[grown], at + gap);
                keep_min(&mut next[1], at + gap.max(policy.backoff_reset));
            }
            earliest = next;
            soonest = earliest.iter().flatten().min().copied()?;
            if soonest >= policy.per && fit.is_none() {
                fit = Some(attempt - 1);
            }
        }
        fit.map(|fit| (fit, soonest))
    }

    fn keep_min(slot: &mut Option<Duration>, candidate: Duration) {
        if slot.is_none_or(|d| candidate < d) {
            *slot = Some(candidate);
        }
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
