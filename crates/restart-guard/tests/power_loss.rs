//! What a power loss can leave of the state saves restart-guard does not
//! sync, made by hand: the state as saved before CMD (the later save
//! lost), the state from before the restart (both lost), one older still,
//! an empty state file (a rename that reached the disk before its data),
//! and no state at all (its directory lost). Each must come back from the
//! synced records (the intent record, the audit log), never as a fresh
//! budget. (A SIGKILL loses nothing unsynced: the page cache survives it;
//! tests/crash.rs covers that.)

mod common;

use common::{decisions, guard, lines, state, state_path};
use selfheal_test_support::tempdir;
use std::path::Path;

/// A restart under `--max 2` whose CMD counts its runs, and copies the
/// state file as it stands while CMD runs (saved before CMD) to `copy`.
fn restart(dir: &Path, copy: &Path) -> selfheal_test_support::Run {
    let script = format!(
        "cp '{}' '{}'; echo run >> '{}'",
        state_path(dir, "svc").display(),
        copy.display(),
        dir.join("count").display()
    );
    guard(dir)
        .args(["--name", "svc", "--max", "2", "--cooldown", "0s", "--"])
        .args(["sh", "-c", &script])
        .run()
}

#[test]
fn a_lost_save_after_the_audit_line_is_settled_from_that_line() {
    let dir = tempdir().unwrap();
    let before_cmd = dir.path().join("saved-before-cmd.json");
    restart(dir.path(), &before_cmd).expect_code(0);
    // The save after the audit line is lost: the disk has the one before.
    std::fs::copy(&before_cmd, state_path(dir.path(), "svc")).unwrap();
    assert!(!state(dir.path(), "svc")["pending"].is_null());
    restart(dir.path(), &before_cmd).expect_code(0);
    restart(dir.path(), &before_cmd)
        .expect_code(2)
        .stdout_has("budget of svc exhausted");
    assert_eq!(lines(&dir.path().join("count")), 2);
    // The first attempt's own line settled it: no "outcome unknown" line.
    assert_eq!(
        decisions(dir.path()),
        ["restarted", "restarted", "held-budget"]
    );
    let saved = state(dir.path(), "svc");
    assert!(saved["pending"].is_null());
    assert_eq!(saved["totals"]["restarted"], 2);
}

#[test]
fn both_saves_of_a_restart_lost_are_caught_up_from_the_intent_record() {
    let dir = tempdir().unwrap();
    let copy = dir.path().join("copy.json");
    restart(dir.path(), &copy).expect_code(0);
    let before = std::fs::read(state_path(dir.path(), "svc")).unwrap();
    restart(dir.path(), &copy).expect_code(0);
    // Neither save of the second restart reached the disk.
    std::fs::write(state_path(dir.path(), "svc"), &before).unwrap();
    let held = restart(dir.path(), &copy)
        .expect_code(2)
        .stdout_has("budget of svc exhausted");
    // Caught up from the record, not rebuilt from the whole log.
    assert_eq!(held.stderr, "");
    assert_eq!(lines(&dir.path().join("count")), 2);
    assert_eq!(
        decisions(dir.path()),
        ["restarted", "restarted", "held-budget"]
    );
    assert_eq!(state(dir.path(), "svc")["seq"], 2);
}

#[test]
fn a_state_further_behind_is_rebuilt_from_the_log() {
    let dir = tempdir().unwrap();
    let run = |max: &str| {
        guard(dir.path())
            .args(["--name", "svc", "--max", max, "--cooldown", "0s", "--"])
            .args(common::counter(&dir.path().join("count")))
            .run()
    };
    run("3").expect_code(0);
    let behind = std::fs::read(state_path(dir.path(), "svc")).unwrap();
    run("3").expect_code(0);
    run("3").expect_code(0);
    std::fs::write(state_path(dir.path(), "svc"), &behind).unwrap();
    run("3")
        .expect_code(2)
        .stderr_has("the state of svc knows 1 attempt(s) but 3 began")
        .stderr_has("rebuilt the restart window of svc from the audit log: 3 attempt(s)");
}

#[test]
fn an_empty_state_file_is_rebuilt_from_the_log_not_reset() {
    let dir = tempdir().unwrap();
    let copy = dir.path().join("copy.json");
    restart(dir.path(), &copy).expect_code(0);
    restart(dir.path(), &copy).expect_code(0);
    std::fs::write(state_path(dir.path(), "svc"), "").unwrap();
    restart(dir.path(), &copy)
        .expect_code(2)
        .stderr_has("rebuilt the restart window of svc from the audit log: 2 attempt(s)");
    assert_eq!(lines(&dir.path().join("count")), 2);
}

#[test]
fn a_lost_state_directory_is_rebuilt_from_the_log_not_reset() {
    let dir = tempdir().unwrap();
    let copy = dir.path().join("copy.json");
    restart(dir.path(), &copy).expect_code(0);
    restart(dir.path(), &copy).expect_code(0);
    std::fs::remove_dir_all(dir.path().join("restart-guard")).unwrap();
    restart(dir.path(), &copy)
        .expect_code(2)
        .stderr_has("rebuilt the restart window of svc from the audit log: 2 attempt(s)");
    assert_eq!(lines(&dir.path().join("count")), 2);
    // A name the log does not know starts afresh, without a warning.
    let fresh = guard(dir.path())
        .args(["--name", "other", "--", "true"])
        .run()
        .expect_code(0);
    assert!(!fresh.stderr.contains("rebuilt"), "{}", fresh.stderr);
}

#[test]
fn a_state_without_its_attempts_is_set_aside_not_a_fresh_budget() {
    let dir = tempdir().unwrap();
    let copy = dir.path().join("copy.json");
    restart(dir.path(), &copy).expect_code(0);
    restart(dir.path(), &copy).expect_code(0);
    // Emptied by hand (issue: `echo '{}' > state` reset the budget).
    std::fs::write(state_path(dir.path(), "svc"), "{}\n").unwrap();
    restart(dir.path(), &copy)
        .expect_code(2)
        .stderr_has("missing field `attempts`")
        .stderr_has("rebuilt the restart window of svc from the audit log: 2 attempt(s)");
    assert_eq!(lines(&dir.path().join("count")), 2);
    let aside = std::fs::read_dir(dir.path().join("restart-guard"))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with("svc.json.corrupt-")
        })
        .count();
    assert_eq!(aside, 1);
}
