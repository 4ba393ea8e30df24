//! Shared by the integration tests: the simulator (built on demand, so
//! `cargo test -p ollama-frozen-check` works alone), the check binary run
//! against it with a private state directory, and JSON helpers.

#![allow(dead_code)]

use selfheal_test_support::fake_nvml;
use selfheal_test_support::ollama_sim::OllamaSim;
use selfheal_test_support::{Cmd, Run, TempDir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_ollama-frozen-check");

/// The simulator binary, built once per test process (a no-op when fresh).
pub fn sim_bin() -> &'static PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let profile_dir = selfheal_test_support::profile_dir();
        let mut cargo = Command::new(env!("CARGO"));
        cargo.args([
            "build",
            "--quiet",
            "-p",
            "ollama-sim",
            "--bin",
            "ollama-sim",
        ]);
        if profile_dir.ends_with("release") {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("run cargo to build ollama-sim");
        assert!(status.success(), "cargo build -p ollama-sim failed");
        profile_dir.join("ollama-sim")
    })
}

pub fn sim(args: &[&str]) -> OllamaSim {
    OllamaSim::start_bin(sim_bin(), args)
}

/// A check against one server, with its own state directory.
pub struct Checker {
    pub url: String,
    pub state: TempDir,
    /// The fake NVML's scenario file, when the check reads GPUs.
    pub nvml_scenario: Option<PathBuf>,
}

impl Checker {
    pub fn new(url: &str) -> Checker {
        Checker {
            url: url.to_owned(),
            state: selfheal_test_support::tempdir().unwrap(),
            nvml_scenario: None,
        }
    }

    /// A check reading GPUs from the fake NVML with the scenario at `path`.
    pub fn with_gpu(url: &str, path: &Path) -> Checker {
        Checker {
            nvml_scenario: Some(path.to_owned()),
            ..Checker::new(url)
        }
    }

    pub fn cmd(&self, extra: &[&str]) -> Cmd {
        let mut cmd = Cmd::new(BIN)
            .env_remove_all_ollama()
            .args(["--url", &self.url, "--format", "json", "--state-dir"])
            .arg(self.state.path());
        if let Some(scenario) = &self.nvml_scenario {
            cmd = cmd
                .env(fake_nvml::SCENARIO_ENV, scenario)
                .arg("--nvml-lib")
                .arg(fake_nvml::lib());
        } else {
            // The host's own GPUs (if any) must not change a verdict.
            cmd = cmd.arg("--no-gpu");
        }
        cmd.args(extra)
    }

    /// One run; its JSON and exit code.
    pub fn run(&self, extra: &[&str]) -> (i32, Value, Run) {
        let run = self.cmd(extra).run();
        let json: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{run}"));
        (run.code(), json, run)
    }

    /// Runs until `done(json)` holds or `limit` passes; returns every run's (code, json).
    pub fn until(
        &self,
        extra: &[&str],
        limit: Duration,
        done: impl Fn(i32, &Value) -> bool,
    ) -> Vec<(i32, Value)> {
        let started = Instant::now();
        let mut runs = Vec::new();
        loop {
            let (code, json, run) = self.run(extra);
            let finished = done(code, &json);
            runs.push((code, json));
            if finished {
                return runs;
            }
            assert!(
                started.elapsed() < limit,
                "condition not reached within {limit:?}; last run:\n{run}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

trait NoOllamaEnv {
    fn env_remove_all_ollama(self) -> Self;
}

impl NoOllamaEnv for Cmd {
    fn env_remove_all_ollama(self) -> Self {
        // A developer's OLLAMA_HOST or OLLAMA_LOAD_TIMEOUT must not leak into tests.
        self.env("OLLAMA_HOST", "").env("OLLAMA_LOAD_TIMEOUT", "")
    }
}

pub fn verdict(json: &Value) -> &str {
    json["details"]["verdict"].as_str().unwrap_or("?")
}

pub fn remedy(json: &Value) -> &str {
    json["details"]["remedy"]["kind"].as_str().unwrap_or("?")
}

/// The simulator's view of its runners: (model, pid, orphan).
pub fn sim_runners(sim: &OllamaSim) -> Vec<(String, u64, bool)> {
    sim.state()["runners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["model"].as_str().unwrap().to_owned(),
                r["pid"].as_u64().unwrap(),
                r["orphan"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// A client request left running in the background (a long generation,
/// a load): it reads until the server closes, which the simulator's end does.
pub fn background(port: u16, path: &str, body: &Value) {
    use std::io::{Read, Write};
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream =
        std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the simulator");
    stream.write_all(request.as_bytes()).expect("send");
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(1..) = stream.read(&mut buf) {}
    });
}

/// `/api/ps` of the simulator: model name → expires_at.
pub fn ps(sim: &OllamaSim) -> Vec<(String, String)> {
    let body = sim
        .request("GET", "/api/ps", None, Duration::from_secs(10))
        .expect("GET /api/ps")
        .json();
    body["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                m["expires_at"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Polls `ready` until it holds, or panics after `limit`.
pub fn wait_for(what: &str, limit: Duration, ready: impl Fn() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A scenario file for the fake NVML, replaced whole (rename) so a check
/// running meanwhile reads the old or the new one.
pub struct GpuScenario {
    pub dir: TempDir,
}

impl GpuScenario {
    pub fn new(gpus: &[fake_nvml::FakeGpu]) -> GpuScenario {
        let scenario = GpuScenario {
            dir: selfheal_test_support::tempdir().unwrap(),
        };
        scenario.set(gpus);
        scenario
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("scenario")
    }

    pub fn set(&self, gpus: &[fake_nvml::FakeGpu]) {
        self.set_text(&fake_nvml::scenario(gpus));
    }

    /// A scenario written by hand (an init error, a lost GPU).
    pub fn set_text(&self, text: &str) {
        let partial = self.dir.path().join("scenario.new");
        std::fs::write(&partial, text).unwrap();
        std::fs::rename(&partial, self.path()).unwrap();
    }
}

/// The simulator's runners with the VRAM each stands for: (pid, bytes, orphan).
pub fn sim_runner_vram(sim: &OllamaSim) -> Vec<(u32, u64, bool)> {
    sim.state()["runners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                u32::try_from(r["pid"].as_u64().unwrap()).unwrap(),
                r["vram"].as_u64().unwrap(),
                r["orphan"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// Whether a `*.lock` file in `dir` is flock()ed now (per /proc/locks).
pub fn held(dir: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let locks = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".lock"))
            .any(|e| {
                let inode = e.metadata().map_or(0, |m| m.ino());
                let suffix = format!(":{inode}");
                locks.lines().any(|l| {
                    l.split_whitespace()
                        .nth(5)
                        .is_some_and(|id| id.ends_with(&suffix))
                })
            })
    })
}
