//! Limits and history on the real binary over the fake NVML: --expect,
//! temperature and free-memory thresholds, and idle spells timed in the
//! state directory (never a fault by themselves).

mod common;

use common::{UUID0, UUID1, json, two_gpus};

#[test]
fn idle_spell_is_timed_with_a_state_dir_and_never_critical() {
    let rig = two_gpus();
    let state = rig.path("state");
    let at = |unix: f64| {
        rig.cmd()
            .arg("--state-dir")
            .arg(&state)
            .env("SELFHEAL_FAKE_CLOCK", format!("unix={unix}"))
            .args(["--format", "json"])
            .run()
            .expect_code(0)
    };
    let first = json(&at(2_000_000_000.0));
    assert_eq!(first["details"]["gpus"][0]["idle_seconds"], 0.0);
    let later = at(2_000_000_192.0);
    let out = json(&later);
    assert_eq!(out["details"]["gpus"][0]["idle_seconds"], 192.0, "{later}");
    assert_eq!(
        out["details"]["gpus"][0]["idle_since"],
        "2033-05-18T03:33:20Z"
    );
    assert!(out["details"]["gpus"][1].get("idle_seconds").is_none());
    assert!(
        out["summary"]
            .as_str()
            .unwrap()
            .contains("GPU 0 idle while holding memory for 3m 12s"),
        "{later}"
    );
    assert!(
        state
            .join("gpu-probe")
            .join(format!("{UUID0}.json"))
            .is_file()
    );
}

#[test]
fn fewer_gpus_than_expected_is_critical() {
    let rig = two_gpus();
    rig.cmd().args(["--expect", "2"]).run().expect_code(0);
    let run = rig.cmd().args(["--expect", "3"]).run().expect_code(2);
    assert!(
        run.stdout
            .starts_with("GPU CRITICAL - 2 GPUs found, expected at least 3"),
        "{run}"
    );
}

#[test]
fn temperature_and_free_memory_limits() {
    let rig = two_gpus();
    rig.cmd()
        .args(["--temp-warn", "80", "--free-warn", "4GiB"])
        .run()
        .expect_code(0);
    let run = rig
        .cmd()
        .args(["--temp-warn", "75", "--temp-crit", "90"])
        .run()
        .expect_code(1);
    assert!(
        run.stdout.starts_with(&format!(
            "GPU WARNING - GPU 1 ({UUID1}, NVIDIA GeForce RTX 4090) at 78C (limit 75C)"
        )),
        "{run}"
    );
    let run = rig
        .cmd()
        .args(["--free-warn", "30%", "--free-crit", "6GB"])
        .run()
        .expect_code(2);
    assert!(run.stdout.contains("has 4.9GiB free (limit 6GB)"), "{run}");
    let run = rig.cmd().args(["--free-warn", "30%"]).run().expect_code(1);
    assert!(run.stdout.contains("has 4.9GiB free (limit 30%)"), "{run}");
    rig.cmd()
        .args(["--free-crit", "6 parsecs"])
        .run()
        .expect_code(3)
        .stderr_has("6 parsecs");
}

#[test]
fn corrupt_idle_state_is_set_aside_with_a_warning() {
    let rig = two_gpus();
    let dir = rig.path("state/gpu-probe");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{UUID0}.json")), "{\"idle_since\": {\"un").unwrap();
    let run = rig
        .cmd()
        .arg("--state-dir")
        .arg(rig.path("state"))
        .run()
        .expect_code(0);
    assert!(
        run.stderr.contains("gpu-probe: warning: state file") && run.stderr.contains("corrupt"),
        "{run}"
    );
    let aside = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".corrupt-")
        })
        .count();
    assert_eq!(aside, 1, "{run}");
}
