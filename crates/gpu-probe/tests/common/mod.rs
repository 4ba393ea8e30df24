//! Shared by the integration tests: the fake NVML library (built once per
//! test binary by selfheal-test-support), per-test scenario
//! files, fixture proc/sys trees, and the binary under test.

#![allow(dead_code)] // each test binary uses its own subset

use selfheal_test_support::{Cmd, Run, TempDir, tempdir};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_gpu-probe");

/// The fake `libnvidia-ml.so.1`, shared with other crates' tests.
pub fn fake_nvml() -> &'static Path {
    selfheal_test_support::fake_nvml::lib()
}

/// A temp directory with a scenario for the fake NVML, an empty sysfs (no
/// AMD GPU) and a proc tree of its own.
pub struct Rig {
    pub dir: TempDir,
}

impl Rig {
    pub fn new(scenario: &str) -> Self {
        let dir = tempdir().expect("tempdir");
        fs::write(dir.path().join("scenario"), scenario).expect("write scenario");
        fs::create_dir_all(dir.path().join("sys/class/drm")).unwrap();
        fs::create_dir_all(dir.path().join("proc")).unwrap();
        Rig { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A process in the fixture proc tree.
    pub fn process(&self, pid: u32, comm: &str, argv: &[&str]) -> &Self {
        let dir = self.path("proc").join(pid.to_string());
        fs::create_dir_all(dir.join("fd")).unwrap();
        fs::create_dir_all(dir.join("fdinfo")).unwrap();
        fs::write(dir.join("comm"), format!("{comm}\n")).unwrap();
        let mut cmdline = argv.join("\0");
        cmdline.push('\0');
        fs::write(dir.join("cmdline"), cmdline).unwrap();
        self
    }

    /// An open DRM file of `pid` with this fdinfo text.
    pub fn drm_fd(&self, pid: u32, fd: u32, fdinfo: &str) -> &Self {
        let dir = self.path("proc").join(pid.to_string());
        symlink("/dev/dri/renderD128", dir.join("fd").join(fd.to_string())).unwrap();
        fs::write(dir.join("fdinfo").join(fd.to_string()), fdinfo).unwrap();
        self
    }

    /// The binary, reading NVIDIA from the fake library and this rig's trees.
    pub fn cmd(&self) -> Cmd {
        self.cmd_with_lib(fake_nvml())
    }

    /// The binary, loading `lib` as its NVML library.
    pub fn cmd_with_lib(&self, lib: &Path) -> Cmd {
        self.wrapped(Cmd::new(BIN), lib)
    }

    /// The binary run through another program (`prlimit ... --`).
    pub fn cmd_under(&self, wrapper: &[&str]) -> Cmd {
        self.wrapped(
            Cmd::new(wrapper[0]).args(&wrapper[1..]).arg(BIN),
            fake_nvml(),
        )
    }

    fn wrapped(&self, cmd: Cmd, lib: &Path) -> Cmd {
        cmd.env(
            selfheal_test_support::fake_nvml::SCENARIO_ENV,
            self.path("scenario"),
        )
        .arg("--nvml-lib")
        .arg(lib)
        .arg("--sysfs-root")
        .arg(self.path("sys"))
        .arg("--proc-root")
        .arg(self.path("proc"))
    }
}

/// Runs `cmd`, failing the test if it is still running after `limit`
/// (the child is killed then): for runs that must not hang.
pub fn run_within(cmd: Cmd, what: &str, limit: Duration) -> Run {
    let mut guard = cmd.spawn();
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(guard.child().stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(guard.child().stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = guard.child().try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: still running after {limit:?}, so it hangs"
        );
        thread::sleep(Duration::from_millis(20));
    };
    Run {
        line: what.to_owned(),
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Parses `--format json` output, printing the run on failure.
pub fn json(run: &selfheal_test_support::Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("--format json is not JSON ({e})\n{run}"))
}

pub const UUID0: &str = "GPU-5d1f6f0e-8a3c-4b6f-9d2e-3f4a5b6c7d8e";
pub const UUID1: &str = "GPU-0b2c4d6e-1f3a-4c5e-8a9b-0c1d2e3f4a5b";

/// Two RTX 4090s: GPU 0 idle with an Ollama runner holding 7.4 GB (the
/// frozen-Ollama picture), GPU 1 busy with a training job and a desktop.
pub const TWO_GPUS: &str = "\
driver 550.54.14
gpus 2
gpu 0 name NVIDIA GeForce RTX 4090
gpu 0 uuid GPU-5d1f6f0e-8a3c-4b6f-9d2e-3f4a5b6c7d8e
gpu 0 util 0 0
gpu 0 memory 25757220864 7946412032 17810808832
gpu 0 temp 41
gpu 0 power 21500
gpu 0 limit 450000
gpu 0 pstate 8
gpu 0 compute 4242 7945000000
gpu 1 name NVIDIA GeForce RTX 4090
gpu 1 uuid GPU-0b2c4d6e-1f3a-4c5e-8a9b-0c1d2e3f4a5b
gpu 1 util 97 61
gpu 1 memory 25757220864 20401094656 5356126208
gpu 1 temp 78
gpu 1 power 412250
gpu 1 limit 450000
gpu 1 pstate 2
gpu 1 compute 5150 19327352832
gpu 1 graphics 5150 19327352832
gpu 1 graphics 1771 na
";

pub fn two_gpus() -> Rig {
    let rig = Rig::new(TWO_GPUS);
    rig.process(
        4242,
        "llama-server",
        &[
            "/usr/lib/ollama/llama-server",
            "--model",
            "/root/.ollama/models/blobs/sha256-6a0746",
            "--port",
            "34567",
        ],
    );
    rig.process(5150, "python3", &["python3", "train.py", "--epochs", "90"]);
    rig.process(1771, "Xorg", &["/usr/lib/xorg/Xorg", "vt2"]);
    rig
}

/// Runs the real `promtool check metrics`: whether it accepted the text
/// without a word, and what it said.
pub fn promtool(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && said.trim().is_empty(), said)
}
