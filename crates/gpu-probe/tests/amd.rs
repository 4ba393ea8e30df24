//! AMD GPUs against fixture sysfs and proc trees laid out as the amdgpu
//! driver and the kernel's DRM fdinfo show them.

mod common;

use common::{Rig, TWO_GPUS, json, promtool};
use std::fs;
use std::path::Path;

/// A Navi 31 card as `card1` (card0 is an Intel iGPU), with a connector
/// directory beside it that must not count as a card.
fn amd_sysfs(sys: &Path) {
    let drm = sys.join("class/drm");
    let intel = drm.join("card0/device");
    fs::create_dir_all(&intel).unwrap();
    fs::write(intel.join("vendor"), "0x8086\n").unwrap();
    fs::write(
        intel.join("uevent"),
        "DRIVER=i915\nPCI_SLOT_NAME=0000:00:02.0\n",
    )
    .unwrap();
    fs::create_dir_all(drm.join("card1-DP-1")).unwrap();
    let device = drm.join("card1/device");
    let hwmon = device.join("hwmon/hwmon4");
    fs::create_dir_all(&hwmon).unwrap();
    for (file, text) in [
        ("vendor", "0x1002\n"),
        (
            "uevent",
            "DRIVER=amdgpu\nPCI_CLASS=30000\nPCI_ID=1002:744C\nPCI_SLOT_NAME=0000:03:00.0\n",
        ),
        ("gpu_busy_percent", "0\n"),
        ("mem_busy_percent", "0\n"),
        ("mem_info_vram_total", "25753026560\n"),
        ("mem_info_vram_used", "7946412032\n"),
    ] {
        fs::write(device.join(file), text).unwrap();
    }
    fs::write(hwmon.join("temp1_input"), "52000\n").unwrap();
    fs::write(hwmon.join("power1_average"), "33000000\n").unwrap();
    fs::write(hwmon.join("power1_cap"), "303000000\n").unwrap();
}

fn fdinfo(client: u32, vram_kib: u64) -> String {
    format!(
        "pos:\t0\nflags:\t02100002\nmnt_id:\t26\nino:\t1047\ndrm-driver:\tamdgpu\n\
         drm-client-id:\t{client}\ndrm-pdev:\t0000:03:00.0\npasid:\t32781\n\
         drm-memory-vram:\t{vram_kib} KiB\ndrm-memory-gtt: \t2048 KiB\n\
         drm-memory-cpu: \t0 KiB\ndrm-engine-gfx:\t1234567 ns\n"
    )
}

/// No NVIDIA library here, one AMD GPU: an Ollama runner holding 7 GiB
/// through two descriptors of the same DRM client, a compositor with 64 MiB.
fn amd_rig() -> Rig {
    let rig = Rig::new("init 9\n");
    amd_sysfs(&rig.path("sys"));
    rig.process(
        3001,
        "llama-server",
        &["/usr/lib/ollama/llama-server", "--port", "40111"],
    )
    .drm_fd(3001, 5, &fdinfo(42, 7 << 20))
    .drm_fd(3001, 9, &fdinfo(42, 7 << 20))
    .process(880, "kwin_wayland", &["/usr/bin/kwin_wayland"])
    .drm_fd(880, 12, &fdinfo(3, 65536));
    // A plain file with fdinfo must not be read as a DRM client.
    rig.process(42, "bash", &["bash"]);
    std::os::unix::fs::symlink("/home/u/notes.txt", rig.path("proc/42/fd/3")).unwrap();
    fs::write(rig.path("proc/42/fdinfo/3"), fdinfo(99, 1 << 20)).unwrap();
    rig
}

#[test]
fn amd_gpu_is_read_from_sysfs_with_processes_from_fdinfo() {
    let rig = amd_rig();
    let run = rig.cmd().args(["--format", "json"]).run().expect_code(0);
    let out = json(&run);
    assert_eq!(out["details"]["nvidia"]["status"], "driver_not_loaded");
    assert_eq!(out["details"]["amd_cards"], 1);
    let gpus = out["details"]["gpus"].as_array().unwrap();
    assert_eq!(
        gpus.len(),
        1,
        "the Intel card and the connector are not AMD GPUs\n{run}"
    );
    let gpu = &gpus[0];
    assert_eq!(gpu["vendor"], "amd");
    assert_eq!(gpu["index"], 1);
    assert_eq!(gpu["uuid"], "0000:03:00.0");
    assert_eq!(gpu["name"], "AMD GPU 1002:744C");
    assert_eq!(gpu["memory_free_bytes"], 25_753_026_560_u64 - 7_946_412_032);
    assert_eq!(gpu["temperature_celsius"], 52.0);
    assert_eq!(gpu["power_watts"], 33.0);
    assert_eq!(gpu["power_limit_watts"], 303.0);
    assert_eq!(gpu["idle_holding"], true);
    let procs = gpu["processes"].as_array().unwrap();
    assert_eq!(procs.len(), 2, "{run}");
    assert_eq!(procs[0]["pid"], 880);
    assert_eq!(procs[0]["memory_bytes"], 64 << 20);
    assert_eq!(procs[1]["name"], "llama-server");
    assert_eq!(
        procs[1]["memory_bytes"],
        7_u64 << 30,
        "one client behind two fds counts once\n{run}"
    );
    assert_eq!(procs[1]["kind"], "drm");
}

#[test]
fn amd_filters_and_text() {
    let rig = amd_rig();
    let run = rig.cmd().args(["--process", "llama"]).run().expect_code(0);
    assert!(
        run.stdout.starts_with(
            "GPU OK - 1 GPU, 'llama' holds 7GiB on GPU 1, GPU 1 idle while holding memory |"
        ),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("\nAMD GPU 1 (0000:03:00.0, AMD GPU 1002:744C): 0% busy"),
        "{run}"
    );
    rig.cmd()
        .args(["--gpu", "0000:03:00.0"])
        .run()
        .expect_code(0);
    let run = rig
        .cmd()
        .args(["--gpu", "0", "--expect", "1"])
        .run()
        .expect_code(2);
    assert!(
        run.stdout.contains("1 AMD GPU(s) did not match --gpu"),
        "{run}"
    );
    let run = rig.cmd().args(["--no-amd"]).run().expect_code(3);
    assert!(run.stdout.contains("no GPU found"), "{run}");
}

#[test]
fn amd_temperature_limit() {
    let rig = amd_rig();
    let run = rig.cmd().args(["--temp-crit", "50"]).run().expect_code(2);
    assert!(
        run.stdout.starts_with(
            "GPU CRITICAL - AMD GPU 1 (0000:03:00.0, AMD GPU 1002:744C) at 52C (limit 50C)"
        ),
        "{run}"
    );
}

#[test]
fn nvidia_and_amd_together_keep_series_apart() {
    selfheal_test_support::require("promtool", "prometheus");
    let rig = Rig::new(TWO_GPUS);
    amd_sysfs(&rig.path("sys"));
    let run = rig.cmd().args(["--format", "json"]).run().expect_code(0);
    let gpus = json(&run)["details"]["gpus"].clone();
    let vendors: Vec<_> = gpus
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["vendor"].clone(), g["index"].clone()))
        .collect();
    assert_eq!(
        vendors,
        [
            ("nvidia".into(), 0.into()),
            ("nvidia".into(), 1.into()),
            ("amd".into(), 1.into())
        ],
        "{run}"
    );
    let run = rig.cmd().args(["--format", "prom"]).run().expect_code(0);
    let (ok, said) = promtool(&run.stdout);
    assert!(ok, "promtool rejected mixed-vendor output:\n{said}\n{run}");
}
