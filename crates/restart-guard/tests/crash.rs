//! Crash safety: restart-guard SIGKILLed at random moments, hundreds of
//! times. State must always parse, every audit line a run reported must be
//! on disk, and CMD must never run more often than the budget allows (the
//! attempt is saved before CMD starts, so a restart that may have happened
//! counts).

mod common;

use common::raw;
use selfheal_test_support::tempdir;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

const NAMES: usize = 30;
const RUNS_PER_NAME: usize = 10;
const WORKERS: usize = 3;
const MAX: usize = 3;

/// xorshift64*: reproducible from the printed seed, no extra crate.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// What a killed run printed before it died, if anything whole.
fn reported(dir: &Path, name: &str, delay: Duration) -> Option<Value> {
    let count = dir.join(format!("{name}.count"));
    let script = format!("sleep 0.005; echo run >> '{}'", count.display());
    let max = MAX.to_string();
    let args = [
        "--name",
        name,
        "--max",
        &max,
        "--cooldown",
        "0s",
        "--wait",
        "10s",
        "--format",
        "json",
        "--",
        "sh",
        "-c",
        &script,
    ];
    let mut child = raw(dir, &args).spawn().unwrap();
    std::thread::sleep(delay);
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout).ok()
}

/// Killed guards leave their CMD running (it has its own process group);
/// wait until none of this test's commands is alive before counting.
fn wait_for_orphans(marker: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alive = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| {
                std::fs::read(e.path().join("cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
            });
        if !alive {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "commands still running after 10 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn sigkill_at_random_moments_never_breaks_state_audit_or_budget() {
    let dir = tempdir().unwrap();
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("seed {seed}");
    let workers: Vec<_> = (0..WORKERS as u64)
        .map(|w| {
            let dir = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let mut rng = Rng(seed.wrapping_add(w));
                let mut printed = Vec::new();
                // Each worker owns NAMES / WORKERS names and cycles through them.
                let own = NAMES / WORKERS;
                for i in 0..RUNS_PER_NAME * own {
                    let name = format!("svc{}", w as usize * own + i % own);
                    let delay = Duration::from_micros(rng.below(15_000));
                    if let Some(report) = reported(&dir, &name, delay) {
                        printed.push(report);
                    }
                }
                printed
            })
        })
        .collect();
    let reports: Vec<Value> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    wait_for_orphans(&dir.path().display().to_string());
    check_reported_lines_are_on_disk(dir.path(), &reports);
    for n in 0..NAMES {
        check_name(dir.path(), &format!("svc{n}"));
    }
    eprintln!(
        "{} of {} runs reported before being killed",
        reports.len(),
        RUNS_PER_NAME * NAMES
    );
}

/// The audit lines that parse. A SIGKILL can cut a write short (the kernel
/// stops between pages when a fatal signal is pending), so a killed run may
/// leave a torn line; it must be a cut-off record, never glued to the next
/// one, and the restart-guard reader skips it just like this.
fn audit_lines(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("restart-guard.audit.jsonl")).unwrap_or_default();
    let mut lines = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        match serde_json::from_str::<Value>(line) {
            Ok(value) => lines.push(value),
            Err(e) => assert!(
                line.starts_with("{\"time\":")
                    && line.matches("{\"time\":").count() == 1
                    && e.is_eof(),
                "audit line is neither whole nor a torn record: {line:?}: {e}"
            ),
        }
    }
    lines
}

fn check_reported_lines_are_on_disk(dir: &Path, reports: &[Value]) {
    let lines = audit_lines(dir);
    for report in reports {
        let d = &report["details"];
        assert!(
            lines.iter().any(|l| l["pid"] == d["pid"]
                && l["decision"] == d["decision"]
                && l["unix"] == d["unix"]),
            "reported but not in the audit log: {d}"
        );
    }
}

/// State parses, CMD ran at most MAX times and never more often than
/// attempts were recorded, and a normal run afterwards settles the log.
fn check_name(dir: &Path, name: &str) {
    let runs =
        std::fs::read_to_string(dir.join(format!("{name}.count"))).map_or(0, |t| t.lines().count());
    let state_path = common::state_path(dir, name);
    let attempts = match std::fs::read_to_string(&state_path) {
        Ok(text) => {
            let state: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: bad state: {e}"));
            state["attempts"]["at"].as_array().unwrap().len()
        }
        Err(_) => 0,
    };
    assert!(runs <= MAX, "{name}: CMD ran {runs} times, budget {MAX}");
    assert!(
        runs <= attempts,
        "{name}: CMD ran {runs} times but {attempts} attempts recorded"
    );
    // A run that is not killed picks up any attempt a killed run left pending.
    let out = raw(
        dir,
        &[
            "--name",
            name,
            "--max",
            "3",
            "--cooldown",
            "0s",
            "--wait",
            "10s",
            "--",
            "true",
        ],
    )
    .output()
    .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 2)), "{name}: {out:?}");
    let attempt_lines: Vec<Value> = audit_lines(dir)
        .into_iter()
        .filter(|l| l["name"] == name)
        .filter(|l| {
            ["restarted", "failed", "verified", "verify-failed"]
                .contains(&l["decision"].as_str().unwrap())
        })
        .collect();
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    let attempts = state["attempts"]["at"].as_array().unwrap().len();
    assert!(state["pending"].is_null());
    assert_eq!(
        attempt_lines.len(),
        attempts,
        "{name}: every attempt needs exactly one audit line: {attempt_lines:#?}\n{state:#}"
    );
}
