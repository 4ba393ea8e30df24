//! Running the three outside commands: CMD, the --verify check and the
//! --on-exhausted notifier. All go through `selfheal_core::command` (argv,
//! own process group, whole-run deadline, group killed on timeout); their
//! stdout goes to our stderr so our own stdout stays one line or one object.

use crate::audit::Decision;
use crate::cli::GuardArgs;
use selfheal_core::command::{self, Spec};
use selfheal_core::interrupt::Interrupts;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where `execvp` looks when `$PATH` is unset (glibc's default).
const DEFAULT_PATH: &str = "/bin:/usr/bin";

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

/// Finds `program` the way `execvp` will (a name with a `/` as given, else
/// the first executable in `$PATH`), so a typo in a unit is a usage error
/// (exit 3) before any attempt is counted, not a failed restart (exit 2)
/// that burns the budget and pages someone. `what` names the flag.
pub fn resolve(what: &str, program: &OsStr) -> Result<PathBuf, String> {
    let shown = program.to_string_lossy();
    if program.as_bytes().contains(&b'/') {
        return executable(Path::new(program)).map_err(|why| format!("{what} '{shown}' {why}"));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| executable(candidate).is_ok())
        .ok_or_else(|| {
            format!(
                "{what} '{shown}' not found in $PATH ({}): check the spelling or give its full path",
                path.to_string_lossy()
            )
        })
}

/// Ok when `path` is a file someone may execute; else why not.
fn executable(path: &Path) -> Result<PathBuf, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot be run: {e}"))?;
    if meta.is_dir() {
        return Err("is a directory, not a program".into());
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err("is not executable (no x permission bit)".into());
    }
    Ok(path.to_path_buf())
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
        },
        Err(err) => Ran {
            ok: false,
            exit_status: None,
            outcome: err.to_string(),
            duration: started.elapsed(),
            interrupted: false,
        },
    }
}
