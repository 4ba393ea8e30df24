//! The server log, as `ollama serve` writes it: slog lines for loads and
//! the signs faults leave, and a Gin line per completed request only.

mod common;

use common::{MODEL, post, post_within, sim, wait_until};
use serde_json::json;
use std::time::Duration;

fn gin_generates(log: &str) -> usize {
    log.lines()
        .filter(|l| l.starts_with("[GIN] ") && l.ends_with("| POST     \"/api/generate\""))
        .count()
}

#[test]
fn log_file_has_startup_loads_and_gin_lines() {
    let dir = selfheal_test_support::tempdir().unwrap();
    let path = dir.path().join("server.log");
    let sim = sim(&["--preload", MODEL, "--log-file", path.to_str().unwrap()]);
    let log = std::fs::read_to_string(&path).unwrap();
    let listening = format!(
        "msg=\"Listening on 127.0.0.1:{} (version 0.33.0)\"",
        sim.port()
    );
    assert!(log.contains(&listening), "{log}");
    assert!(
        log.contains("level=INFO source=llama_server.go:433 msg=\"starting llama-server\" cmd="),
        "{log}"
    );
    assert!(log.contains("msg=\"llama-server started in 0."), "{log}");
    assert!(
        log.lines().all(|l| l.starts_with("time=20")),
        "slog lines only so far: {log}"
    );
    post(
        &sim,
        "/api/generate",
        &json!({ "model": MODEL, "prompt": "x", "options": { "num_predict": 1 } }),
    );
    wait_until(Duration::from_secs(2), "a Gin line", || {
        gin_generates(&std::fs::read_to_string(&path).unwrap()) == 1
    });
    let log = std::fs::read_to_string(&path).unwrap();
    assert!(log.contains(" | 200 | "), "{log}");
}

#[test]
fn a_hung_request_logs_nothing_until_it_ends() {
    let sim = sim(&["--preload", MODEL, "--fault", "wedged-runner"]);
    let body = json!({ "model": MODEL, "prompt": "x", "options": { "num_predict": 1 } });
    assert!(post_within(&sim, "/api/generate", &body, Duration::from_secs(1)).is_err());
    assert_eq!(gin_generates(&sim.stderr()), 0, "{}", sim.stderr());
    sim.clear_fault();
    wait_until(
        Duration::from_secs(5),
        "the request ends and is logged",
        || gin_generates(&sim.stderr()) == 1,
    );
}

/// Waits until the simulator's stderr (read by a thread) shows `sign`.
fn logged(sim: &selfheal_test_support::ollama_sim::OllamaSim, sign: &str) {
    wait_until(Duration::from_secs(5), sign, || sim.stderr().contains(sign));
}

#[test]
fn faults_leave_their_log_signs() {
    let sim = sim(&["--load-time", "50ms"]);
    sim.set_fault("loads-hang");
    logged(
        &sim,
        "level=DEBUG source=sched.go:350 msg=\"waiting for pending requests to complete and unload to occur\"",
    );
    assert!(!sim.stderr().contains("unload completed"));
    sim.clear_fault();
    sim.set_fault("thrash");
    logged(
        &sim,
        "msg=\"llama-server model predicted to exceed available memory, evicting\" model=llama3.2:1b",
    );
    sim.clear_fault();
    // The thrash loop ends after its current load; then the runner dies.
    common::load(&sim, MODEL);
    sim.set_fault("runner-dies");
    let r = post(
        &sim,
        "/api/generate",
        &json!({ "model": MODEL, "prompt": "x" }),
    );
    assert_eq!(r.status, 500, "{}", r.body);
    logged(
        &sim,
        "level=ERROR source=llama_server.go:1639 msg=\"llama-server completion error\"",
    );
}
