//! What the stall-probe tests share: the binary, worker processes, polling.

#![allow(dead_code)] // each test file uses its own part

use selfheal_test_support::{ChildGuard, Cmd};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_stall-probe");

pub fn probe() -> Cmd {
    Cmd::new(BIN)
}

/// A python3 worker running `code`, killed when the guard drops.
pub fn python(code: &str) -> ChildGuard {
    selfheal_test_support::require("python3", "python3");
    Cmd::new("python3").args(["-c", code]).spawn()
}

/// A python3 worker that prints `ready` when set up: returns once it has.
pub fn python_ready(code: &str) -> ChildGuard {
    use std::io::BufRead as _;
    let mut worker = python(code);
    let stdout = worker.child().stdout.take().expect("piped stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the worker's stdout");
    assert_eq!(line.trim(), "ready", "the worker did not start: {code}");
    worker
}

/// Polls `check` every 10 ms until it holds or `limit` passes.
pub fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Field `n` (1-based) of /proc/<pid>/stat, counted after the command name.
pub fn stat_field(pid: u32, n: usize) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    after
        .split_whitespace()
        .nth(n - 3)
        .unwrap_or_default()
        .to_owned()
}

/// utime + stime of a process, in ticks.
pub fn cpu_ticks(pid: u32) -> u64 {
    stat_field(pid, 14).parse::<u64>().unwrap_or(0)
        + stat_field(pid, 15).parse::<u64>().unwrap_or(0)
}

pub fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// The JSON report of a run.
pub fn json(run: &selfheal_test_support::Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e})\n{run}"))
}
