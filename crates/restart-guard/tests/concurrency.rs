//! One instance per name, whoever calls and however often: hundreds of
//! simultaneous real processes against one name.

mod common;

use common::{audit, counter, lines, raw, state};
use selfheal_test_support::tempdir;
use std::path::Path;
use std::process::Output;

/// Starts `n` invocations at once and waits for all of them.
fn swarm(dir: &Path, n: usize, args: &[&str]) -> Vec<Output> {
    let children: Vec<_> = (0..n)
        .map(|_| raw(dir, args).spawn().expect("spawn restart-guard"))
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect()
}

fn codes(outputs: &[Output], code: i32) -> usize {
    outputs
        .iter()
        .filter(|o| o.status.code() == Some(code))
        .count()
}

#[test]
fn two_hundred_queued_invocations_restart_exactly_max_times() {
    let dir = tempdir().unwrap();
    let count = dir.path().join("count");
    let cmd = counter(&count);
    let mut args = vec!["--name", "ollama", "--max", "3", "--per", "1h"];
    args.extend(["--cooldown", "0s", "--wait", "60s", "--"]);
    args.extend(cmd.iter().map(String::as_str));
    let outputs = swarm(dir.path(), 200, &args);
    assert_eq!(lines(&count), 3, "CMD must run exactly 3 times");
    assert_eq!((codes(&outputs, 0), codes(&outputs, 2)), (3, 197));
    let log = audit(dir.path());
    assert_eq!(log.len(), 200, "one complete audit line per invocation");
    let restarted = log.iter().filter(|r| r["decision"] == "restarted").count();
    let held = log
        .iter()
        .filter(|r| r["decision"] == "held-budget")
        .count();
    assert_eq!((restarted, held), (3, 197));
    let saved = state(dir.path(), "ollama");
    assert_eq!(saved["attempts"]["at"].as_array().unwrap().len(), 3);
    assert_eq!(saved["totals"]["held-budget"], 197);
}

#[test]
fn without_wait_no_two_commands_ever_overlap() {
    let dir = tempdir().unwrap();
    let busy = dir.path().join("busy");
    let overlaps = dir.path().join("overlaps");
    let count = dir.path().join("count");
    // mkdir is atomic: it fails if another CMD is inside its critical section.
    let script = format!(
        "mkdir '{b}' || echo overlap >> '{o}'; sleep 0.02; echo run >> '{c}'; rmdir '{b}'",
        b = busy.display(),
        o = overlaps.display(),
        c = count.display()
    );
    let args = [
        "--name",
        "gw",
        "--max",
        "100000",
        "--cooldown",
        "0s",
        "--",
        "sh",
        "-c",
        &script,
    ];
    let outputs = swarm(dir.path(), 200, &args);
    assert!(!overlaps.exists(), "two CMDs ran at the same time");
    let (ran, held) = (codes(&outputs, 0), codes(&outputs, 1));
    assert_eq!(ran + held, 200, "only exit 0 (restarted) or 1 (held back)");
    assert!(ran >= 1);
    assert_eq!(lines(&count), ran);
    for o in outputs.iter().filter(|o| o.status.code() == Some(1)) {
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains("held back: another restart of gw is in progress"),
            "{text}"
        );
    }
    let log = audit(dir.path());
    assert_eq!(log.len(), 200);
    assert_eq!(
        log.iter().filter(|r| r["decision"] == "held-lock").count(),
        held
    );
}

#[test]
fn a_hundred_invocations_against_an_exhausted_budget_escalate_once() {
    let dir = tempdir().unwrap();
    let calls = dir.path().join("calls");
    let notifier = format!(
        "sh -c 'echo \"$SELFHEAL_NAME $SELFHEAL_NEXT_ALLOWED\" >> {}'",
        calls.display()
    );
    let args = [
        "--name",
        "ollama",
        "--max",
        "1",
        "--cooldown",
        "0s",
        "--wait",
        "60s",
        "--on-exhausted",
        &notifier,
        "--",
        "true",
    ];
    let first = swarm(dir.path(), 1, &args);
    assert_eq!(codes(&first, 0), 1);
    let outputs = swarm(dir.path(), 100, &args);
    assert_eq!(codes(&outputs, 2), 100);
    assert_eq!(lines(&calls), 1, "the notifier must run exactly once");
    assert!(
        std::fs::read_to_string(&calls)
            .unwrap()
            .starts_with("ollama 20")
    );
    let log = audit(dir.path());
    assert_eq!(
        log.iter().filter(|r| r["decision"] == "escalated").count(),
        1
    );
    assert_eq!(
        log.iter()
            .filter(|r| r["decision"] == "held-budget")
            .count(),
        100
    );
}
