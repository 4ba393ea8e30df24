//! One test per failure signature, against the simulator (real processes,
//! real sockets): the verdict and the suggested remedy a user acts on.
//! Stuck signatures are first a WARNING, then CRITICAL once flat for
//! `--freeze-after` (2 s here).

mod common;

use common::{Checker, remedy, sim, sim_runners, verdict};
use serde_json::Value;
use std::time::Duration;

const FAST: [&str; 4] = ["--freeze-after", "2s", "--timeout", "4s"];

/// First run WARNING with the verdict suspected, then CRITICAL once declared.
fn warns_then_declares(check: &Checker, extra: &[&str], want: &str) -> Value {
    let args: Vec<&str> = FAST.iter().chain(extra).copied().collect();
    let runs = check.until(&args, Duration::from_secs(40), |code, _| code == 2);
    let (first_code, first) = &runs[0];
    assert_eq!(
        (*first_code, verdict(first)),
        (1, want),
        "first run: {first:#}"
    );
    assert_eq!(first["details"]["declared"], false, "{first:#}");
    assert_eq!(
        remedy(first),
        "none",
        "nothing is suggested before the freeze is declared"
    );
    let last = runs.last().unwrap().1.clone();
    assert_eq!(verdict(&last), want, "{last:#}");
    assert_eq!(last["details"]["declared"], true);
    last
}

/// One model wedged: WARNING first, then declared with the remedy of
/// killing exactly its runner.
fn declares_kill_runner(check: &Checker, pid: u64) {
    let last = warns_then_declares(check, &[], "model-wedged");
    assert_eq!(
        (remedy(&last), &last["details"]["remedy"]["pid"]),
        ("kill-runner", &pid.into())
    );
}

fn the_runner(sim: &selfheal_test_support::ollama_sim::OllamaSim, model: &str) -> u64 {
    sim_runners(sim)
        .into_iter()
        .find(|r| r.0 == model)
        .map(|r| r.1)
        .expect("runner")
}

#[test]
fn s1_wedged_runner_is_model_wedged_then_kill_that_runner() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    let pid = the_runner(&sim, "llama3.2:1b");
    sim.set_fault("wedged-runner");
    let check = Checker::new(&sim.url());
    let last = warns_then_declares(&check, &[], "model-wedged");
    assert_eq!(remedy(&last), "kill-runner");
    assert_eq!(last["details"]["remedy"]["pid"], pid);
    assert!(
        last["summary"].as_str().unwrap().contains("/slots"),
        "{last:#}"
    );
}

#[test]
fn s2_stuck_unload_is_model_wedged_then_kill_that_runner() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    let pid = the_runner(&sim, "llama3.2:1b");
    sim.set_fault("stuck-unload");
    let check = Checker::new(&sim.url());
    declares_kill_runner(&check, pid);
}

#[test]
fn s4_runner_that_dies_is_suspected_then_ollama_unloads_it() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    sim.set_fault("runner-dies");
    let check = Checker::new(&sim.url());
    let (code, json, run) = check.run(&FAST);
    assert_eq!((code, verdict(&json)), (1, "model-wedged"), "{run}");
    assert!(
        json["summary"]
            .as_str()
            .unwrap()
            .contains("unexpectedly stopped"),
        "{run}"
    );
    assert_eq!(
        json["details"]["remedy_when_declared"]["kind"], "restart-server",
        "{run}"
    );
    // Ollama drops a dead runner; with nothing loaded there is nothing to
    // probe (a probe never loads a model), and nothing stays suspect.
    let (code, json, run) = check.run(&FAST);
    assert_eq!(
        (
            code,
            verdict(&json),
            json["details"]["layers"]["ps"]["models"]
                .as_array()
                .unwrap()
                .len()
        ),
        (0, "ok", 0),
        "{run}"
    );
}

#[test]
fn s6_scheduler_deadlock_with_fast_503s_is_frozen_then_restart() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    sim.set_fault("scheduler-deadlock");
    let check = Checker::new(&sim.url());
    let last = warns_then_declares(&check, &[], "frozen");
    assert_eq!(remedy(&last), "restart-server");
}

#[test]
fn s7_accepting_but_not_answering_is_starting_within_grace_then_frozen() {
    let sim = sim(&["--fault", "accept-no-answer"]);
    let check = Checker::new(&sim.url());
    let (code, json, run) = check.run(&["--timeout", "3s", "--startup-grace", "10m"]);
    assert_eq!((code, verdict(&json)), (1, "loading"), "{run}");
    assert!(
        json["summary"].as_str().unwrap().contains("starting"),
        "{run}"
    );
    let after = Checker::new(&sim.url());
    let last = warns_then_declares(&after, &["--startup-grace", "0s"], "frozen");
    assert_eq!(remedy(&last), "restart-server");
}

#[test]
fn s8_cpu_fallback_after_a_gpu_was_seen() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    let check = Checker::new(&sim.url());
    assert_eq!(check.run(&[]).0, 0);
    sim.set_fault("cpu-fallback");
    let (code, json, run) = check.run(&[]);
    assert_eq!(
        (code, verdict(&json), remedy(&json)),
        (2, "cpu-fallback", "reload-gpu-driver-or-reboot"),
        "{run}"
    );
}

