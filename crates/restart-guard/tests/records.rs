//! What a run records, and says it recorded, when input or disks turn
//! hostile: a --reason that is not UTF-8 is recorded sanitised (never a
//! refusal to restart); a dry run writes nothing at all; a disk that fills
//! or a state folder made read-only while CMD runs leaves a report that
//! says CMD ran and what was and was not recorded.

mod common;

use common::{BIN, audit, decisions, guard, is_root, tree};
use selfheal_test_support::mount::{Tmpfs, fallback_allowed};
use selfheal_test_support::{Cmd, tempdir};
use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

#[test]
fn a_reason_that_is_not_utf8_is_recorded_sanitised() {
    let dir = tempdir().unwrap();
    let reason = OsString::from_vec(b"OLLAMA CRITICAL \xff\xfe\nfake line\x1b[2K".to_vec());
    guard(dir.path())
        .args(["--name", "a", "--reason"])
        .arg(&reason)
        .args(["--", "true"])
        .run()
        .expect_code(0);
    guard(dir.path())
        .env("RESTART_GUARD_REASON", &reason)
        .args(["--name", "b", "--", "true"])
        .run()
        .expect_code(0);
    let sanitised = "OLLAMA CRITICAL \u{fffd}\u{fffd}\\nfake line\\u{1b}[2K";
    let reasons: Vec<_> = audit(dir.path())
        .iter()
        .map(|r| r["reason"].clone())
        .collect();
    assert_eq!(reasons, [sanitised, sanitised]);
}

const OLD_TEXTFILE: &str = "# HELP up Up.\n# TYPE up gauge\nup 1\n";

/// Runs a dry run with every file flag; asserts it changed nothing.
fn assert_dry_run_writes_nothing(dir: &Path, state: &Path, says: &str) {
    let textfile = dir.join("restart_guard.prom");
    let before = tree(dir);
    guard(state)
        .args([
            "--name",
            "svc",
            "--cooldown",
            "0s",
            "--dry-run",
            "--textfile",
        ])
        .arg(&textfile)
        .args(["--", "true"])
        .run()
        .expect_code(0)
        .stdout_has(says)
        .stderr_has("dry run: ")
        .stderr_has("not written");
    assert_eq!(tree(dir), before);
    assert_eq!(fs::read_to_string(&textfile).unwrap(), OLD_TEXTFILE);
}

#[test]
fn a_dry_run_writes_no_textfile_state_lock_or_audit_line() {
    let dir = tempdir().unwrap();
    fs::write(dir.path().join("restart_guard.prom"), OLD_TEXTFILE).unwrap();
    let fresh = dir.path().join("fresh");
    assert_dry_run_writes_nothing(dir.path(), &fresh, "dry run: would restart svc (0/3");
    let used = dir.path().join("used");
    guard(&used)
        .args(["--name", "svc", "--cooldown", "0s", "--", "true"])
        .run()
        .expect_code(0);
    assert_dry_run_writes_nothing(dir.path(), &used, "dry run: would restart svc (1/3");
}

#[test]
fn a_dry_run_makes_the_checks_of_a_real_run() {
    let dir = tempdir().unwrap();
    let state = dir.path().join("state");
    guard(&state)
        .args(["--name", "svc", "--", "true"])
        .run()
        .expect_code(0);
    let lock = state.join("restart-guard/svc.lock");
    fs::remove_file(&lock).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", &lock).unwrap();
    let dry_and_real = [&["--dry-run"][..], &[]];
    for flags in dry_and_real {
        guard(&state)
            .args(["--name", "svc", "--cooldown", "0s"])
            .args(flags)
            .args(["--", "true"])
            .run()
            .expect_code(3)
            .stdout_has("svc.lock is a symlink");
    }
    for flags in dry_and_real {
        guard(&state)
            .args([
                "--name",
                "other",
                "--audit",
                "/nonexistent-selfheal/a.jsonl",
            ])
            .args(flags)
            .args(["--", "true"])
            .run()
            .expect_code(3)
            .stdout_has("/nonexistent-selfheal");
    }
}

#[test]
fn a_disk_that_fills_during_cmd_leaves_a_report_of_what_was_recorded() {
    let Some(disk) = Tmpfs::mount("256k") else {
        fallback_allowed("a state disk that fills while CMD runs");
        return;
    };
    let state = disk.path();
    let fill = format!(
        "cat /dev/zero > '{}/fill' 2>/dev/null; exit 0",
        state.display()
    );
    guard(state)
        .args(["--name", "svc", "--", "sh", "-c", &fill])
        .run()
        .expect_code(3)
        .stdout_has("RESTART UNKNOWN - restarted svc (1/3 in 1h")
        .stdout_has("but its outcome was not recorded (cannot write audit log")
        .stdout_has("No space left on device")
        .stdout_has("the attempt was, before CMD ran: it counts");
    // Room again: the next run writes the line owed and holds back.
    fs::remove_file(state.join("fill")).unwrap();
    guard(state)
        .args(["--name", "svc", "--", "true"])
        .run()
        .expect_code(1);
    assert_eq!(decisions(state), ["failed", "held-cooldown"]);
}

#[test]
fn a_state_folder_made_read_only_during_cmd_leaves_a_report_of_what_was_recorded() {
    let dir = tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let (state, logs) = (dir.path().join("state"), dir.path().join("logs"));
    fs::create_dir(&state).unwrap();
    fs::create_dir(&logs).unwrap();
    let log = logs.join("audit.jsonl");
    let mut run = Cmd::new(BIN);
    if is_root() {
        // Root writes into read-only folders: be nobody, who cannot.
        for owned in [&state, &logs] {
            std::os::unix::fs::chown(owned, Some(65534), Some(65534)).unwrap();
        }
        run = Cmd::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(BIN);
    }
    let readonly = ["chmod", "-R", "a-w"].map(OsString::from);
    let out = run
        .arg("--state-dir")
        .arg(&state)
        .args(["--name", "svc", "--audit"])
        .arg(&log)
        .arg("--")
        .args(readonly)
        .arg(&state)
        .run()
        .expect_code(3)
        .stdout_has("RESTART UNKNOWN - restarted svc (1/3 in 1h")
        .stdout_has("but the state was not saved (")
        .stdout_has("Permission denied")
        .stdout_has("the audit line was, and the next run catches up from it");
    let line = fs::read_to_string(&log).unwrap();
    assert!(line.contains(r#""decision":"restarted""#), "{line}\n{out}");
}
