//! Running the three outside commands: CMD, the --verify check and the
//! --on-exhausted notifier. All go through `selfheal_core::command` (argv,
//! own process group, whole-run deadline, group killed on timeout); their
//! stdout goes to our stderr so our own stdout stays one line or one object.

use crate::audit::Decision;
use crate::cli::GuardArgs;
use selfheal_core::command::{self, Spec};
use selfheal_core::duration;
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

/// Runs CMD and the optional verification.
#[must_use]
pub fn attempt(args: &GuardArgs, env: &[(OsString, OsString)]) -> Attempt {
    let started = Instant::now();
    let cmd = run(args.command.clone(), args.timeout, env);
    let done = |decision, outcome: String| Attempt {
        decision,
        exit_status: cmd.exit_status,
        outcome,
        duration: started.elapsed(),
    };
    if !cmd.ok {
        return done(Decision::Failed, cmd.outcome.clone());
    }
    let Some(verify) = &args.verify else {
        return done(Decision::Restarted, cmd.outcome.clone());
    };
    std::thread::sleep(args.settle);
    let check = run(
        verify.0.iter().map(OsString::from).collect(),
        args.verify_timeout,
        env,
    );
    let outcome = format!("{}; verify {}", cmd.outcome, check.outcome);
    if check.ok {
        done(Decision::Verified, outcome)
    } else {
        done(Decision::VerifyFailed, outcome)
    }
}

/// Runs one command to completion or its deadline.
#[must_use]
pub fn run(argv: Vec<OsString>, timeout: Duration, env: &[(OsString, OsString)]) -> Ran {
    let mut spec = Spec::new(argv, timeout);
    spec.stdout_to_stderr = true;
    spec.env = env.to_vec();
    let started = Instant::now();
    match command::run(&spec) {
        Ok(done) => Ran {
            ok: done.status.is_some_and(|s| s.success()),
            exit_status: done.status.and_then(|s| s.code()),
            outcome: if done.timed_out() {
                format!("timed out after {}", duration::human(timeout))
            } else {
                done.describe()
            },
            duration: done.elapsed,
        },
        Err(err) => Ran {
            ok: false,
            exit_status: None,
            outcome: err.to_string(),
            duration: started.elapsed(),
        },
    }
}
