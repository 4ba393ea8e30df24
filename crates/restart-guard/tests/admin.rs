//! The subcommands that report and administer: status (text, prom checked
//! by the real promtool), audit queries, reset.

mod common;

use common::{audit, guard};
use selfheal_test_support::{Cmd, require, tempdir};
use std::path::Path;

/// Two invocations with --max 1: one restart, then held by the budget.
fn exhaust(dir: &Path, name: &str) {
    for code in [0, 2] {
        guard(dir)
            .args([
                "--name", name, "--max", "1", "--reason", "probe", "--", "true",
            ])
            .run()
            .expect_code(code);
    }
}

#[test]
fn status_reports_budget_used_left_and_exhaustion() {
    let dir = tempdir().unwrap();
    exhaust(dir.path(), "svc");
    guard(dir.path()).args(["--name", "ok", "--", "true"]).run();
    guard(dir.path())
        .args(["status", "svc"])
        .run()
        .expect_code(2)
        .stdout_has("RESTART CRITICAL - svc: 1/1 restarts in 1h used, 0 left, next allowed in 1h, exhausted");
    guard(dir.path())
        .args(["status", "ok"])
        .run()
        .expect_code(0)
        .stdout_has("RESTART OK - ok: 1/3 restarts in 1h used, 2 left, next allowed in 1m");
    guard(dir.path())
        .arg("status")
        .run()
        .expect_code(2)
        .stdout_has("2 names, 1 need attention: svc (");
    let json = guard(dir.path())
        .args(["status", "--format", "json"])
        .run()
        .stdout;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["checks"][1]["name"], "svc");
    assert_eq!(json["checks"][1]["status"], "critical");
    let svc = &json["details"]["names"]["svc"];
    assert_eq!(
        (
            svc["restarts_in_window"].as_u64(),
            svc["remaining"].as_u64()
        ),
        (Some(1), Some(0))
    );
    assert_eq!(svc["exhausted"], true);
    assert_eq!(svc["last_outcome"]["decision"], "restarted");
    assert_eq!(json["details"]["names"]["ok"]["exhausted"], false);
}

#[test]
fn prom_output_passes_promtool_and_textfile_is_written() {
    require("promtool", "prometheus");
    let dir = tempdir().unwrap();
    exhaust(dir.path(), "svc");
    let textfile = dir.path().join("restart_guard.prom");
    let prom = guard(dir.path())
        .args(["status", "--format", "prom", "--textfile"])
        .arg(&textfile)
        .run()
        .expect_code(2)
        .stdout;
    assert!(
        prom.contains("selfheal_restart_guard_exhausted{name=\"svc\"} 1"),
        "{prom}"
    );
    assert!(prom.contains(
        "selfheal_restart_guard_decisions_total{name=\"svc\",decision=\"held-budget\"} 1"
    ));
    assert_eq!(std::fs::read_to_string(&textfile).unwrap(), prom);
    Cmd::new("promtool")
        .args(["check", "metrics"])
        .stdin(prom)
        .run()
        .expect_code(0);
    // The default form's own report is valid exposition too.
    let own = guard(dir.path())
        .args(["--name", "other", "--format", "prom", "--", "true"])
        .run()
        .expect_code(0)
        .stdout;
    Cmd::new("promtool")
        .args(["check", "metrics"])
        .stdin(own)
        .run()
        .expect_code(0);
}

