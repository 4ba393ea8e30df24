//! What the observability tests compare the contrib files with: the
//! metric names the built tools print with `--format prom` (each run
//! against a stand-in: the Ollama simulator, the fake NVML library
//! gpu-probe's own tests build, a heartbeat file, a stand-in systemctl),
//! and a real Alertmanager on a loopback port.

use selfheal_test_support::ollama_sim::OllamaSim;
use selfheal_test_support::{ChildGuard, Cmd, bin, fake_nvml, require, tempdir};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Every `selfheal_*` word in `text`.
pub fn names_in(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("selfheal_") {
        let word: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[at + word.len()..];
        names.insert(word);
    }
    names
}

/// The `expr` of every panel target, rows' panels included.
pub fn dashboard_exprs(json: &str) -> Vec<String> {
    fn walk(panels: &Value, out: &mut Vec<String>) {
        for panel in panels.as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    out.push(expr.to_owned());
                }
            }
            walk(&panel["panels"], out);
        }
    }
    let dashboard: Value = serde_json::from_str(json).expect("the dashboard is JSON");
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// Family names (`# TYPE` lines) of Prometheus text.
fn families(prom: &str) -> impl Iterator<Item = String> + '_ {
    prom.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
}

/// Every metric family the tools print, each run where it has something
/// to report.
pub fn selfheal_names() -> BTreeSet<String> {
    let dir = tempdir().unwrap();
    let outputs = [
        ollama_frozen_check(dir.path()),
        gpu_probe(dir.path()),
        stall_probe(dir.path()),
        restart_guard(dir.path()),
    ];
    outputs.iter().flat_map(|p| families(p)).collect()
}

fn prom_of(cmd: Cmd) -> String {
    let run = cmd.args(["--format", "prom"]).run();
    assert!(run.stdout.contains("# TYPE selfheal_"), "{run}");
    run.stdout
}

fn ollama_frozen_check(dir: &Path) -> String {
    let sim = OllamaSim::start(&["--preload", "llama3.2:1b"]);
    prom_of(
        Cmd::new(bin("ollama-frozen-check"))
            .args(["--url", &sim.url(), "--state-dir"])
            .arg(dir.join("ofc")),
    )
}

/// One NVIDIA GPU with an Ollama runner holding VRAM, through the fake
/// NVML library of test-support (the one gpu-probe's tests use).
fn gpu_probe(dir: &Path) -> String {
    let lib = fake_nvml::lib();
    let scenario = dir.join("scenario");
    fs::write(
        &scenario,
        "driver 550.54.14\ngpus 1\ngpu 0 name NVIDIA GeForce RTX 4090\n\
         gpu 0 uuid GPU-5d1f6f0e-8a3c-4b6f-9d2e-3f4a5b6c7d8e\ngpu 0 util 0 0\n\
         gpu 0 memory 25757220864 7946412032 17810808832\ngpu 0 temp 41\n\
         gpu 0 power 21500\ngpu 0 limit 450000\ngpu 0 pstate 8\n\
         gpu 0 compute 4242 7945000000\n",
    )
    .unwrap();
    for tree in ["sys/class/drm", "proc"] {
        fs::create_dir_all(dir.join(tree)).unwrap();
    }
    prom_of(
        Cmd::new(bin("gpu-probe"))
            .env("FAKE_NVML_SCENARIO", &scenario)
            .arg("--nvml-lib")
            .arg(lib)
            .arg("--sysfs-root")
            .arg(dir.join("sys"))
            .arg("--proc-root")
            .arg(dir.join("proc")),
    )
}

fn stall_probe(dir: &Path) -> String {
    let heartbeat = dir.join("BTC.heartbeat");
    fs::write(&heartbeat, "").unwrap();
    prom_of(
        Cmd::new(bin("stall-probe"))
            .args(["age", "--warn", "1m", "--crit", "5m", "--file"])
            .arg(&heartbeat),
    )
}

/// `status` after one restart and an exhausted budget, and `loops` on a
/// unit a stand-in systemctl reports.
fn restart_guard(dir: &Path) -> String {
    let state = dir.join("state");
    for _ in 0..2 {
        Cmd::new(bin("restart-guard"))
            .arg("--state-dir")
            .arg(&state)
            .args(["--name", "ollama.service", "--max", "1", "--per", "1h"])
            .args(["--cooldown", "0s", "--", "true"])
            .run();
    }
    let systemctl = dir.join("systemctl");
    fs::write(&systemctl, "#!/bin/sh\necho NRestarts=7\n").unwrap();
    fs::set_permissions(&systemctl, fs::Permissions::from_mode(0o755)).unwrap();
    let status = prom_of(
        Cmd::new(bin("restart-guard"))
            .args(["status", "--state-dir"])
            .arg(&state),
    );
    let loops = prom_of(
        Cmd::new(bin("restart-guard"))
            .env("SELFHEAL_SYSTEMCTL", &systemctl)
            .args(["loops", "--unit", "gateway.service", "--state-dir"])
            .arg(&state),
    );
    status + &loops
}

/// The real Alertmanager on 127.0.0.1:0, stopped on Drop.
pub struct Alertmanager {
    _child: ChildGuard,
    _storage: selfheal_test_support::TempDir,
    url: String,
}

impl Alertmanager {
    pub fn start(config: &Path) -> Self {
        require("prometheus-alertmanager", "prometheus-alertmanager");
        require("curl", "curl");
        let storage = tempdir().unwrap();
        let mut child = Cmd::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", storage.path().display()))
            .args([
                "--web.listen-address=127.0.0.1:0",
                "--cluster.listen-address=",
            ])
            .spawn();
        let (tx, rx) = mpsc::channel();
        let stderr = child.child().stderr.take().expect("stderr piped");
        // Drained to the end, so a chatty Alertmanager never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let address = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .expect("Alertmanager said where it listens");
            if line.contains("Listening on") {
                break line.rsplit("address=").next().unwrap().trim().to_owned();
            }
        };
        Alertmanager {
            _child: child,
            _storage: storage,
            url: format!("http://{address}/api/v2/alerts"),
        }
    }

    pub fn post_alerts(&self, json: &str) {
        Cmd::new("curl")
            .args([
                "-sS",
                "--fail",
                "--max-time",
                "10",
                "-H",
                "Content-Type: application/json",
            ])
            .args(["--data-binary", json, &self.url])
            .run()
            .expect_code(0);
    }

    /// `alertname/instance` -> state, polled until `done` holds (20 s at most).
    pub fn states_when(
        &self,
        done: impl Fn(&BTreeMap<String, String>) -> bool,
    ) -> BTreeMap<String, String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let run = Cmd::new("curl")
                .args(["-sS", "--fail", "--max-time", "10", &self.url])
                .run()
                .expect_code(0);
            let alerts: Value = serde_json::from_str(&run.stdout).expect("JSON alerts");
            let states: BTreeMap<String, String> = alerts
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    let l = &a["labels"];
                    let key = format!(
                        "{}/{}",
                        l["alertname"].as_str().unwrap_or("?"),
                        l["instance"].as_str().unwrap_or("?")
                    );
                    (key, a["status"]["state"].as_str().unwrap_or("?").to_owned())
                })
                .collect();
            if done(&states) || Instant::now() > deadline {
                return states;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
