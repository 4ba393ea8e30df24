//! Hostile or broken sysfs and proc trees: a FIFO where a kernel file
//! should be must not hang the probe, a huge file must not be read whole,
//! and a symlink planted at a file must not be followed.

mod common;

use common::{Rig, json, run_within};
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Longer than any honest run, far shorter than "forever".
const PATIENCE: Duration = Duration::from_secs(20);

fn mkfifo(path: &Path) {
    let _ = fs::remove_file(path);
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

/// One AMD GPU (card0, 0000:03:00.0) and a process holding VRAM on it.
fn amd_rig() -> Rig {
    let rig = Rig::new("init 9\n");
    let device = rig.path("sys/class/drm/card0/device");
    fs::create_dir_all(device.join("hwmon/hwmon0")).unwrap();
    for (file, text) in [
        ("vendor", "0x1002\n"),
        (
            "uevent",
            "DRIVER=amdgpu\nPCI_ID=1002:744C\nPCI_SLOT_NAME=0000:03:00.0\n",
        ),
        ("gpu_busy_percent", "3\n"),
        ("mem_info_vram_total", "25753026560\n"),
        ("mem_info_vram_used", "7946412032\n"),
        ("hwmon/hwmon0/temp1_input", "46000\n"),
    ] {
        fs::write(device.join(file), text).unwrap();
    }
    rig.process(77, "llama-server", &["llama-server"]).drm_fd(
        77,
        5,
        "drm-driver:\tamdgpu\ndrm-client-id:\t1\ndrm-pdev:\t0000:03:00.0\n\
         drm-memory-vram:\t1024 KiB\n",
    );
    rig
}

#[test]
fn fifos_in_sysfs_and_proc_are_skipped_not_waited_on() {
    let rig = amd_rig();
    mkfifo(&rig.path("sys/class/drm/card0/device/gpu_busy_percent"));
    mkfifo(&rig.path("sys/class/drm/card0/device/hwmon/hwmon0/temp1_input"));
    mkfifo(&rig.path("proc/77/comm"));
    mkfifo(&rig.path("proc/77/cmdline"));
    let cmd = rig.cmd().args(["--format", "json"]);
    let run = run_within(cmd, "gpu-probe over FIFOs", PATIENCE).expect_code(0);
    let gpu = &json(&run)["details"]["gpus"][0];
    assert!(gpu.get("utilization_gpu_percent").is_none(), "{run}");
    assert!(gpu.get("temperature_celsius").is_none(), "{run}");
    assert_eq!(gpu["memory_used_bytes"], 7_946_412_032_u64, "{run}");
    let process = &gpu["processes"][0];
    assert_eq!(process["pid"], 77, "{run}");
    assert!(process.get("name").is_none(), "{run}");

    mkfifo(&rig.path("proc/77/fdinfo/5"));
    let cmd = rig.cmd().args(["--format", "json"]);
    let run = run_within(cmd, "gpu-probe over a FIFO fdinfo", PATIENCE).expect_code(0);
    let gpu = &json(&run)["details"]["gpus"][0];
    assert_eq!(gpu["processes"].as_array().unwrap().len(), 0, "{run}");
}

#[test]
fn a_gigabyte_sysfs_or_fdinfo_file_is_not_read_whole() {
    let rig = amd_rig();
    let fdinfo = "drm-driver:\tamdgpu\ndrm-client-id:\t1\ndrm-pdev:\t0000:03:00.0\n\
                  drm-memory-vram:\t1024 KiB\n";
    let device = rig.path("sys/class/drm/card0/device");
    for (path, head) in [
        (device.join("product_name"), "Radeon RX 7900 XTX\n"),
        (rig.path("proc/77/fdinfo/5"), fdinfo),
    ] {
        fs::write(&path, head).unwrap();
        let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(1 << 30).unwrap(); // NUL padding, sparse: costs no disk
    }
    // 512 MiB of address space is plenty for a run (about 4 MiB resident)
    // and too little to read a gigabyte: a whole read fails, losing the
    // values. prlimit execs, so the guard's kill reaches the probe itself.
    let cmd = rig
        .cmd_under(&["prlimit", "--as=536870912", "--"])
        .args(["--format", "json"]);
    let run = run_within(cmd, "gpu-probe over 1 GiB files", PATIENCE).expect_code(0);
    let gpu = &json(&run)["details"]["gpus"][0];
    assert_eq!(gpu["name"], "Radeon RX 7900 XTX", "{run}");
    assert_eq!(gpu["processes"][0]["memory_bytes"], 1 << 20, "{run}");
}

#[test]
fn a_symlink_planted_at_a_sysfs_file_is_not_followed() {
    let rig = amd_rig();
    let secret = rig.path("secret");
    fs::write(&secret, "root:$6$hash:19000:0:99999:7:::\n").unwrap();
    let name = rig.path("sys/class/drm/card0/device/product_name");
    std::os::unix::fs::symlink(&secret, &name).unwrap();
    let comm = rig.path("proc/77/comm");
    fs::remove_file(&comm).unwrap();
    std::os::unix::fs::symlink(&secret, &comm).unwrap();
    let run = rig.cmd().args(["--format", "json"]).run().expect_code(0);
    assert!(!run.stdout.contains("$6$hash"), "{run}");
    assert_eq!(
        json(&run)["details"]["gpus"][0]["name"],
        "AMD GPU 1002:744C"
    );
}

#[test]
fn hostile_process_names_cannot_forge_output_lines() {
    let rig = common::two_gpus();
    rig.process(
        4242,
        "x\nGPU OK - all fine",
        &["sh", "-c", "a | b", "\u{1b}[2K"],
    );
    let run = rig.cmd().run().expect_code(0);
    assert_eq!(run.stdout.lines().count(), 6, "{run}");
    assert!(!run.stdout.contains("\nGPU OK"), "{run}");
    assert!(run.stdout.contains("x\\nGPU OK - all fine"), "{run}");
    assert_eq!(
        run.stdout.matches('|').count(),
        1,
        "one perfdata separator\n{run}"
    );
    let run = rig.cmd().args(["--process", "a|x"]).run().expect_code(0);
    assert_eq!(run.stdout.matches('|').count(), 1, "{run}");
    let prom = rig.cmd().args(["--format", "prom"]).run().expect_code(0);
    let (ok, said) = common::promtool(&prom.stdout);
    assert!(ok, "{said}\n{prom}");
}

#[test]
fn a_fifo_or_directory_as_nvml_library_is_refused_without_hanging() {
    let rig = common::two_gpus();
    let fifo = rig.path("libnvidia-ml.so.1");
    mkfifo(&fifo);
    for lib in [fifo, rig.path("proc")] {
        let cmd = rig.cmd_with_lib(&lib).arg("--no-amd");
        let run = run_within(cmd, "gpu-probe loading a FIFO", PATIENCE).expect_code(3);
        assert!(run.stdout.contains("not a regular file"), "{run}");
    }
}

#[test]
fn an_nvml_call_that_never_returns_is_given_up_as_hung() {
    let rig = Rig::new("gpus 1\ngpu 0 uuid GPU-1\ngpu 0 hang util\n");
    let cmd = rig.cmd().args(["--timeout", "1s", "--format", "json"]);
    let run = run_within(cmd, "gpu-probe over a hung NVML", PATIENCE).expect_code(2);
    let out = json(&run);
    assert_eq!(out["details"]["nvidia"]["status"], "hung", "{run}");
    let summary = out["summary"].as_str().unwrap();
    assert!(summary.contains("did not answer within 1s"), "{run}");
    assert!(summary.contains("Xid"), "{run}");
}
