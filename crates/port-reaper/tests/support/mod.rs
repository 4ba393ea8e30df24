//! Real holders for port-reaper's tests: python processes binding port 0
//! on loopback (tests/support/holder.py), killed on drop, orphans included.

#![allow(dead_code)] // Each test file uses its own share of these helpers.

use selfheal_core::process::{Process, Signal};
use selfheal_core::procstat;
use selfheal_test_support::{Cmd, Run, clean_command};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_port-reaper");

/// The holder processes of one test; every pid it announced is killed on drop.
pub struct Holders {
    child: Child,
    pub port: u16,
    pub pids: Vec<i32>,
    pub info: serde_json::Value,
}

impl Holders {
    pub fn start(args: &[&str]) -> Holders {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/holder.py");
        let mut child = clean_command("python3")
            .arg(script)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let info: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("holder.py {args:?} printed {line:?}: {e}"));
        let mut pids: Vec<i32> = info["pids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_i64().unwrap() as i32)
            .collect();
        for extra in ["backend", "client"] {
            if let Some(pid) = info[extra].as_i64() {
                pids.push(pid as i32);
            }
        }
        Holders {
            child,
            port: info["port"].as_u64().unwrap() as u16,
            pids,
            info,
        }
    }

    pub fn pid(&self) -> i32 {
        self.pids[0]
    }

    pub fn script_pid(&self) -> i32 {
        self.child.id().cast_signed()
    }

    /// The script's own process has exited (an orphan's parent does).
    pub fn wait_parent(&mut self) {
        self.child.wait().unwrap();
    }
}

impl Drop for Holders {
    fn drop(&mut self) {
        for &pid in &self.pids {
            if let Ok(process) = Process::open(Path::new(procstat::PROC_ROOT), pid) {
                let _ = process.signal(Signal::KILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn alive(pid: i32) -> bool {
    procstat::read(Path::new(procstat::PROC_ROOT), pid).is_ok_and(|s| !s.is_gone())
}

/// Polls `what` until true or 10 s pass.
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn ppid(pid: i32) -> Option<i32> {
    procstat::read(Path::new(procstat::PROC_ROOT), pid)
        .ok()
        .map(|s| s.ppid)
}

pub fn signal(pid: i32, signal: Signal) {
    Process::open(Path::new(procstat::PROC_ROOT), pid)
        .expect("the holder is running")
        .signal(signal)
        .expect("signal delivered");
}

pub fn state(pid: i32) -> Option<char> {
    procstat::read(Path::new(procstat::PROC_ROOT), pid)
        .ok()
        .map(|s| s.state)
}

/// port-reaper with its audit log in `dir`.
pub fn reaper(dir: &Path) -> Cmd {
    Cmd::new(BIN)
        .arg("--audit-log")
        .arg(dir.join("audit.jsonl"))
        .arg("--state-dir")
        .arg(dir.join("state"))
}

pub fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e})\n{run}"))
}

pub fn audit_lines(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
