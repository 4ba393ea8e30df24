//! NVIDIA through the real NVML code path, against a fake
//! `libnvidia-ml.so.1` built from C whose answers come from a scenario.

mod common;

use common::{Rig, TWO_GPUS, UUID0, UUID1, json, two_gpus};

#[test]
fn two_gpus_with_processes_are_read_field_by_field() {
    let rig = two_gpus();
    let run = rig.cmd().args(["--format", "json"]).run().expect_code(0);
    let out = json(&run);
    assert_eq!(out["status"], "ok", "{run}");
    assert_eq!(out["details"]["nvidia"]["status"], "ok");
    assert_eq!(out["details"]["nvidia"]["driver_version"], "550.54.14");
    let gpu0 = &out["details"]["gpus"][0];
    assert_eq!(gpu0["index"], 0);
    assert_eq!(gpu0["vendor"], "nvidia");
    assert_eq!(gpu0["uuid"], UUID0);
    assert_eq!(gpu0["name"], "NVIDIA GeForce RTX 4090");
    assert_eq!(gpu0["utilization_gpu_percent"], 0);
    assert_eq!(gpu0["memory_total_bytes"], 25_757_220_864_u64);
    assert_eq!(gpu0["memory_used_bytes"], 7_946_412_032_u64);
    assert_eq!(gpu0["memory_free_bytes"], 17_810_808_832_u64);
    assert_eq!(gpu0["temperature_celsius"], 41.0);
    assert_eq!(gpu0["power_watts"], 21.5);
    assert_eq!(gpu0["power_limit_watts"], 450.0);
    assert_eq!(gpu0["performance_state"], 8);
    assert_eq!(gpu0["idle_holding"], true);
    let runner = &gpu0["processes"][0];
    assert_eq!(runner["pid"], 4242);
    assert_eq!(runner["memory_bytes"], 7_945_000_000_u64);
    assert_eq!(runner["kind"], "compute");
    assert_eq!(runner["name"], "llama-server");
    assert!(
        runner["cmdline"].as_str().unwrap().contains("--port 34567"),
        "{run}"
    );
    let gpu1 = &out["details"]["gpus"][1];
    assert_eq!(gpu1["idle_holding"], false);
    assert_eq!(gpu1["utilization_memory_percent"], 61);
    let procs = gpu1["processes"].as_array().unwrap();
    assert_eq!(procs.len(), 2, "one entry per pid\n{run}");
    assert_eq!(procs[0]["pid"], 1771);
    assert!(
        procs[0].get("memory_bytes").is_none(),
        "unavailable memory is absent\n{run}"
    );
    assert_eq!(procs[1]["kind"], "compute+graphics");
}

#[test]
fn text_names_the_idle_gpu_and_the_processes() {
    let rig = two_gpus();
    let run = rig.cmd().run().expect_code(0);
    let first = run.stdout.lines().next().unwrap();
    assert!(
        first.starts_with(
            "GPU OK - 2 GPUs, 3 process(es) hold 25.4GiB, GPU 0 idle while holding memory |"
        ),
        "{run}"
    );
    assert!(first.contains("utilization_ratio[0,"), "{run}");
    assert!(
        run.stdout.contains(&format!(
            "GPU 0 ({UUID0}, NVIDIA GeForce RTX 4090): 0% busy"
        )),
        "{run}"
    );
    assert!(
        run.stdout.contains(
            "  pid 4242 llama-server 7.4GiB (compute): /usr/lib/ollama/llama-server --model"
        ),
        "{run}"
    );
}