#[test]
fn s9_degraded_gpu_is_slow_report_only() {
    let sim = sim(&["--preload", "llama3.2:1b", "--fault", "slow"]);
    let check = Checker::new(&sim.url());
    // 50x a 20 ms token: one token takes a second of compute.
    let (code, json, run) = check.run(&["--slow-after", "500ms", "--timeout", "10s"]);
    assert_eq!(
        (code, verdict(&json), remedy(&json)),
        (1, "slow", "report-only"),
        "{run}"
    );
    assert!(
        json["summary"].as_str().unwrap().contains("of compute"),
        "{run}"
    );
    // The same server at full speed is fine.
    sim.clear_fault();
    let (code, json, run) = check.run(&["--slow-after", "500ms", "--e2e-every", "0s"]);
    assert_eq!((code, verdict(&json)), (0, "ok"), "{run}");
}

#[test]
fn s10_orphan_runner_is_killed_by_pid() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    let pid = the_runner(&sim, "llama3.2:1b");
    sim.set_fault("orphan-runner");
    assert!(
        sim_runners(&sim).iter().any(|r| r.1 == pid && r.2),
        "the simulator orphaned {pid}"
    );
    let check = Checker::new(&sim.url());
    declares_kill_runner(&check, pid);
}

#[test]
fn s15_overload_while_work_completes_is_overloaded_report_only() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    sim.set_fault("overload");
    let check = Checker::new(&sim.url());
    let (code, json, run) = check.run(&["--timeout", "6s"]);
    assert_eq!(
        (code, verdict(&json), remedy(&json)),
        (1, "overloaded", "report-only"),
        "{run}"
    );
}

#[test]
fn s16_loads_that_hang_are_seen_by_the_load_probe() {
    let sim = sim(&[
        "--model",
        "llama3.2:1b",
        "--model",
        "qwen2.5:0.5b",
        "--preload",
        "llama3.2:1b",
    ]);
    sim.set_fault("loads-hang");
    let check = Checker::new(&sim.url());
    // --e2e-every 0s: a load probe on every run (it costs a load each time).
    let last = warns_then_declares(
        &check,
        &["--load-probe", "qwen2.5:0.5b", "--e2e-every", "0s"],
        "loads-stuck",
    );
    assert_eq!(remedy(&last), "restart-server");
}

#[test]
fn s16_an_embedding_model_as_the_load_probe_still_sees_loads_hang() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    sim.set_fault("loads-hang");
    let check = Checker::new(&sim.url());
    let (code, json, run) = check.run(&["--load-probe", "nomic-embed-text", "--timeout", "4s"]);
    assert_eq!((code, verdict(&json)), (1, "loads-stuck"), "{run}");
    assert_eq!(json["details"]["layers"]["load_probe"]["end"], "silent");
}

#[test]
fn s16_and_s17_log_signs_name_their_signature() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    let dir = selfheal_test_support::tempdir().unwrap();
    let log = dir.path().join("server.log");
    std::fs::write(&log, "time=2026-07-26T10:00:00Z level=INFO source=sched.go:331 msg=\"waiting for pending requests to complete and unload to occur\" runner.name=x\n").unwrap();
    let check = Checker::new(&sim.url());
    let log_arg = log.to_str().unwrap();
    let last = warns_then_declares(&check, &["--log-file", log_arg], "loads-stuck");
    assert_eq!(
        last["details"]["layers"]["log_signs"][0]["signature"],
        "S16"
    );
    let evict =
        "level=INFO msg=\"llama-server model predicted to exceed available memory, evicting\"\n"
            .repeat(3);
    std::fs::write(&log, evict).unwrap();
    let (code, json, run) = Checker::new(&sim.url()).run(&["--log-file", log_arg]);
    assert_eq!(
        (code, verdict(&json), remedy(&json)),
        (1, "thrashing", "report-only"),
        "{run}"
    );
}

#[test]
fn s17_evict_reload_loop_is_thrashing_report_only() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    sim.set_fault("thrash");
    let check = Checker::new(&sim.url());
    let runs = check.until(&FAST, Duration::from_secs(40), |_, json| {
        verdict(json) == "thrashing"
    });
    let (code, last) = runs.last().unwrap();
    assert_eq!((*code, remedy(last)), (1, "report-only"), "{last:#}");
}

#[test]
fn the_whole_server_sigstopped_warns_then_is_frozen() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    let check = Checker::new(&sim.url());
    assert_eq!(check.run(&[]).0, 0);
    let pid = rustix::process::Pid::from_raw(sim.pid().cast_signed()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::STOP).unwrap();
    let last = warns_then_declares(&check, &[], "frozen");
    rustix::process::kill_process(pid, rustix::process::Signal::CONT).unwrap();
    assert_eq!(remedy(&last), "restart-server");
    assert!(
        last["summary"]
            .as_str()
            .unwrap()
            .contains("stopped (state T)"),
        "{last:#}"
    );
}

#[test]
fn a_refused_port_is_down_at_once() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    sim.set_fault("refuse");
    let check = Checker::new(&sim.url());
    let (code, json, run) = check.run(&[]);
    assert_eq!((code, verdict(&json)), (2, "down"), "{run}");
    assert!(
        json["summary"].as_str().unwrap().contains("refuses"),
        "{run}"
    );
}
