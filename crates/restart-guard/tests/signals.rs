//! Told to stop while CMD runs (SIGTERM from systemd or `timeout 60
//! restart-guard ...`, Ctrl-C, a closed terminal), restart-guard stops
//! CMD's whole process group, records `interrupted`, and exits: nothing it
//! started outlives it unseen, and the attempt still counts.

mod common;

use common::{audit, raw};
use selfheal_core::process::{Process, Signal};
use selfheal_test_support::tempdir;
use std::path::Path;
use std::time::{Duration, Instant};

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn gone(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
    })
}

#[test]
fn sigterm_during_cmd_stops_its_group_and_records_interrupted() {
    for signal in [Signal::TERM, Signal::INT, Signal::HUP] {
        let dir = tempdir().unwrap();
        let pidfile = dir.path().join("grandchild.pid");
        let script = format!("sleep 600 & echo $! > '{}'; wait", pidfile.display());
        let mut child = raw(
            dir.path(),
            &[
                "--name",
                "svc",
                "--timeout",
                "10m",
                "--",
                "sh",
                "-c",
                &script,
            ],
        )
        .spawn()
        .unwrap();
        wait_for("CMD to start", || {
            std::fs::read_to_string(&pidfile).is_ok_and(|p| p.ends_with('\n'))
        });
        let grandchild: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let sent = Instant::now();
        let guard = Process::open(Path::new("/proc"), child.id().cast_signed()).unwrap();
        guard.signal(signal).unwrap();
        let status = child.wait().unwrap();
        assert!(
            sent.elapsed() < Duration::from_secs(10),
            "took {:?}",
            sent.elapsed()
        );
        let mut stdout = String::new();
        std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
        assert_eq!(status.code(), Some(2), "{signal:?}: {stdout}");
        assert!(stdout.contains("interrupted: we received"), "{stdout}");
        wait_for("the grandchild to die", || gone(grandchild));
        let lines = audit(dir.path());
        let decisions: Vec<&str> = lines
            .iter()
            .filter_map(|l| l["decision"].as_str())
            .collect();
        assert_eq!(decisions, ["interrupted"], "{signal:?}");
        // Nothing is left pending: the next run sees a settled attempt.
        let status = raw(dir.path(), &["status", "svc"]).output().unwrap();
        let text = String::from_utf8_lossy(&status.stdout);
        assert!(text.contains("1/3 restarts"), "{text}");
        assert!(!text.contains("in progress"), "{text}");
    }
}
