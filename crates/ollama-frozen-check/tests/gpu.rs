//! GPU corroboration against the simulator and the fake NVML library
//! (`--nvml-lib`), whose scenario lists the simulator's real runner PIDs
//! as the processes holding VRAM: a CPU fallback confirmed or ruled out by
//! what the runners hold, an orphan's VRAM, a slow GPU's state, and GPU
//! utilisation that moves telling busy from frozen.

mod common;

use common::{Checker, GpuScenario, remedy, sim, sim_runner_vram, verdict};
use selfheal_test_support::Cmd;
use selfheal_test_support::fake_nvml::FakeGpu;
use serde_json::Value;
use std::time::Duration;

fn summary(json: &Value) -> &str {
    json["summary"].as_str().unwrap_or("")
}

/// The one runner of a simulator started with one preloaded model.
fn runner(sim: &selfheal_test_support::ollama_sim::OllamaSim) -> (u32, u64) {
    let runners = sim_runner_vram(sim);
    assert_eq!(runners.len(), 1, "{runners:?}");
    (runners[0].0, runners[0].1)
}

#[test]
fn s8_size_vram_0_and_no_runner_vram_on_a_gpu_is_cpu_fallback_at_once() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    sim.set_fault("cpu-fallback");
    let gpus = GpuScenario::new(&[FakeGpu::new(0)]);
    // A fresh history: no GPU was ever seen in use, NVML shows one.
    let (code, json, run) = Checker::with_gpu(&sim.url(), &gpus.path()).run(&[]);
    assert_eq!(
        (code, verdict(&json), remedy(&json)),
        (2, "cpu-fallback", "reload-gpu-driver-or-reboot"),
        "{run}"
    );
    assert!(summary(&json).contains("no runner holds VRAM"), "{run}");
    assert_eq!(json["details"]["layers"]["gpu"]["nvidia"]["status"], "ok");
}

#[test]
fn size_vram_0_while_the_runner_holds_vram_is_not_a_fallback() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    let (pid, vram) = runner(&sim);
    let gpus = GpuScenario::new(&[FakeGpu::new(0).process(pid, vram)]);
    let check = Checker::with_gpu(&sim.url(), &gpus.path());
    assert_eq!(check.run(&[]).0, 0, "healthy first");
    sim.set_fault("cpu-fallback");
    let (code, json, run) = check.run(&[]);
    assert_eq!((code, verdict(&json)), (0, "ok"), "{run}");
}

#[test]
fn ps_counting_vram_that_no_runner_holds_is_cpu_fallback() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    let gpus = GpuScenario::new(&[FakeGpu::new(0)]);
    let (code, json, run) = Checker::with_gpu(&sim.url(), &gpus.path()).run(&[]);
    assert_eq!(
        (code, verdict(&json), remedy(&json)),
        (2, "cpu-fallback", "reload-gpu-driver-or-reboot"),
        "{run}"
    );
    assert!(summary(&json).contains("/api/ps counts"), "{run}");
}

#[test]
fn runner_vram_and_gpu_utilisation_are_metrics_promtool_accepts() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    let (pid, vram) = runner(&sim);
    let gpus = GpuScenario::new(&[FakeGpu::new(37).process(pid, vram)]);
    let check = Checker::with_gpu(&sim.url(), &gpus.path());
    let textfile = check.state.path().join("ollama.prom");
    let textfile_arg = textfile.to_str().unwrap();
    check
        .cmd(&["--textfile", textfile_arg])
        .run()
        .expect_code(0);
    let prom = std::fs::read_to_string(&textfile).unwrap();
    let vram_line = "selfheal_ollama_frozen_check_runner_vram_bytes{name=";
    let line = prom
        .lines()
        .find(|l| l.starts_with(vram_line))
        .unwrap_or_else(|| panic!("no runner_vram_bytes\n{prom}"));
    assert!(
        line.contains(&format!("pid=\"{pid}\"")) && line.ends_with(&format!(" {vram}")),
        "{line}"
    );
    assert!(
        prom.contains("gpu=\"0\"} 0.37"),
        "gpu_utilization_ratio\n{prom}"
    );
    selfheal_test_support::require("promtool", "prometheus");
    Cmd::new("promtool")
        .args(["check", "metrics"])
        .stdin(prom.clone())
        .run()
        .expect_code(0);
}

