//! The audit log as a hostile or careless user meets it: a FIFO, a device
//! node or a symlink at its path, a log rotated under a busy guard, and a
//! log far larger than memory should hold.

mod common;

use common::{counter, guard, is_root, lines};
use selfheal_test_support::tempdir;
use std::path::Path;
use std::process::Command;

fn make(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).status().unwrap();
    assert!(status.success(), "{program} {args:?}: {status}");
}

/// The default form with `--audit path` must refuse before CMD runs, and
/// `audit` must refuse too (not hang, not read without end).
fn assert_refused(dir: &Path, audit: &Path, what: &str) {
    let count = dir.join("count");
    guard(dir)
        .args(["--name", "svc", "--audit"])
        .arg(audit)
        .arg("--")
        .args(counter(&count))
        .run()
        .expect_code(3)
        .stdout_has(&audit.display().to_string())
        .stdout_has(what);
    assert_eq!(lines(&count), 0, "CMD ran without a record");
    guard(dir)
        .args(["audit", "--audit"])
        .arg(audit)
        .run()
        .expect_code(3)
        .stderr_has(what);
}

#[test]
fn a_fifo_as_audit_log_is_refused_before_cmd() {
    let dir = tempdir().unwrap();
    let fifo = dir.path().join("audit.fifo");
    make("mkfifo", &[fifo.to_str().unwrap()]);
    assert_refused(dir.path(), &fifo, "a FIFO");
}

#[test]
fn a_device_node_as_audit_log_is_refused_before_cmd() {
    let dir = tempdir().unwrap();
    // A /dev/full (char 1,7) of our own; only root may make one, others
    // check the real one, which is refused before it is opened.
    let node = if is_root() {
        let node = dir.path().join("full");
        make("mknod", &[node.to_str().unwrap(), "c", "1", "7"]);
        node
    } else {
        "/dev/full".into()
    };
    assert_refused(dir.path(), &node, "a character device");
}

#[test]
fn a_symlink_as_audit_log_is_refused_and_its_target_untouched() {
    let dir = tempdir().unwrap();
    let target = dir.path().join("precious");
    std::fs::write(&target, "keep\n").unwrap();
    let link = dir.path().join("restart-guard.audit.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_refused(dir.path(), &link, "is a symlink");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep\n");
}

#[test]
fn the_log_rotates_and_history_is_rebuilt_across_rotated_files() {
    let dir = tempdir().unwrap();
    let count = dir.path().join("count");
    let run = |code| {
        guard(dir.path())
            .args(["--name", "svc", "--max", "3", "--cooldown", "0s"])
            // One line is about 500 bytes: every line starts a new file.
            .args(["--audit-max-size", "600", "--audit-keep", "5", "--"])
            .args(counter(&count))
            .run()
            .expect_code(code);
    };
    run(0);
    run(0);
    let log = dir.path().join("restart-guard.audit.jsonl");
    assert!(dir.path().join("restart-guard.audit.jsonl.1").exists());
    // The state file is lost: the two attempts are found in log.1 and log.
    std::fs::write(common::state_path(dir.path(), "svc"), "").unwrap();
    run(0);
    run(2);
    assert_eq!(lines(&count), 3, "the rebuilt budget allowed a 4th restart");
    let printed = guard(dir.path())
        .args([
            "audit",
            "--format",
            "json",
            "--audit-keep",
            "5",
            "--name",
            "svc",
        ])
        .run()
        .expect_code(0)
        .stdout;
    let decisions: Vec<&str> = printed
        .lines()
        .map(|l| {
            if l.contains("held-budget") {
                "held"
            } else {
                "restart"
            }
        })
        .collect();
    assert_eq!(decisions, ["restart", "restart", "restart", "held"]);
    assert!(std::fs::metadata(&log).unwrap().len() <= 600);
}

#[test]
fn audit_last_reads_a_large_log_in_small_memory() {
    const LINES: usize = 150_000;
    let dir = tempdir().unwrap();
    guard(dir.path())
        .args(["--name", "svc", "--", "true"])
        .run()
        .expect_code(0);
    let log = dir.path().join("restart-guard.audit.jsonl");
    let line = std::fs::read_to_string(&log).unwrap();
    // About 75 MB of real lines.
    std::fs::write(&log, line.repeat(LINES)).unwrap();
    let size = std::fs::metadata(&log).unwrap().len();
    let out = Command::new("/usr/bin/time")
        .args([
            "-f",
            "peak-kb=%M",
            common::BIN,
            "audit",
            "--format",
            "json",
            "--last",
            "2",
        ])
        .env("SELFHEAL_STATE_DIR", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let peak_kb: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak-kb="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak in {stderr}"));
    assert!(
        peak_kb * 1024 < size / 8 && peak_kb < 32 * 1024,
        "audit --last 2 on {size} bytes peaked at {peak_kb} KiB"
    );
}
