//! Told to stop (SIGTERM from systemd or `timeout`, Ctrl-C, a closed
//! terminal), metrics-textfile stops its producer's whole process group,
//! leaves the old file byte for byte and no temp file, and exits 2 saying
//! so. A run SIGKILLed mid-write leaves its temp file; the next run
//! removes it.
//!
//! To be stopped mid-write for certain, the run is held in its fsync by
//! strace's fault injection (a delay before the call), not by luck.

use selfheal_core::process::{Process, Signal};
use selfheal_test_support::{ChildGuard, Cmd, TempDir, names_in, require, tempdir};
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_metrics-textfile");
const OLD: &str = "# HELP jobs_running Jobs.\n# TYPE jobs_running gauge\njobs_running 1\n";
const NEW: &str = "# HELP jobs_running Jobs.\n# TYPE jobs_running gauge\njobs_running 2\n";

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Live (not zombie) processes whose process group is `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .map_or("", |(_, rest)| rest)
                .split_whitespace()
                .collect();
            fields.first() != Some(&"Z") && fields.get(2) == Some(&pgid.to_string().as_str())
        })
        .collect()
}

/// The exit status, or a panic if it takes longer than 20 s.
fn exit_of(guard: &mut ChildGuard) -> ExitStatus {
    let mut status = None;
    wait_for("metrics-textfile to exit", || {
        status = guard.child().try_wait().expect("try_wait");
        status.is_some()
    });
    status.expect("exited")
}

fn stdout_of(guard: &mut ChildGuard) -> String {
    let mut out = String::new();
    let pipe = guard.child().stdout.as_mut().expect("stdout piped");
    std::io::Read::read_to_string(pipe, &mut out).expect("read stdout");
    out
}

fn send(pid: i32, signal: Signal) {
    let process = Process::open(Path::new("/proc"), pid).expect("open process");
    process.signal(signal).expect("send signal");
}

/// A directory holding `jobs.prom` with the old content.
fn target() -> (TempDir, PathBuf) {
    let dir = tempdir().expect("tempdir");
    let path = dir.path().join("jobs.prom");
    fs::write(&path, OLD).expect("write old file");
    (dir, path)
}

#[test]
fn a_stop_signal_stops_the_producers_group_and_keeps_the_old_file() {
    for (signal, name) in [
        (Signal::TERM, "SIGTERM"),
        (Signal::INT, "SIGINT"),
        (Signal::HUP, "SIGHUP"),
    ] {
        let (dir, path) = target();
        let elsewhere = tempdir().expect("tempdir");
        let pids = elsewhere.path().join("producer.pids");
        let script = format!(
            "echo 'jobs_running 2'; sleep 30 & echo $$ $! > '{}'; wait",
            pids.display()
        );
        let mut run = Cmd::new(BIN)
            .arg("--output")
            .arg(&path)
            .args(["--", "sh", "-c", &script])
            .spawn();
        wait_for("the producer to start", || {
            fs::read_to_string(&pids).is_ok_and(|p| p.ends_with('\n'))
        });
        let pids = fs::read_to_string(&pids).expect("pids");
        let pgid: i32 = pids.split_whitespace().next().unwrap().parse().unwrap();
        assert!(group_members(pgid).len() >= 2, "producer group {pids}");
        send(run.id().cast_signed(), signal);
        let status = exit_of(&mut run);
        let stdout = stdout_of(&mut run);
        assert_eq!(status.code(), Some(2), "{name}: {stdout}");
        let said = format!("interrupted: we received {name}");
        assert!(stdout.contains(&said), "{stdout}");
        assert!(stdout.contains("the old file is unchanged"), "{stdout}");
        wait_for("the producer's group to be gone", || {
            group_members(pgid).is_empty()
        });
        assert_eq!(fs::read_to_string(&path).unwrap(), OLD);
        assert_eq!(names_in(dir.path()), ["jobs.prom"]);
    }
}

/// metrics-textfile writing NEW into `path` under strace, every fsync
/// delayed by `delay`; returns strace and, once the temp file is on disk,
/// the pid of metrics-textfile itself.
fn held_in_fsync(path: &Path, delay: Duration) -> (ChildGuard, i32) {
    require("strace", "strace");
    let inject = format!("inject=fsync:delay_enter={}", delay.as_micros());
    let strace = Cmd::new("strace")
        .args(["-f", "-o", "/dev/null", "-e", "trace=fsync", "-e", &inject])
        .args([BIN, "--output"])
        .arg(path)
        .args(["--", "printf", NEW])
        .spawn();
    let dir = path.parent().expect("dir");
    wait_for("the temp file", || names_in(dir).len() == 2);
    let children = format!("/proc/{0}/task/{0}/children", strace.id());
    let pid = fs::read_to_string(children).expect("strace's children");
    (strace, pid.trim().parse().expect("one child"))
}

#[test]
fn a_stop_signal_during_the_write_removes_the_temp_file() {
    let (dir, path) = target();
    let (mut strace, pid) = held_in_fsync(&path, Duration::from_secs(5));
    send(pid, Signal::TERM);
    let status = exit_of(&mut strace);
    let stdout = stdout_of(&mut strace);
    assert_eq!(status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("interrupted: we received SIGTERM before anything was written"),
        "{stdout}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), OLD);
    assert_eq!(names_in(dir.path()), ["jobs.prom"]);
}

#[test]
fn a_temp_file_left_by_a_sigkilled_run_is_removed_by_the_next() {
    let (dir, path) = target();
    let (mut strace, pid) = held_in_fsync(&path, Duration::from_secs(5));
    send(pid, Signal::KILL);
    // The kill lands when strace's delay ends: the fsync is skipped and
    // the run dies before its rename; strace then dies of the same signal.
    let status = exit_of(&mut strace);
    assert_eq!(status.signal(), Some(9), "{status:?}");
    let left = names_in(dir.path());
    assert_eq!(left.len(), 2, "the killed run's temp file: {left:?}");
    assert_eq!(fs::read_to_string(&path).unwrap(), OLD);
    Cmd::new(BIN)
        .arg("--output")
        .arg(&path)
        .stdin(NEW)
        .run()
        .expect_code(0)
        .stderr_has("removed 1 temp file(s)");
    assert_eq!(fs::read_to_string(&path).unwrap(), NEW);
    assert_eq!(names_in(dir.path()), ["jobs.prom"]);
}