#[test]
fn audit_filters_by_name_time_and_decision() {
    let dir = tempdir().unwrap();
    exhaust(dir.path(), "svc");
    exhaust(dir.path(), "other");
    let query = |args: &[&str]| {
        let out = guard(dir.path())
            .args(["audit", "--format", "json"])
            .args(args)
            .run()
            .expect_code(0)
            .stdout;
        out.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(query(&[]).len(), 4);
    let held = query(&[
        "--name",
        "svc",
        "--decision",
        "held-budget",
        "--since",
        "1h",
    ]);
    assert_eq!(held.len(), 1);
    assert_eq!(
        (held[0]["name"].as_str(), held[0]["reason"].as_str()),
        (Some("svc"), Some("probe"))
    );
    assert_eq!(query(&["--since", "2000-01-01T00:00:00Z"]).len(), 4);
    assert_eq!(query(&["--since", "2100-01-01T00:00:00Z"]).len(), 0);
    guard(dir.path())
        .args(["audit", "--decision", "bogus"])
        .run()
        .expect_code(3);
}

#[test]
fn audit_prints_a_table_for_people_by_default() {
    let dir = tempdir().unwrap();
    let log = dir.path().join("restart-guard.audit.jsonl");
    guard(dir.path())
        .arg("audit")
        .run()
        .expect_code(0)
        .stdout_has(&format!("no matching audit lines in {}", log.display()));
    exhaust(dir.path(), "svc");
    let table = guard(dir.path()).arg("audit").run().expect_code(0).stdout;
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| {
            l.split("  ")
                .filter(|c| !c.is_empty())
                .map(str::trim)
                .collect()
        })
        .collect();
    assert_eq!(
        rows[0],
        ["TIME", "NAME", "DECISION", "BUDGET", "OUTCOME", "REASON"],
        "{table}"
    );
    assert_eq!(
        rows[1][1..],
        ["svc", "restarted", "1/1 in 1h", "exit 0", "probe"],
        "{table}"
    );
    assert_eq!(
        rows[2][1..],
        ["svc", "held-budget", "1/1 in 1h", "-", "probe"],
        "{table}"
    );
    assert_eq!(rows.len(), 3, "{table}");
}

#[test]
fn reset_clears_the_budget_and_is_audited() {
    let dir = tempdir().unwrap();
    exhaust(dir.path(), "svc");
    guard(dir.path())
        .args(["reset", "svc", "--reason", "fixed the driver"])
        .run()
        .expect_code(0)
        .stdout_has("reset svc: cleared 1 attempt(s)");
    guard(dir.path())
        .args(["status", "svc"])
        .run()
        .expect_code(0);
    let last = audit(dir.path()).pop().unwrap();
    assert_eq!(last["decision"], "reset");
    assert_eq!(last["reason"], "fixed the driver");
    guard(dir.path())
        .args(["--name", "svc", "--max", "1", "--", "true"])
        .run()
        .expect_code(0);
    guard(dir.path())
        .args(["reset", "../etc"])
        .run()
        .expect_code(3);
}

#[test]
fn status_and_reset_of_a_name_without_state_point_at_the_known_names() {
    let dir = tempdir().unwrap();
    guard(dir.path())
        .args(["--name", "ollama", "--", "true"])
        .run()
        .expect_code(0);
    guard(dir.path())
        .args(["status", "olama"])
        .run()
        .expect_code(0)
        .stdout_has("RESTART OK - no restarts recorded for olama in ")
        .stdout_has("(known names: ollama)");
    let before = audit(dir.path()).len();
    guard(dir.path())
        .args(["reset", "olama"])
        .run()
        .expect_code(0)
        .stdout_has("nothing to reset: no state for olama")
        .stdout_has("(known names: ollama)");
    assert_eq!(audit(dir.path()).len(), before, "a no-op reset was audited");
    let names: Vec<_> = std::fs::read_dir(dir.path().join("restart-guard"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("olama"))
        .collect();
    assert!(names.is_empty(), "a no-op reset left files: {names:?}");
}

#[test]
fn reset_of_a_corrupt_state_file_sets_it_aside_and_resets() {
    let dir = tempdir().unwrap();
    exhaust(dir.path(), "svc");
    std::fs::write(common::state_path(dir.path(), "svc"), "{\"attempts\": [tor").unwrap();
    guard(dir.path())
        .args(["reset", "svc"])
        .run()
        .expect_code(0)
        .stderr_has("corrupt")
        .stdout_has("reset svc");
    guard(dir.path())
        .args(["--name", "svc", "--max", "1", "--", "true"])
        .run()
        .expect_code(0);
}

#[test]
fn other_tools_state_for_the_same_name_is_left_alone() {
    let dir = tempdir().unwrap();
    // e.g. ollama-frozen-check's own state, in the shared state directory.
    let theirs = dir.path().join("ollama.json");
    std::fs::write(&theirs, "{\"failing_since\": 1795449687}\n").unwrap();
    guard(dir.path())
        .args(["--name", "ollama", "--", "true"])
        .run()
        .expect_code(0);
    assert_eq!(
        std::fs::read_to_string(&theirs).unwrap(),
        "{\"failing_since\": 1795449687}\n"
    );
    guard(dir.path())
        .arg("status")
        .run()
        .expect_code(0)
        .stdout_has("RESTART OK - ollama: 1/3 restarts in 1h used");
}
