//! Running the three outside commands: CMD, the --verify check and the
//! --on-exhausted notifier. All go through `selfheal_core::command` (argv,
//! own process group, whole-run deadline, group killed on timeout); their
//! stdout goes to our stderr so our own stdout stays one line or one object.

use crate::audit::Decision;
use crate::cli::GuardArgs;
use selfheal_core::command::{self, Spec};
use selfheal_core::interrupt::Interrupts;
use std::ffi::OsString;
use std::time::{Duration, Instant};

/// How one outside command ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Ran {
    pub ok: bool,
    pub exit_status: Option<i32>,
    /// `exit 0`, `timed out after 2m`, `cannot run x: ...`.
    pub outcome: String,
    pub duration: Duration,
    /// We were told to stop while it ran, and stopped its group.
    pub interrupted: bool,
    /// `execve` failed: nothing ran (the program vanished or changed
    /// after the checks made before the attempt).
    pub not_started: bool,
}

/// CMD, then (if it succeeded and --verify is given) the settle wait and
/// the verification; the decision says how it went.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub decision: Decision,
    pub exit_status: Option<i32>,
    pub outcome: String,
    pub duration: Duration,
}

/// Runs CMD and the optional verification. Told to stop (`interrupts`)
/// while either runs, or while settling, it stops what runs and says so.
#[must_use]
pub fn attempt(
    args: &GuardArgs,
    env: &[(OsString, OsString)],
    interrupts: Option<&Interrupts>,
) -> Attempt {
    let started = Instant::now();
    let cmd = run(args.command.clone(), args.timeout, env, interrupts);
    let done = |decision, outcome: String| Attempt {
        decision,
        exit_status: cmd.exit_status,
        outcome,
        duration: started.elapsed(),
    };
    if cmd.not_started {
        let outcome = format!(
            "{} (it passed the checks before the attempt: was it removed or changed since?)",
            cmd.outcome
        );
        return done(Decision::NotRun, outcome);
    }
    if cmd.interrupted {
        return done(Decision::Interrupted, cmd.outcome.clone());
    }
    if !cmd.ok {
        return done(Decision::Failed, cmd.outcome.clone());
    }
    let Some(verify) = &args.verify else {
        return done(Decision::Restarted, cmd.outcome.clone());
    };
    if let Some(signal) = settle(args.settle, interrupts) {
        let outcome = format!("{}; interrupted by {signal} before --verify", cmd.outcome);
        return done(Decision::Interrupted, outcome);
    }
    let verifier = verify.0.iter().map(OsString::from).collect();
    let check = run(verifier, args.verify_timeout, env, interrupts);
    let outcome = format!("{}; verify {}", cmd.outcome, check.outcome);
    match (check.interrupted, check.ok) {
        (true, _) => done(Decision::Interrupted, outcome),
        (false, true) => done(Decision::Verified, outcome),
        (false, false) => done(Decision::VerifyFailed, outcome),
    }
}

/// Waits `--settle`; the name of a stop signal that cut it short.
fn settle(wait: Duration, interrupts: Option<&Interrupts>) -> Option<String> {
    let end = Instant::now() + wait;
    loop {
        if let Some(signal) = interrupts.and_then(Interrupts::received) {
            return Some(selfheal_core::interrupt::signal_name(signal));
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// Runs one command to completion or its deadline (or, when `interrupts`
/// is given, until we are told to stop).
#[must_use]
pub fn run(
    argv: Vec<OsString>,
    timeout: Duration,
    env: &[(OsString, OsString)],
    interrupts: Option<&Interrupts>,
) -> Ran {
    let mut spec = Spec::new(argv, timeout);
    spec.stdout_to_stderr = true;
    spec.env = env.to_vec();
    let started = Instant::now();
    let finished = match interrupts {
        Some(interrupts) => command::run_until_stopped(&spec, interrupts),
        None => command::run(&spec),
    };
    match finished {
        Ok(done) => Ran {
            ok: done.status.is_some_and(|s| s.success()),
            exit_status: done.status.and_then(|s| s.code()),
            outcome: done.describe(),
            duration: done.elapsed,
            interrupted: done.interrupted.is_some(),
            not_started: false,
        },
        Err(err) => Ran {
            ok: false,
            exit_status: None,
            outcome: err.to_string(),
            duration: started.elapsed(),
            interrupted: false,
            not_started: command::never_started(&err),
        },
    }
}
