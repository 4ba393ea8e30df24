//! GPU corroboration against the simulator and the fake NVML library
//! (`--nvml-lib`), whose scenario lists the simulator's real runner PIDs
//! as the processes holding VRAM: a CPU fallback confirmed or ruled out by
//! what the runners hold, an orphan's VRAM, a slow GPU's state, and GPU
//! utilisation that moves telling busy from frozen.

mod common;

use common::{Checker, GpuScenario, remedy, sim, sim_runner_vram, verdict};
use selfheal_test_support::fake_nvml::FakeGpu;
use selfheal_test_support::ollama_sim::OllamaSim;
use selfheal_test_support::{Cmd, Run};
use serde_json::Value;
use std::time::Duration;

fn summary(json: &Value) -> &str {
    json["summary"].as_str().unwrap_or("")
}

/// A simulator with one model loaded (plus `args`), the fake GPU that
/// `gpu` builds from its runner's (pid, VRAM), and a check reading it.
struct Rig {
    sim: OllamaSim,
    gpus: GpuScenario,
    check: Checker,
    pid: u32,
    vram: u64,
}

fn rig(args: &[&str], gpu: impl Fn(u32, u64) -> FakeGpu) -> Rig {
    let all: Vec<&str> = ["--preload", "llama3.2:1b"]
        .iter()
        .chain(args)
        .copied()
        .collect();
    let sim = sim(&all);
    let (pid, vram, _) = sim_runner_vram(&sim)[0];
    let gpus = GpuScenario::new(&[gpu(pid, vram)]);
    let check = Checker::with_gpu(&sim.url(), &gpus.path());
    Rig {
        sim,
        gpus,
        check,
        pid,
        vram,
    }
}

/// One run's (exit code, verdict, remedy) and a piece of its summary.
fn expect(got: (i32, Value, Run), want: (i32, &str, &str), said: &str) -> Value {
    let (code, json, run) = got;
    assert_eq!((code, verdict(&json), remedy(&json)), want, "{run}");
    assert!(summary(&json).contains(said), "{said:?} not said\n{run}");
    json
}

const FALLBACK: (i32, &str, &str) = (2, "cpu-fallback", "reload-gpu-driver-or-reboot");

#[test]
fn s8_size_vram_0_and_no_runner_vram_on_a_gpu_is_cpu_fallback_at_once() {
    let r = rig(&["--fault", "cpu-fallback"], |_, _| FakeGpu::new(0));
    // A fresh history: no GPU was ever seen in use, NVML shows one.
    let json = expect(r.check.run(&[]), FALLBACK, "no runner holds VRAM");
    assert_eq!(json["details"]["layers"]["gpu"]["nvidia"]["status"], "ok");
}

#[test]
fn s8_size_vram_0_with_a_driver_library_mismatch_is_cpu_fallback_at_once() {
    let r = rig(&["--fault", "cpu-fallback"], |_, _| FakeGpu::new(0));
    // nvmlInit_v2 returns 18: NVML_ERROR_LIB_RM_VERSION_MISMATCH.
    r.gpus.set_text("init 18\n");
    let json = expect(r.check.run(&[]), FALLBACK, "version mismatch");
    assert_eq!(
        json["details"]["layers"]["gpu"]["nvidia"]["status"],
        "version_mismatch"
    );
    // Without that evidence (no library at all), a first run cannot tell.
    r.gpus.set_text("init 9\n");
    let fresh = Checker::with_gpu(&r.sim.url(), &r.gpus.path());
    expect(fresh.run(&[]), (0, "ok", "none"), "");
}

#[test]
fn size_vram_0_while_the_runner_holds_vram_is_not_a_fallback() {
    let r = rig(&[], |pid, vram| FakeGpu::new(0).process(pid, vram));
    assert_eq!(r.check.run(&[]).0, 0, "healthy first");
    r.sim.set_fault("cpu-fallback");
    expect(r.check.run(&[]), (0, "ok", "none"), "");
}

#[test]
fn ps_counting_vram_that_no_runner_holds_is_cpu_fallback() {
    let r = rig(&[], |_, _| FakeGpu::new(0));
    expect(r.check.run(&[]), FALLBACK, "/api/ps counts");
}

#[test]
fn runner_vram_and_gpu_utilisation_are_metrics_promtool_accepts() {
    let r = rig(&[], |pid, vram| FakeGpu::new(37).process(pid, vram));
    let (check, pid, vram) = (&r.check, r.pid, r.vram);
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
    let r = rig(&["--fault", "orphan-runner"], |pid, vram| {
        FakeGpu::new(0).process(pid, vram)
    });
    assert!(
        sim_runner_vram(&r.sim)[0].2,
        "the simulator orphaned {}",
        r.pid
    );
    let held = format!("GPU 0 at 0% (P8), runner {} holds 1.9GiB", r.pid);
    let json = expect(
        r.check.run(&["--freeze-after", "0s"]),
        (2, "model-wedged", "kill-runner"),
        &held,
    );
    assert_eq!(json["details"]["remedy"]["pid"], r.pid);
}

#[test]
fn s9_slow_gpu_says_slow_with_the_gpu_state() {
    let r = rig(&["--fault", "slow"], |pid, vram| {
        FakeGpu::new(4).pstate(12).process(pid, vram)
    });
    let args = ["--slow-after", "500ms", "--timeout", "10s"];
    expect(
        r.check.run(&args),
        (1, "slow", "report-only"),
        "GPU 0 at 4% (P12)",
    );
}

/// S1 shape (generate and `/slots` hang) on a GPU only the runner uses:
/// utilisation that moves between runs is work, so busy; once it stays
/// flat the freeze is declared, with the GPU's picture in the summary.
#[test]
fn gpu_utilisation_moving_under_a_silent_runner_is_busy_until_it_stays_flat() {
    let r = rig(&["--fault", "wedged-runner"], |pid, vram| {
        FakeGpu::new(40).process(pid, vram)
    });
    let args = ["--freeze-after", "2s", "--timeout", "4s"];
    expect(r.check.run(&args), (1, "model-wedged", "none"), "");
    r.gpus.set(&[FakeGpu::new(85).process(r.pid, r.vram)]);
    expect(r.check.run(&args), (0, "busy", "none"), "from 40% to 85%");
    let runs = r
        .check
        .until(&args, Duration::from_secs(40), |code, _| code == 2);
    let last = &runs.last().unwrap().1;
    assert_eq!(
        (verdict(last), remedy(last)),
        ("model-wedged", "kill-runner")
    );
    let held = format!("GPU 0 at 85% (P2), runner {} holds", r.pid);
    assert!(summary(last).contains(&held), "{last:#}");
}

#[test]
fn gpu_utilisation_moving_within_one_run_is_busy_at_once() {
    let r = rig(&["--fault", "wedged-runner"], |pid, vram| {
        FakeGpu::new(40).process(pid, vram)
    });
    let run = r.check.cmd(&["--timeout", "6s"]).spawn();
    // The probe's generate attached to the runner: the first NVML read is done.
    common::wait_for("the probe's generate", Duration::from_secs(5), || {
        r.sim.state()["runners"][0]["refs"].as_u64() >= Some(1)
    });
    r.gpus.set(&[FakeGpu::new(85).process(r.pid, r.vram)]);
    let out = run.into_inner().wait_with_output().unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (out.status.code(), verdict(&json)),
        (Some(0), "busy"),
        "{json:#}"
    );
    assert!(
        summary(&json).contains("from 40% to 85%) during the check"),
        "{json:#}"
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
