//! Shared by the simulator's integration tests: start it, talk to it, poll
//! with a deadline, read Ollama's timestamps.

#![allow(dead_code)] // each test file uses a different part

use selfheal_test_support::ollama_sim::{OllamaSim, Response};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const MODEL: &str = "llama3.2:1b";
pub const EMBED_MODEL: &str = "nomic-embed-text:latest";

pub fn sim(args: &[&str]) -> OllamaSim {
    OllamaSim::start_bin(Path::new(env!("CARGO_BIN_EXE_ollama-sim")), args)
}

pub fn get(sim: &OllamaSim, path: &str) -> Response {
    sim.request("GET", path, None, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("GET {path}: {e}\nstderr:\n{}", sim.stderr()))
}

pub fn post(sim: &OllamaSim, path: &str, body: &Value) -> Response {
    post_within(sim, path, body, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("POST {path} {body}: {e}\nstderr:\n{}", sim.stderr()))
}

pub fn post_within(
    sim: &OllamaSim,
    path: &str,
    body: &Value,
    timeout: Duration,
) -> std::io::Result<Response> {
    sim.request("POST", path, Some(&body.to_string()), timeout)
}

/// `/api/ps` models.
pub fn ps(sim: &OllamaSim) -> Vec<Value> {
    get(sim, "/api/ps").json()["models"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Polls `check` every 20 ms until it holds or `limit` passes.
#[track_caller]
pub fn wait_until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Loads `model` with an empty-prompt generate (Ollama's preload request).
pub fn load(sim: &OllamaSim, model: &str) {
    let r = post(sim, "/api/generate", &serde_json::json!({ "model": model }));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["done_reason"], "load", "{}", r.body);
}

/// Seconds since the epoch of an RFC 3339 time with any fraction and offset.
#[track_caller]
pub fn unix(text: &str) -> f64 {
    let bad = |()| -> ! { panic!("not RFC 3339: {text:?}") };
    let (date, rest) = text.split_once('T').unwrap_or_else(|| bad(()));
    let num = |s: &str| s.parse::<i64>().unwrap_or_else(|_| bad(()));
    let d: Vec<i64> = date.split('-').map(num).collect();
    let (clock, offset) = if let Some(clock) = rest.strip_suffix('Z') {
        (clock, 0)
    } else {
        let at = rest.rfind(['+', '-']).unwrap_or_else(|| bad(()));
        let (h, m) = rest[at + 1..].split_once(':').unwrap_or_else(|| bad(()));
        let sign = if rest.as_bytes()[at] == b'-' { -1 } else { 1 };
        (&rest[..at], sign * (num(h) * 3600 + num(m) * 60))
    };
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let secs: f64 = clock
        .split(':')
        .zip([3600.0, 60.0, 1.0])
        .map(|(part, scale)| part.parse::<f64>().unwrap_or_else(|_| bad(())) * scale)
        .sum();
    days as f64 * 86_400.0 + secs - offset as f64
}

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
pub fn process_gone(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

/// Runner pids and ports from `/_sim/state`.
pub fn runners(sim: &OllamaSim) -> Vec<Value> {
    sim.state()["runners"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}
