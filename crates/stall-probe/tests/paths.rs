//! Hostile paths at `--file` and `--dsn-file`: a FIFO that would block a
//! reader for ever, a symlink planted by another user.

mod common;

use common::probe;
use std::time::{Duration, Instant};

#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = selfheal_test_support::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    for content in ["mtime", "unix"] {
        probe()
            .args(["age", "--file"])
            .arg(&fifo)
            .args(["--content", content, "--crit", "5m"])
            .run()
            .expect_code(3)
            .stdout_has("is not a regular file (a FIFO)");
    }
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_file_or_dsn_file_symlink_planted_by_another_user_is_refused() {
    let dir = selfheal_test_support::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "host=first-line-of-a-private-file\n").unwrap();
    let link = dir.path().join("dsn");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    let age = || {
        probe()
            .args([
                "age",
                "--name",
                "q",
                "--query",
                "SELECT now()",
                "--crit",
                "1m",
            ])
            .args(["--connect-timeout", "1s", "--dsn-file"])
            .arg(&link)
    };
    // Our own symlink is followed (to a host that does not resolve).
    age().run().expect_code(3).stdout_has("first-line-of");
    // Handing it to nobody needs root; as another user the case cannot arise here.
    if std::os::unix::fs::lchown(&link, Some(65534), Some(65534)).is_ok() {
        let run = age()
            .run()
            .expect_code(3)
            .stdout_has("is a symlink owned by uid 65534");
        assert!(!run.stdout.contains("first-line-of"), "{run}");
        probe()
            .args(["age", "--content", "unix", "--crit", "1m", "--file"])
            .arg(&link)
            .run()
            .expect_code(3)
            .stdout_has("--file")
            .stdout_has("is a symlink owned by uid 65534");
    }
}