#[test]
fn s10_orphan_runner_is_named_with_the_vram_it_keeps() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    sim.set_fault("orphan-runner");
    let (pid, vram, orphan) = sim_runner_vram(&sim)[0];
    assert!(orphan, "the simulator orphaned {pid}");
    let gpus = GpuScenario::new(&[FakeGpu::new(0).process(pid, vram)]);
    let (code, json, run) =
        Checker::with_gpu(&sim.url(), &gpus.path()).run(&["--freeze-after", "0s"]);
    assert_eq!(
        (code, verdict(&json), remedy(&json)),
        (2, "model-wedged", "kill-runner"),
        "{run}"
    );
    assert_eq!(json["details"]["remedy"]["pid"], pid);
    assert!(
        summary(&json).contains(&format!("GPU 0 at 0% (P8), runner {pid} holds 1.9GiB")),
        "{run}"
    );
}

#[test]
fn s9_slow_gpu_says_slow_with_the_gpu_state() {
    let sim = sim(&["--preload", "llama3.2:1b", "--fault", "slow"]);
    let (pid, vram) = runner(&sim);
    let gpus = GpuScenario::new(&[FakeGpu::new(4).pstate(12).process(pid, vram)]);
    let check = Checker::with_gpu(&sim.url(), &gpus.path());
    let (code, json, run) = check.run(&["--slow-after", "500ms", "--timeout", "10s"]);
    assert_eq!(
        (code, verdict(&json), remedy(&json)),
        (1, "slow", "report-only"),
        "{run}"
    );
    assert!(summary(&json).contains("GPU 0 at 4% (P12)"), "{run}");
}

/// S1 shape (generate and `/slots` hang) on a GPU only the runner uses:
/// utilisation that moves between runs is work, so busy; once it stays
/// flat the freeze is declared, with the GPU's picture in the summary.
#[test]
fn gpu_utilisation_moving_under_a_silent_runner_is_busy_until_it_stays_flat() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    let (pid, vram) = runner(&sim);
    let gpus = GpuScenario::new(&[FakeGpu::new(40).process(pid, vram)]);
    sim.set_fault("wedged-runner");
    let check = Checker::with_gpu(&sim.url(), &gpus.path());
    let args = ["--freeze-after", "2s", "--timeout", "4s"];
    let (code, first, run) = check.run(&args);
    assert_eq!((code, verdict(&first)), (1, "model-wedged"), "{run}");
    gpus.set(&[FakeGpu::new(85).process(pid, vram)]);
    let (code, moved, run) = check.run(&args);
    assert_eq!((code, verdict(&moved)), (0, "busy"), "{run}");
    assert!(summary(&moved).contains("from 40% to 85%"), "{run}");
    let runs = check.until(&args, Duration::from_secs(40), |code, _| code == 2);
    let last = &runs.last().unwrap().1;
    assert_eq!(
        (verdict(last), remedy(last)),
        ("model-wedged", "kill-runner")
    );
    assert!(
        summary(last).contains(&format!("GPU 0 at 85% (P2), runner {pid} holds")),
        "{last:#}"
    );
}

#[test]
fn no_nvidia_library_means_no_gpu_evidence_and_no_noise() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    let check = Checker::new(&sim.url());
    let run = Cmd::new(common::BIN)
        .args(["--url", &sim.url(), "--format", "json", "--state-dir"])
        .arg(check.state.path())
        .args(["--nvml-lib", "libnvidia-ml-absent.so.1"])
        .run()
        .expect_code(0);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(verdict(&json), "ok", "{run}");
    assert_eq!(
        json["details"]["layers"]["gpu"]["nvidia"]["status"],
        "library_missing"
    );
    assert!(run.stderr.is_empty(), "{run}");
}
