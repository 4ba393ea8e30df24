//! Running the three outside commands: CMD, the --verify check and the
//! --on-exhausted notifier. All go through `selfheal_core::command` (argv,
//! own process group, whole-run deadline, group killed on timeout); their
//! stdout goes to our stderr so our own stdout stays one line or one object.

use crate::audit::Decision;
use crate::cli::GuardArgs;
use selfheal_core::command::{self, Spec};
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
            outcome: done.describe(),
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
