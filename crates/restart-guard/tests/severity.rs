//! `status` asks of a human what the situation needs: a service that came
//! back but has no restart left is a WARNING (exit 1), a failed or
//! unverified last attempt with none left is CRITICAL (2), and a human's
//! `reset` makes it OK (0).

mod common;

use common::guard;
use selfheal_test_support::{Run, tempdir};
use std::path::Path;

/// One restart with `--max 1` that ends as `cmd` and `verify` make it.
fn one_restart(dir: &Path, verify: Option<&str>, cmd: &str, code: i32) {
    let mut run = guard(dir).args(["--name", "svc", "--max", "1", "--settle", "0s"]);
    if let Some(check) = verify {
        run = run.args(["--verify", check]);
    }
    run.args(["--", cmd]).run().expect_code(code);
}

/// `restart-guard status svc`.
fn status(dir: &Path) -> Run {
    guard(dir).args(["status", "svc"]).run()
}

#[test]
fn exhausted_after_a_verified_restart_is_a_warning() {
    let dir = tempdir().unwrap();
    one_restart(dir.path(), Some("true"), "true", 0);
    status(dir.path())
        .expect_code(1)
        .stdout_has("RESTART WARNING - svc: 1/1 restarts in 1h used, 0 left")
        .stdout_has("exhausted after a verified restart: no restart left until ")
        .stdout_has(" UTC");
}

#[test]
fn exhausted_after_a_failed_or_unverified_attempt_is_critical() {
    let dir = tempdir().unwrap();
    one_restart(dir.path(), None, "false", 2);
    status(dir.path())
        .expect_code(2)
        .stdout_has("exhausted and the last attempt failed");
    let dir = tempdir().unwrap();
    one_restart(dir.path(), Some("false"), "true", 2);
    status(dir.path()).expect_code(2);
    let dir = tempdir().unwrap();
    one_restart(dir.path(), None, "true", 0);
    status(dir.path())
        .expect_code(2)
        .stdout_has("the last restart was not verified (no --verify)");
}

#[test]
fn a_refused_restart_after_a_verified_one_is_critical() {
    let dir = tempdir().unwrap();
    one_restart(dir.path(), Some("true"), "true", 0);
    // The probe still asks: the budget refuses, a human must look.
    one_restart(dir.path(), Some("true"), "true", 2);
    status(dir.path())
        .expect_code(2)
        .stdout_has("exhausted: a restart was refused");
}

#[test]
fn after_reset_status_is_ok() {
    let dir = tempdir().unwrap();
    one_restart(dir.path(), Some("false"), "true", 2);
    status(dir.path()).expect_code(2);
    guard(dir.path())
        .args(["reset", "svc", "--reason", "fixed the driver"])
        .run()
        .expect_code(0);
    status(dir.path())
        .expect_code(0)
        .stdout_has("RESTART OK - svc: 0/1 restarts in 1h used, 1 left")
        .stdout_has("last reset at ")
        .stdout_has("fixed the driver");
}
