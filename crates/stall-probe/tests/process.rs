//! `age` and `trend` on real processes: a busy loop, a sleeper, a stopped
//! process, a steady leak and a burst that levels off.

mod common;

use common::{cpu_ticks, json, probe, python, python_ready, signal, stat_field, wait_until};
use selfheal_test_support::Cmd;
use std::time::Duration;

const BUSY: &str = "while True: pass";
const SLEEPER: &str = "import time; print('ready', flush=True); time.sleep(600)";
const LEAK: &str =
    "import time\nheld = []\nwhile True:\n    held.append(b'x' * (1 << 20))\n    time.sleep(0.05)";
const BURST: &str = "import time; print('ready', flush=True)\nheld = [b'x' * (1 << 20) for _ in range(80)]\ntime.sleep(600)";

fn state_dir() -> selfheal_test_support::TempDir {
    selfheal_test_support::tempdir().unwrap()
}

fn age(pid: u32, dir: &selfheal_test_support::TempDir) -> Cmd {
    probe()
        .args(["age", "--pid", &pid.to_string(), "--state-dir"])
        .arg(dir.path())
}

fn trend(pid: u32, dir: &selfheal_test_support::TempDir) -> Cmd {
    probe()
        .args(["trend", "--pid", &pid.to_string(), "--state-dir"])
        .arg(dir.path())
}

/// `trend` sampling 2 s at 200 ms, as JSON, expecting `code`: the run (for
/// messages) and its report.
fn sampled_for_2s(
    pid: u32,
    dir: &selfheal_test_support::TempDir,
    code: i32,
) -> (selfheal_test_support::Run, serde_json::Value) {
    let run = trend(pid, dir)
        .args([
            "--sample-for",
            "2s",
            "--interval",
            "200ms",
            "--format",
            "json",
        ])
        .run()
        .expect_code(code);
    let report = json(&run);
    (run, report)
}

/// A busy worker that has started spinning.
fn spinning() -> selfheal_test_support::ChildGuard {
    let worker = python(BUSY);
    let pid = worker.id();
    wait_until("the busy loop to use CPU", Duration::from_secs(10), || {
        cpu_ticks(pid) >= 20
    });
    worker
}

#[test]
fn cpu_time_rising_is_progress_and_a_sleeper_makes_none() {
    let dir = state_dir();
    let busy = spinning();
    age(busy.id(), &dir)
        .args([
            "--sample-for",
            "500ms",
            "--warn",
            "300ms",
            "--crit",
            "400ms",
        ])
        .run()
        .expect_code(0)
        .stdout_has("rising");
    let sleeper = python_ready(SLEEPER);
    let run = age(sleeper.id(), &dir)
        .args([
            "--sample-for",
            "500ms",
            "--warn",
            "300ms",
            "--crit",
            "400ms",
            "--format",
            "json",
        ])
        .run()
        .expect_code(2);
    assert!(run.stdout.contains("unchanged while sampled"), "{run}");
    let report = json(&run);
    assert!(
        report["details"]["keys"][0]["age_seconds"]
            .as_f64()
            .unwrap()
            >= 0.5,
        "{run}"
    );
    // Across runs: the first run only records, the next one sees no progress.
    let other = state_dir();
    age(sleeper.id(), &other)
        .args(["--crit", "1h"])
        .run()
        .expect_code(0)
        .stdout_has("first reading");
    age(sleeper.id(), &other)
        .args(["--crit", "1h"])
        .run()
        .expect_code(0)
        .stdout_has("unchanged since the last run");
}

#[test]
fn a_stopped_process_is_critical_at_once_and_a_gone_one_too() {
    let dir = state_dir();
    let sleeper = python_ready(SLEEPER);
    let pid = sleeper.id();
    signal(pid, "STOP");
    wait_until("the process to stop", Duration::from_secs(10), || {
        stat_field(pid, 3) == "T"
    });
    age(pid, &dir)
        .args(["--crit", "1h"])
        .run()
        .expect_code(2)
        .stdout_has("stopped by a signal (state T");
    trend(pid, &dir)
        .args(["--sample-for", "300ms", "--interval", "100ms"])
        .run()
        .expect_code(2)
        .stdout_has("stopped by a signal");
    signal(pid, "CONT");
    drop(sleeper);
    age(pid, &dir)
        .args(["--crit", "1h"])
        .run()
        .expect_code(2)
        .stdout_has(&format!("process {pid} is gone"));
}

