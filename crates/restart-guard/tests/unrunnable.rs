//! A CMD the caller cannot run: refused before anything is counted (exit
//! 3, no state, no audit line), whether its permissions shut this user out
//! or its `#!` interpreter is missing; and when it vanishes between those
//! checks and the exec, the run is UNKNOWN, audited `not-run`, and the
//! budget stays whole.

mod common;

use common::{decisions, guard, is_root, tree};
use selfheal_test_support::{Cmd, tempdir};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn script(path: &Path, text: &str, mode: u32) -> PathBuf {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    path.to_path_buf()
}

#[test]
fn a_script_only_its_owner_may_run_is_refused_for_another_user() {
    let dir = tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let state = dir.path().join("state");
    fs::create_dir(&state).unwrap();
    let count = dir.path().join("count");
    let body = format!("#!/bin/sh\necho run >> '{}'\n", count.display());
    let run = if is_root() {
        // root's 0700 script, the guard run as nobody in a state dir of its own.
        let cmd = script(&dir.path().join("restart.sh"), &body, 0o700);
        std::os::unix::fs::chown(&state, Some(65534), Some(65534)).unwrap();
        Cmd::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(common::BIN)
            .arg("--state-dir")
            .arg(&state)
            .args(["--name", "svc", "--"])
            .arg(&cmd)
            .run()
    } else {
        // Not root: execute bits for group and others, none for us, the owner.
        let cmd = script(&dir.path().join("restart.sh"), &body, 0o755 & !0o100);
        guard(&state).args(["--name", "svc", "--"]).arg(&cmd).run()
    };
    let run = run
        .expect_code(3)
        .stdout_has("restart.sh' is not executable by uid")
        .stdout_has("Permission denied");
    assert!(tree(&state).is_empty(), "{:?}\n{run}", tree(&state));
    assert!(!count.exists());
}

#[test]
fn a_script_whose_interpreter_is_missing_is_refused_naming_the_interpreter() {
    let dir = tempdir().unwrap();
    let state = dir.path().join("state");
    let cmd = script(
        &dir.path().join("restart.sh"),
        "#!/nonexistent/interp\nexit 0\n",
        0o755,
    );
    guard(&state)
        .args(["--name", "svc", "--"])
        .arg(&cmd)
        .run()
        .expect_code(3)
        .stdout_has("restart.sh' is a script whose '#!' line names /nonexistent/interp, which cannot be run: No such file");
    assert!(tree(&state).is_empty(), "{:?}", tree(&state));
}

/// Whether process `pid` has `path` open.
fn has_open(pid: u32, path: &Path) -> bool {
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten()
        .any(|fd| fs::read_link(fd.path()).is_ok_and(|target| target == path))
}

#[test]
fn a_cmd_removed_after_the_checks_is_unknown_audited_and_not_counted() {
    let dir = tempdir().unwrap();
    let state = dir.path().join("state");
    let cmd = script(&dir.path().join("restart.sh"), "#!/bin/sh\n", 0o755);
    // Hold the name's lock as a run in progress would: the guard checks
    // CMD, then waits for the lock with the lock file open.
    let lock_path = state.join("restart-guard").join("svc.lock");
    fs::create_dir_all(lock_path.parent().unwrap()).unwrap();
    let lock = fs::File::create(&lock_path).unwrap();
    lock.lock().unwrap();
    let mut waiting = guard(&state)
        .args(["--name", "svc", "--max", "1", "--wait", "60s", "--"])
        .arg(&cmd)
        .spawn();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !has_open(waiting.id(), &lock_path) {
        assert!(
            Instant::now() < deadline,
            "the guard never reached the lock"
        );
        assert!(waiting.child().try_wait().unwrap().is_none(), "it ended");
        std::thread::sleep(Duration::from_millis(10));
    }
    fs::remove_file(&cmd).unwrap();
    lock.unlock().unwrap();
    let out = waiting.into_inner().wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.starts_with("RESTART UNKNOWN - restart of svc not attempted: cannot run"),
        "{stdout}"
    );
    assert!(
        stdout.contains("not counted against the budget (0/1 in 1h"),
        "{stdout}"
    );
    assert_eq!(decisions(&state), ["not-run"]);
    // The budget of one is whole, and no cooldown holds the next run back.
    script(&cmd, "#!/bin/sh\n", 0o755);
    guard(&state)
        .args(["--name", "svc", "--max", "1", "--"])
        .arg(&cmd)
        .run()
        .expect_code(0)
        .stdout_has("restarted svc (1/1 in 1h");
}
