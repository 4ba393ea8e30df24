//! An escalation from opening to resolution, with notifiers that record
//! their environment: status says when it escalated and when it may again,
//! both notifiers get the same dedup key, and --on-recovered runs once
//! when a verified restart or a reset follows.

mod common;

use common::{decisions, guard};
use selfheal_test_support::{Cmd, require, tempdir};
use std::collections::BTreeMap;
use std::path::Path;

const T0: f64 = 2_000_000_000.0;

/// A notifier that appends its SELFHEAL_* environment to `file`, one
/// block per call, ending in `--`.
fn recorder(file: &Path) -> String {
    format!(
        "sh -c 'env | grep ^SELFHEAL_ | sort >> {0}; echo -- >> {0}'",
        file.display()
    )
}

/// The calls `file` recorded, each as its variables.
fn calls(file: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.split("--\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            block
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// A run of the default form at `T0 + t` with both notifiers.
fn run_at(dir: &Path, t: f64, code: i32) -> String {
    guard(dir)
        .at(T0 + t)
        .args([
            "--name", "svc", "--max", "1", "--settle", "0s", "--verify", "true",
        ])
        .args(["--on-exhausted", &recorder(&dir.join("exhausted"))])
        .args(["--on-recovered", &recorder(&dir.join("recovered"))])
        .args(["--", "true"])
        .run()
        .expect_code(code)
        .stdout
}

fn status_at(dir: &Path, t: f64, args: &[&str]) -> Cmd {
    guard(dir).at(T0 + t).arg("status").args(args)
}

#[test]
fn status_shows_the_escalation_and_a_verified_restart_resolves_it_once() {
    let dir = tempdir().unwrap();
    let d = dir.path();
    run_at(d, 0.0, 0);
    run_at(d, 60.0, 2);
    let exhausted = calls(&d.join("exhausted"));
    assert_eq!(exhausted.len(), 1);
    let key = exhausted[0]["SELFHEAL_DEDUP_KEY"].clone();
    assert!(
        key.starts_with("selfheal/restart-guard/") && key.ends_with("/svc"),
        "{key}"
    );
    assert!(key.len() < 255);
    status_at(d, 120.0, &["svc"])
        .run()
        .expect_code(2)
        .stdout_has("0 left, next allowed in 58m, an escalation is not resolved;")
        .stdout_has("last escalated at 2033-05-18T03:34:20Z, again from 2033-05-18T04:34:20Z");
    let json = status_at(d, 120.0, &["--format", "json"]).run().stdout;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let escalation = &json["details"]["names"]["svc"]["escalation"];
    assert_eq!(escalation["open"], true);
    assert_eq!(escalation["last_at_unix"], T0 + 60.0);
    assert_eq!(escalation["next_not_before_unix"], T0 + 3660.0);
    // The window frees the budget: a verified restart resolves it, once.
    let out = run_at(d, 3601.0, 0);
    assert!(
        out.contains("escalation resolved (--on-recovered called)"),
        "{out}"
    );
    run_at(d, 7300.0, 0);
    let recovered = calls(&d.join("recovered"));
    assert_eq!(recovered.len(), 1, "{recovered:?}");
    assert_eq!(recovered[0]["SELFHEAL_DEDUP_KEY"], key);
    assert_eq!(recovered[0]["SELFHEAL_RESOLVED_BY"], "verified");
    assert_eq!(
        recovered[0]["SELFHEAL_ESCALATED_AT"],
        "2033-05-18T03:34:20Z"
    );
    assert!(decisions(d).contains(&"recovered".to_owned()));
    // Up again, but with --max 1 no restart is left: a warning, no page.
    status_at(d, 7301.0, &["svc"])
        .run()
        .expect_code(1)
        .stdout_has("last escalated at 2033-05-18T03:34:20Z, resolved");
}

#[test]
fn a_reset_resolves_an_escalation_and_calls_on_recovered() {
    let dir = tempdir().unwrap();
    let d = dir.path();
    run_at(d, 0.0, 0);
    run_at(d, 60.0, 2);
    let file = d.join("reset-recovered");
    guard(d)
        .at(T0 + 120.0)
        .args([
            "reset",
            "svc",
            "--reason",
            "fixed",
            "--on-recovered",
            &recorder(&file),
        ])
        .run()
        .expect_code(0)
        .stdout_has("escalation resolved (--on-recovered called)");
    let recovered = calls(&file);
    assert_eq!(recovered.len(), 1);
    assert_eq!(recovered[0]["SELFHEAL_RESOLVED_BY"], "reset");
    assert_eq!(recovered[0]["SELFHEAL_REASON"], "fixed");
    assert_eq!(
        recovered[0]["SELFHEAL_DEDUP_KEY"],
        calls(&d.join("exhausted"))[0]["SELFHEAL_DEDUP_KEY"]
    );
    status_at(d, 121.0, &["svc"]).run().expect_code(0);
    // A second reset has nothing to resolve.
    guard(d)
        .at(T0 + 130.0)
        .args(["reset", "svc", "--on-recovered", &recorder(&file)])
        .run()
        .expect_code(0);
    assert_eq!(calls(&file).len(), 1);
}

#[test]
fn metrics_count_attempts_and_the_escalation_and_pass_promtool() {
    require("promtool", "prometheus");
    let dir = tempdir().unwrap();
    let d = dir.path();
    run_at(d, 0.0, 0);
    run_at(d, 60.0, 2);
    let prom = status_at(d, 120.0, &["--format", "prom"])
        .run()
        .expect_code(2)
        .stdout;
    for line in [
        "selfheal_restart_guard_attempts_total{name=\"svc\"} 1",
        "selfheal_restart_guard_decisions_total{name=\"svc\",decision=\"verified\"} 1",
        "selfheal_restart_guard_decisions_total{name=\"svc\",decision=\"escalated\"} 1",
        "selfheal_restart_guard_last_escalation_timestamp_seconds{name=\"svc\"} 2000000060",
    ] {
        assert!(prom.contains(line), "{line} missing:\n{prom}");
    }
    assert!(
        !prom.contains("held-lock"),
        "a series that never moves:\n{prom}"
    );
    Cmd::new("promtool")
        .args(["check", "metrics"])
        .stdin(prom)
        .run()
        .expect_code(0);
}

#[test]
fn an_on_recovered_program_that_does_not_exist_is_refused_before_anything_runs() {
    let dir = tempdir().unwrap();
    let d = dir.path();
    for args in [
        &[
            "--name",
            "svc",
            "--on-recovered",
            "no-such-pager --resolve",
            "--",
            "true",
        ][..],
        &["reset", "svc", "--on-recovered", "no-such-pager --resolve"],
    ] {
        guard(d)
            .args(args)
            .run()
            .expect_code(3)
            .stderr_has("--on-recovered program 'no-such-pager' not found in $PATH");
    }
    assert!(decisions(d).is_empty(), "nothing may run or be recorded");
}
