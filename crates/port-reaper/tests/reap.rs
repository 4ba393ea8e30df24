//! Freeing a port held by real processes: orphans, TERM-deaf holders,
//! stopped ones, several sharing the port, process trees, and the holders
//! that must be left alone.

mod support;

use selfheal_test_support::tempdir;
use std::time::{Duration, Instant};
use support::{Holders, alive, audit_lines, eventually, json, reaper, state};

/// `--list --format json` of a held port (exit 2): the run (for messages)
/// and its report.
fn listed_as_held(
    dir: &std::path::Path,
    port: &str,
) -> (selfheal_test_support::Run, serde_json::Value) {
    let run = reaper(dir)
        .args(["--list", "--format", "json", port])
        .run()
        .expect_code(2);
    let report = json(&run);
    (run, report)
}

#[test]
fn an_orphan_holding_the_port_is_found_and_freed() {
    let mut holders = Holders::start(&["--orphan"]);
    let parent = holders.script_pid();
    holders.wait_parent();
    let orphan = holders.pid();
    eventually("the child is reparented", || {
        support::ppid(orphan) != Some(parent)
    });
    let dir = tempdir().unwrap();
    let port = holders.port.to_string();
    let (run, report) = listed_as_held(dir.path(), &port);
    assert_eq!(report["details"]["holders"][0]["pid"], orphan, "{run}");
    assert_eq!(report["details"]["holders"][0]["orphan"], true, "{run}");
    reaper(dir.path())
        .args(["--only-comm", "^python", "--bind-check", &port])
        .run()
        .expect_code(0)
        .stdout_has(&format!("pid {orphan} (python3) exited after TERM"))
        .stdout_has("bound and released it");
    assert!(!alive(orphan));
    let audit = audit_lines(dir.path());
    assert_eq!(audit[0]["event"], "signal");
    assert_eq!(audit[0]["signal"], "TERM");
    assert_eq!(audit[0]["pid"], orphan);
    assert_eq!(audit[0]["result"], "sent");
    assert_eq!(audit[1]["ending"], "exited");
}

