//! The Prometheus output passes the real `promtool check metrics`, and
//! `--textfile` writes the same text.

mod common;

use common::{Rig, promtool};
use selfheal_test_support::require;

/// A box with two NVIDIA GPUs (one lost) and processes, so every family
/// and label shape appears.
const SCENARIO: &str = "\
gpus 3
gpu 0 name NVIDIA A100-SXM4-80GB
gpu 0 uuid GPU-11111111-2222-3333-4444-555555555555
gpu 0 util 0 0
gpu 0 memory 85899345920 8000000000 77899345920
gpu 0 temp 35
gpu 0 power 61000
gpu 0 limit 400000
gpu 0 pstate 0
gpu 0 compute 4242 7900000000
gpu 0 compute 4243 na
gpu 1 name NVIDIA A100-SXM4-80GB
gpu 1 uuid GPU-66666666-7777-8888-9999-000000000000
gpu 1 lost
gpu 2 name Quoted \"GPU\" \\ name
gpu 2 uuid GPU-2
gpu 2 util 5 1
";

#[test]
fn prom_output_passes_promtool() {
    require("promtool", "prometheus");
    let rig = Rig::new(SCENARIO);
    rig.process(4242, "llama-server", &["llama-server"]);
    let run = rig
        .cmd()
        .args(["--format", "prom", "--state-dir"])
        .arg(rig.path("state"))
        .run()
        .expect_code(2);
    for family in [
        "selfheal_gpu_probe_utilization_ratio{gpu=\"0\",uuid=\"GPU-11111111-2222-3333-4444-555555555555\",name=\"NVIDIA A100-SXM4-80GB\",vendor=\"nvidia\"} 0",
        "selfheal_gpu_probe_memory_used_bytes{gpu=\"0\"",
        "selfheal_gpu_probe_temperature_celsius{",
        "selfheal_gpu_probe_power_watts{gpu=\"0\",uuid=\"GPU-11111111-2222-3333-4444-555555555555\",name=\"NVIDIA A100-SXM4-80GB\",vendor=\"nvidia\"} 61",
        "selfheal_gpu_probe_process_memory_bytes{gpu=\"0\",uuid=\"GPU-11111111-2222-3333-4444-555555555555\",vendor=\"nvidia\",pid=\"4242\",comm=\"llama-server\"} 7900000000",
        "selfheal_gpu_probe_idle_holding_seconds{gpu=\"0\"",
        "selfheal_gpu_probe_lost{gpu=\"1\",uuid=\"\",name=\"\",vendor=\"nvidia\"} 1",
        "name=\"Quoted \\\"GPU\\\" \\\\ name\"",
    ] {
        assert!(run.stdout.contains(family), "missing {family}\n{run}");
    }
    let (ok, said) = promtool(&run.stdout);
    assert!(ok, "promtool rejected the output:\n{said}\n{run}");
}

#[test]
fn textfile_gets_the_metrics_whatever_the_format() {
    let rig = Rig::new(SCENARIO.replace("gpu 1 lost\n", "").as_str());
    let textfile = rig.path("gpu.prom");
    let run = rig
        .cmd()
        .arg("--textfile")
        .arg(&textfile)
        .run()
        .expect_code(0);
    assert!(run.stdout.starts_with("GPU OK - 3 GPUs"), "{run}");
    let written = std::fs::read_to_string(&textfile).unwrap();
    let prom = rig.cmd().args(["--format", "prom"]).run().expect_code(0);
    assert_eq!(written, prom.stdout);
    assert!(promtool(&written).0);
}

#[test]
fn unknown_run_leaves_the_previous_textfile_alone() {
    let rig = Rig::new("gpus 0\n");
    let textfile = rig.path("gpu.prom");
    std::fs::write(&textfile, "# previous run\n").unwrap();
    let run = rig
        .cmd()
        .arg("--textfile")
        .arg(&textfile)
        .run()
        .expect_code(3);
    assert!(run.stderr.contains("left as it was"), "{run}");
    assert_eq!(
        std::fs::read_to_string(&textfile).unwrap(),
        "# previous run\n"
    );
}
