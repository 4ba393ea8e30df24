//! The state store under real concurrency and real crashes: separate
//! processes racing on one name, and writers killed with SIGKILL mid-update.

use selfheal_test_support::{Cmd, tempdir};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The `state_counter` example, which `cargo test` builds beside the tests.
fn counter_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/state_counter");
    assert!(
        path.exists(),
        "{} missing: run `cargo test -p selfheal-core`",
        path.display()
    );
    path
}

fn read_value(dir: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join("svc.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("state file does not parse ({e}):\n{text}"));
    json["value"].as_u64()
}

#[test]
fn two_processes_racing_never_lose_an_update() {
    let dir = tempdir().unwrap();
    let spawn = || {
        Command::new(counter_bin())
            .args([dir.path().to_str().unwrap(), "svc", "500"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn(), spawn());
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    assert_eq!(read_value(dir.path()), Some(1000));
}

/// A tiny xorshift: the kill moments only need to vary, not be secure.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn writer_killed_at_random_moments_never_leaves_a_torn_state_file() {
    let dir = tempdir().unwrap();
    let mut seed = u64::from(std::process::id()) | 1;
    let mut last_seen = 0;
    for round in 0..300 {
        let mut child = Command::new(counter_bin())
            .args([dir.path().to_str().unwrap(), "svc", "1000000"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let delay_us = next_random(&mut seed) % 8_000;
        std::thread::sleep(Duration::from_micros(delay_us));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // read_value panics with the file's content if it is torn.
        let value = read_value(dir.path()).unwrap_or(0);
        assert!(
            value >= last_seen,
            "round {round}: counter went back from {last_seen} to {value}"
        );
        last_seen = value;
    }
    assert!(
        last_seen > 0,
        "no writer ever saved: the kill delays are too short to test anything"
    );
    // Temp files of killed writers are cleaned by the next lock holder.
    let litter: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| Path::new(n).extension().is_some_and(|e| e == "tmp"))
        .collect();
    assert!(litter.len() <= 1, "temp files pile up: {litter:?}");
}

#[test]
fn example_refuses_bad_usage_with_exit_3() {
    Cmd::new(counter_bin())
        .run()
        .expect_code(3)
        .stderr_has("usage");
}