#[test]
fn a_holder_ignoring_term_is_killed_after_the_grace() {
    let holders = Holders::start(&["--ignore-term"]);
    let dir = tempdir().unwrap();
    let started = Instant::now();
    reaper(dir.path())
        .args(["--any", "--grace", "300ms", &holders.port.to_string()])
        .run()
        .expect_code(0)
        .stdout_has("was killed (SIGKILL) after the grace");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(!alive(holders.pid()));
    let signals: Vec<String> = audit_lines(dir.path())
        .iter()
        .filter(|l| l["event"] == "signal")
        .map(|l| l["signal"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(signals, ["TERM", "KILL"]);
}

#[test]
fn a_holder_the_filter_does_not_allow_is_left_alone_and_named() {
    let holders = Holders::start(&[]);
    let dir = tempdir().unwrap();
    let pid = holders.pid();
    reaper(dir.path())
        .args(["--only-comm", "^node$", &holders.port.to_string()])
        .run()
        .expect_code(2)
        .stdout_has(&format!("is held by pid {pid} (python3, user root"))
        .stdout_has("which --only-comm ^node$ does not allow");
    assert!(alive(pid));
    assert!(audit_lines(dir.path()).is_empty(), "nothing was signalled");
}

#[test]
fn several_holders_through_so_reuseport_all_go() {
    let first = Holders::start(&["--reuseport"]);
    let port = first.port.to_string();
    let second = Holders::start(&["--reuseport", "--port", &port]);
    let dir = tempdir().unwrap();
    let (run, report) = listed_as_held(dir.path(), &port);
    assert_eq!(
        report["details"]["sockets"].as_array().unwrap().len(),
        2,
        "{run}"
    );
    assert_eq!(
        report["details"]["holders"].as_array().unwrap().len(),
        2,
        "{run}"
    );
    reaper(dir.path())
        .args(["--only-comm", "python", &port])
        .run()
        .expect_code(0);
    assert!(!alive(first.pid()) && !alive(second.pid()));
}

#[test]
fn a_stopped_holder_is_listed_as_stopped_and_still_freed() {
    let holders = Holders::start(&["--term-exits"]);
    let pid = holders.pid();
    support::signal(pid, selfheal_core::process::Signal::STOP);
    eventually("the holder is stopped", || state(pid) == Some('T'));
    let dir = tempdir().unwrap();
    let port = holders.port.to_string();
    reaper(dir.path())
        .args(["--list", &port])
        .run()
        .expect_code(2)
        .stdout_has("stopped");
    // Its TERM handler can only run once continued: exiting after TERM proves the CONT.
    reaper(dir.path())
        .args(["--any", "--grace", "20s", &port])
        .run()
        .expect_code(0)
        .stdout_has("exited after TERM");
}

#[test]
fn tree_also_signals_the_holders_descendants() {
    let holders = Holders::start(&["--child"]);
    let (parent, child) = (holders.pids[0], holders.pids[1]);
    let dir = tempdir().unwrap();
    let port = holders.port.to_string();
    reaper(dir.path())
        .args(["--any", "--tree", &port])
        .run()
        .expect_code(0)
        .stdout_has(&format!(
            "pid {child} (python3, descendant) exited after TERM"
        ));
    assert!(!alive(parent) && !alive(child));
}

#[test]
fn tree_never_overrides_a_descendant_holders_own_verdict() {
    let holders = Holders::start(&["--child-holds-as", "stranger"]);
    let (parent, child) = (holders.pids[0], holders.pids[1]);
    let dir = tempdir().unwrap();
    reaper(dir.path())
        .args([
            "--only-comm",
            "^python3$",
            "--tree",
            &holders.port.to_string(),
        ])
        .run()
        .expect_code(2)
        .stdout_has(&format!("pid {child} (stranger, user root"))
        .stdout_has("which --only-comm ^python3$ does not allow");
    assert!(!alive(parent));
    assert!(
        alive(child),
        "the non-matching descendant holder is left alone"
    );
}

#[test]
fn without_tree_a_child_that_holds_nothing_is_not_touched() {
    let holders = Holders::start(&["--child"]);
    let child = holders.pids[1];
    let dir = tempdir().unwrap();
    reaper(dir.path())
        .args(["--any", &holders.port.to_string()])
        .run()
        .expect_code(0);
    assert!(alive(child));
}

#[test]
fn dry_run_and_list_signal_nothing() {
    let holders = Holders::start(&[]);
    let dir = tempdir().unwrap();
    let port = holders.port.to_string();
    reaper(dir.path())
        .args(["--any", "--dry-run", &port])
        .run()
        .expect_code(2)
        .stdout_has(&format!(
            "would send TERM to pid {} (python3)",
            holders.pid()
        ));
    reaper(dir.path())
        .args(["--any", "--list", &port])
        .run()
        .expect_code(2);
    assert!(alive(holders.pid()));
    assert!(
        !dir.path().join("audit.jsonl").exists(),
        "no audit log without a signal"
    );
}

#[test]
fn an_unusable_audit_log_stops_the_run_before_any_signal() {
    let holders = Holders::start(&[]);
    let dir = tempdir().unwrap();
    std::fs::create_dir(dir.path().join("audit.jsonl")).unwrap();
    reaper(dir.path())
        .args(["--any", &holders.port.to_string()])
        .run()
        .expect_code(3)
        .stdout_has("Is a directory");
    assert!(alive(holders.pid()));
}

#[test]
fn a_holder_whose_parent_is_a_supervisor_is_left_alone_unless_asked() {
    let holders = Holders::start(&["--supervisor", "supervisord"]);
    let (child, supervisor) = (holders.pids[0], holders.pids[1]);
    let dir = tempdir().unwrap();
    let port = holders.port.to_string();
    reaper(dir.path())
        .args(["--any", &port])
        .run()
        .expect_code(2)
        .stdout_has(&format!("which supervisord (pid {supervisor}) would restart (use --stop-unit or --kill-supervised)"));
    assert!(alive(child));
    reaper(dir.path())
        .args(["--any", "--kill-supervised", &port])
        .run()
        .expect_code(0);
    assert!(!alive(child));
    assert!(alive(supervisor), "only the holder is signalled");
}

#[test]
fn a_stop_signal_mid_grace_is_audited_and_sends_no_kill() {
    let holders = Holders::start(&["--ignore-term"]);
    let pid = holders.pid();
    let dir = tempdir().unwrap();
    let mut reaping = reaper(dir.path())
        .args(["--any", "--grace", "60s", &holders.port.to_string()])
        .spawn();
    eventually("TERM is audited", || !audit_lines(dir.path()).is_empty());
    let started = Instant::now();
    support::signal(
        reaping.id().cast_signed(),
        selfheal_core::process::Signal::TERM,
    );
    let mut out = String::new();
    std::io::Read::read_to_string(&mut reaping.child().stdout.take().unwrap(), &mut out).unwrap();
    let status = reaping.child().wait().unwrap();
    // No 60 s grace and no 2 s wait for the port to settle either.
    assert!(started.elapsed() < Duration::from_millis(1500), "{out}");
    assert_eq!(status.code(), Some(2), "still held, said so:\n{out}");
    assert!(
        out.contains("when port-reaper was told to stop (no KILL sent)"),
        "{out}"
    );
    let audit = audit_lines(dir.path());
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(audit[1]["event"], "ended");
    assert!(
        audit[1]["ending"]
            .as_str()
            .unwrap()
            .starts_with("interrupted")
    );
    assert_eq!(audit[1]["stopped_by"], "SIGTERM");
    assert!(alive(pid), "told to stop, it does not escalate to KILL");
}

#[test]
fn a_zombie_leader_whose_thread_holds_the_port_is_seen_and_freed() {
    let holders = Holders::start(&["--zombie-leader"]);
    let pid = holders.pid();
    eventually("the main thread has exited", || state(pid) == Some('Z'));
    let dir = tempdir().unwrap();
    let port = holders.port.to_string();
    let (run, report) = listed_as_held(dir.path(), &port);
    assert_eq!(report["details"]["holders"][0]["pid"], pid, "{run}");
    assert_eq!(report["details"]["holders"][0]["state"], "Z", "{run}");
    reaper(dir.path())
        .args(["--any", "--grace", "2s", &port])
        .run()
        .expect_code(0)
        .stdout_has(&format!("pid {pid} (python3) exited after TERM"));
    assert!(!alive(pid));
}

#[test]
fn a_fresh_host_without_a_state_dir_gets_one_for_the_default_audit_log() {
    let holders = Holders::start(&[]);
    let dir = tempdir().unwrap();
    let state_dir = dir.path().join("never-made/selfheal");
    selfheal_test_support::Cmd::new(support::BIN)
        .arg("--state-dir")
        .arg(&state_dir)
        .args(["--only-comm", "^python", &holders.port.to_string()])
        .run()
        .expect_code(0);
    assert!(!alive(holders.pid()));
    let log = std::fs::read_to_string(state_dir.join("port-reaper.audit.jsonl")).unwrap();
    assert!(log.contains(r#""signal":"TERM""#), "{log}");
}

#[test]
fn two_runs_at_once_on_one_port_do_not_both_act() {
    let holders = Holders::start(&["--ignore-term"]);
    let dir = tempdir().unwrap();
    let port = holders.port.to_string();
    let mut first = reaper(dir.path())
        .args(["--any", "--grace", "1s", &port])
        .spawn();
    eventually("the first run sent TERM", || {
        !audit_lines(dir.path()).is_empty()
    });
    // The second waits for the first, then finds the port free.
    reaper(dir.path())
        .args(["--any", "--grace", "1s", &port])
        .run()
        .expect_code(0)
        .stdout_has("is free");
    assert!(first.child().wait().unwrap().success());
    let signals: Vec<String> = audit_lines(dir.path())
        .iter()
        .filter(|l| l["event"] == "signal")
        .map(|l| format!("{} {}", l["signal"], l["by_pid"]))
        .collect();
    assert_eq!(
        signals.len(),
        2,
        "one TERM and one KILL, by one run: {signals:?}"
    );
    assert!(!alive(holders.pid()));
}