#[test]
fn process_filter_says_how_much_and_where() {
    let rig = two_gpus();
    let run = rig
        .cmd()
        .args(["--process", "ollama|llama-server", "--format", "json"])
        .run()
        .expect_code(0);
    let out = json(&run);
    assert_eq!(
        out["summary"],
        "2 GPUs, 'ollama|llama-server' holds 7.4GiB on GPU 0, GPU 0 idle while holding memory",
        "{run}"
    );
    assert_eq!(
        out["details"]["gpus"][1]["processes"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(out["details"]["process_filter"], "ollama|llama-server");
    let run = rig.cmd().args(["--process", "^vllm$"]).run().expect_code(0);
    assert!(
        run.stdout
            .contains("no process matching '^vllm$' holds GPU memory"),
        "{run}"
    );
    rig.cmd()
        .args(["--process", "(unclosed"])
        .run()
        .expect_code(3)
        .stderr_has("(unclosed");
}

#[test]
fn gpu_filter_by_index_or_uuid() {
    let rig = two_gpus();
    let out = json(
        &rig.cmd()
            .args(["--gpu", "1", "--format", "json"])
            .run()
            .expect_code(0),
    );
    let gpus = out["details"]["gpus"].as_array().unwrap();
    assert_eq!(gpus.len(), 1);
    assert_eq!(gpus[0]["uuid"], UUID1);
    let out = json(
        &rig.cmd()
            .args(["--gpu", UUID0, "--gpu", "1", "--format", "json"])
            .run()
            .expect_code(0),
    );
    assert_eq!(out["details"]["gpus"].as_array().unwrap().len(), 2);
    let run = rig.cmd().args(["--gpu", "7"]).run().expect_code(3);
    assert!(
        run.stdout
            .contains("no GPU found: NVML lists no GPU (or none matched --gpu)"),
        "{run}"
    );
}

#[test]
fn zero_gpus_is_unknown_unless_expected() {
    let rig = Rig::new("gpus 0\n");
    let run = rig.cmd().run().expect_code(3);
    assert!(
        run.stdout
            .starts_with("GPU UNKNOWN - no GPU found: NVML lists no GPU"),
        "{run}"
    );
    let run = rig.cmd().args(["--expect", "1"]).run().expect_code(2);
    assert!(
        run.stdout.contains("0 GPUs found, expected at least 1"),
        "{run}"
    );
}

#[test]
fn version_mismatch_at_init_is_critical_with_the_fix() {
    let rig = Rig::new("init 18\ngpus 1\n");
    let run = rig.cmd().args(["--format", "json"]).run().expect_code(2);
    let out = json(&run);
    assert_eq!(out["details"]["nvidia"]["status"], "version_mismatch");
    let summary = out["summary"].as_str().unwrap();
    assert!(summary.contains("version mismatch"), "{run}");
    assert!(
        summary.contains("reboot or reload the nvidia kernel module"),
        "{run}"
    );
    let run = rig.cmd().args(["--format", "prom"]).run().expect_code(2);
    assert!(
        run.stdout
            .contains("selfheal_gpu_probe_nvidia_state{state=\"version_mismatch\"} 1"),
        "{run}"
    );
}

#[test]
fn driver_not_loaded_is_no_gpu() {
    let rig = Rig::new("init 9\n");
    let run = rig.cmd().run().expect_code(3);
    assert!(
        run.stdout
            .contains("the NVIDIA kernel driver is not loaded"),
        "{run}"
    );
}

#[test]
fn lost_gpu_is_critical_and_named() {
    let scenario = TWO_GPUS.replace("gpu 1 util 97 61", "gpu 1 lost");
    let rig = Rig::new(&scenario);
    let run = rig.cmd().args(["--format", "json"]).run().expect_code(2);
    let out = json(&run);
    let summary = out["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("GPU 1 is lost (fallen off the bus"),
        "{run}"
    );
    assert!(summary.contains("GPU_IS_LOST"), "{run}");
    assert_eq!(
        out["details"]["gpus"][0]["uuid"], UUID0,
        "the other GPU is still read\n{run}"
    );
    // Only the lost GPU: --gpu 0 leaves it out and the probe is OK.
    rig.cmd().args(["--gpu", "0"]).run().expect_code(0);
    let run = rig.cmd().args(["--format", "prom"]).run().expect_code(2);
    assert!(
        run.stdout
            .contains("selfheal_gpu_probe_lost{gpu=\"1\",uuid=\"\",name=\"\",vendor=\"nvidia\"} 1"),
        "{run}"
    );
}

#[test]
fn gpu_lost_before_its_handle_is_critical_too() {
    let rig = Rig::new("gpus 1\ngpu 0 handle_lost\n");
    let run = rig.cmd().run().expect_code(2);
    assert!(
        run.stdout.starts_with("GPU CRITICAL - GPU 0 is lost"),
        "{run}"
    );
}

#[test]
fn unsupported_fields_are_left_out_not_errors() {
    let scenario = "gpus 1\ngpu 0 name NVIDIA GeForce GT 1030\ngpu 0 uuid GPU-1\n\
        gpu 0 memory 2147483648 1048576 2146435072\n\
        gpu 0 compute 77 1048576\n\
        gpu 0 unsupported util\ngpu 0 unsupported temp\ngpu 0 unsupported power\n\
        gpu 0 unsupported limit\ngpu 0 unsupported pstate\n";
    let rig = Rig::new(scenario);
    let run = rig
        .cmd()
        .args(["--format", "json", "--temp-crit", "1"])
        .run()
        .expect_code(0);
    let gpu = &json(&run)["details"]["gpus"][0];
    for field in [
        "utilization_gpu_percent",
        "temperature_celsius",
        "power_watts",
        "power_limit_watts",
        "performance_state",
        "errors",
    ] {
        assert!(gpu.get(field).is_none(), "{field} should be absent\n{run}");
    }
    assert_eq!(gpu["memory_used_bytes"], 1_048_576);
    assert_eq!(
        gpu["idle_holding"], false,
        "no utilisation, no idle claim\n{run}"
    );
    let run = rig.cmd().args(["--format", "prom"]).run().expect_code(0);
    assert!(!run.stdout.contains("temperature_celsius"), "{run}");
    assert!(!run.stdout.contains("idle_holding"), "{run}");
}

#[test]
fn library_missing_is_unknown_or_critical_when_expected() {
    let rig = Rig::new("gpus 1\n");
    let missing = rig.path("no/libnvidia-ml.so.1");
    let run = rig.cmd_with_lib(&missing).run().expect_code(3);
    assert!(
        run.stdout.contains("cannot load the NVIDIA library"),
        "{run}"
    );
    assert!(run.stdout.contains("no/libnvidia-ml.so.1"), "{run}");
    rig.cmd_with_lib(&missing)
        .args(["--expect", "1"])
        .run()
        .expect_code(2);
    // The environment names the library as well as the flag.
    selfheal_test_support::Cmd::new(common::BIN)
        .env("GPU_PROBE_NVML_LIB", common::fake_nvml())
        .env("FAKE_NVML_SCENARIO", rig.path("scenario"))
        .env("GPU_PROBE_SYSFS_ROOT", rig.path("sys"))
        .run()
        .expect_code(0);
}

#[test]
fn nvml_failing_otherwise_is_unknown_with_its_reason() {
    // NVML_ERROR_NO_PERMISSION (4): /dev/nvidia* not readable by this user.
    let rig = Rig::new("init 4\n");
    let run = rig.cmd().args(["--format", "json"]).run().expect_code(3);
    let out = json(&run);
    assert_eq!(out["details"]["nvidia"]["status"], "failed");
    assert!(
        out["summary"]
            .as_str()
            .unwrap()
            .contains("Insufficient Permissions")
            || out["summary"].as_str().unwrap().contains("ermission"),
        "{run}"
    );
}

#[test]
fn a_failing_query_is_a_warning_and_the_rest_is_read() {
    let scenario = TWO_GPUS.replace("gpu 1 temp 78", "gpu 1 error temp 999");
    let rig = Rig::new(&scenario);
    let run = rig.cmd().args(["--format", "json"]).run().expect_code(0);
    assert!(
        run.stderr.contains(&format!(
            "gpu-probe: warning: GPU 1 ({UUID1}, NVIDIA GeForce RTX 4090): cannot read temperature:"
        )),
        "{run}"
    );
    let out = json(&run);
    let gpu1 = &out["details"]["gpus"][1];
    assert!(gpu1.get("temperature_celsius").is_none(), "{run}");
    assert!(
        gpu1["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("temperature: "),
        "{run}"
    );
    assert_eq!(gpu1["power_watts"], 412.25, "the rest is still read\n{run}");
    assert_eq!(out["warnings"].as_array().unwrap().len(), 1, "{run}");
}