#[test]
fn process_patterns_find_workers_but_never_the_probe() {
    let dir = state_dir();
    let marker = format!("stall-test-marker-{}", std::process::id());
    let worker = Cmd::new("python3")
        .args(["-c", "import time; time.sleep(600)", &marker])
        .spawn();
    // spawn() returns after fork: wait (with a deadline) for the exec that
    // puts the marker on the command line.
    let cmdline = format!("/proc/{}/cmdline", worker.id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !std::fs::read_to_string(&cmdline).is_ok_and(|c| c.contains(&marker)) {
        assert!(std::time::Instant::now() < deadline, "python never started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let run = probe()
        .args([
            "age",
            "--process",
            &marker,
            "--crit",
            "1h",
            "--format",
            "json",
            "--state-dir",
        ])
        .arg(dir.path())
        .run()
        .expect_code(0);
    let keys = json(&run)["details"]["keys"].clone();
    assert_eq!(keys.as_array().unwrap().len(), 1, "{run}");
    assert_eq!(keys[0]["key"], worker.id().to_string(), "{run}");
    drop(worker);
    probe()
        .args(["age", "--process", &marker, "--crit", "1h", "--state-dir"])
        .arg(dir.path())
        .run()
        .expect_code(2)
        .stdout_has("no process's command line matches");
}

#[test]
fn a_busy_loop_is_saturated() {
    let dir = state_dir();
    let busy = spinning();
    let run = trend(busy.id(), &dir)
        .args(["--sample-for", "1500ms", "--interval", "250ms"])
        .run()
        .expect_code(1);
    assert!(run.stdout.contains("saturated: wanted "), "{run}");
    trend(busy.id(), &dir)
        .args([
            "--sample-for",
            "1s",
            "--interval",
            "250ms",
            "--saturated",
            "critical",
        ])
        .run()
        .expect_code(2)
        .stdout_has("saturated");
}

#[test]
fn memory_that_keeps_growing_is_a_leak() {
    let dir = state_dir();
    let leak = python(LEAK);
    wait_until("the leak to start", Duration::from_secs(10), || {
        cpu_ticks(leak.id()) > 0
    });
    let (run, report) = sampled_for_2s(leak.id(), &dir, 1);
    assert_eq!(report["details"]["trend"]["class"], "leaking", "{run}");
    assert!(
        report["details"]["trend"]["numbers"]["memory_slope"]
            .as_f64()
            .unwrap()
            > 5e6,
        "{run}"
    );
}

#[test]
fn a_burst_that_levels_off_and_a_sleeper_are_stable() {
    let dir = state_dir();
    let burst = python_ready(BURST);
    let (run, report) = sampled_for_2s(burst.id(), &dir, 0);
    assert_eq!(report["details"]["trend"]["class"], "stable", "{run}");
    assert!(
        report["details"]["trend"]["numbers"]["memory_last"]
            .as_f64()
            .unwrap()
            > 80e6,
        "{run}"
    );
    let sleeper = python_ready(SLEEPER);
    trend(sleeper.id(), &dir)
        .args(["--sample-for", "1s", "--interval", "250ms"])
        .run()
        .expect_code(0)
        .stdout_has("stable");
}

#[test]
fn the_window_fills_across_runs() {
    let dir = state_dir();
    let sleeper = python_ready(SLEEPER);
    let run = || {
        trend(sleeper.id(), &dir)
            .args(["--min-samples", "3", "--window", "1h", "--format", "prom"])
            .run()
            .expect_code(0)
    };
    run().stdout_has("selfheal_stall_probe_trend_class{key=\"");
    let second = run();
    assert!(
        second.stdout.contains(",class=\"collecting\"} 1"),
        "{second}"
    );
    let third = run();
    assert!(third.stdout.contains(",class=\"stable\"} 1"), "{third}");
    assert!(
        third
            .stdout
            .contains("selfheal_stall_probe_trend_samples{key=\"")
            && third.stdout.contains("\"} 3"),
        "{third}"
    );
}
