//! The default form end to end: decisions, exit codes, output, audit lines,
//! what CMD, --verify and --timeout do, and the administrative subcommands.

mod common;

use common::{BIN, audit, counter, decisions, guard, lines, state};
use selfheal_test_support::{Cmd, tempdir};

#[test]
fn help_teaches_policy_exit_codes_and_examples() {
    Cmd::new(BIN)
        .arg("--help")
        .run()
        .expect_code(0)
        .stdout_has("Exit codes")
        .stdout_has("Example")
        .stdout_has("restart-guard --name ollama")
        .stdout_has("sliding window");
}

#[test]
fn usage_errors_exit_3_never_2() {
    let dir = tempdir().unwrap();
    guard(dir.path()).args(["--name", "x"]).run().expect_code(3);
    guard(dir.path())
        .args(["--name", "x", "--per", "60", "--", "true"])
        .run()
        .expect_code(3)
        .stderr_has("60s");
    guard(dir.path())
        .args(["--name", "../x", "--", "true"])
        .run()
        .expect_code(3)
        .stdout_has("invalid name");
    // Checked before anything runs, with the values given.
    let refused: [(&[&str], &str); 2] = [
        (&["--timeout", "0s"], "--timeout must be longer than 0s"),
        (
            &["--verify", "true", "--verify-timeout", "0s"],
            "--verify-timeout must be longer than 0s",
        ),
    ];
    for (policy, message) in refused {
        guard(dir.path())
            .args(["--name", "x"])
            .args(policy)
            .args(["--", "true"])
            .run()
            .expect_code(3)
            .stdout_has(message);
    }
    assert!(!dir.path().join("restart-guard.audit.jsonl").exists());
}

#[test]
fn restarts_then_holds_for_cooldown_then_for_budget() {
    let dir = tempdir().unwrap();
    let count = dir.path().join("count");
    let run = |cooldown: &str| {
        guard(dir.path())
            .args(["--name", "ollama", "--max", "2", "--cooldown", cooldown])
            .args(["--reason", "OLLAMA CRITICAL - frozen", "--"])
            .args(counter(&count))
            .run()
    };
    run("60s")
        .expect_code(0)
        .stdout_has("RESTART OK - restarted ollama (1/2 in 1h, next allowed in 1m)");
    run("60s")
        .expect_code(1)
        .stdout_has("RESTART WARNING - held back: ollama is cooling down");
    run("0s").expect_code(0);
    run("0s")
        .expect_code(2)
        .stdout_has("RESTART CRITICAL - restart budget of ollama exhausted (2/2 in 1h");
    assert_eq!(lines(&count), 2);
    assert_eq!(
        decisions(dir.path()),
        ["restarted", "held-cooldown", "restarted", "held-budget"]
    );
    let first = &audit(dir.path())[0];
    assert_eq!(first["reason"], "OLLAMA CRITICAL - frozen");
    assert_eq!(first["exit_status"], 0);
    assert_eq!(first["restarts_in_window"], 1);
    assert!(first["duration_seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(first["command"][0], "sh");
    let saved = state(dir.path(), "ollama");
    assert_eq!(saved["attempts"]["at"].as_array().unwrap().len(), 2);
    assert!(saved["pending"].is_null());
}

#[test]
fn json_output_carries_the_decision_object() {
    let dir = tempdir().unwrap();
    let run = guard(dir.path())
        .args(["--name", "svc", "--format", "json", "--", "true"])
        .run()
        .expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["details"]["decision"], "restarted");
    assert_eq!(json["details"]["max"], 3);
    assert_eq!(json["details"], audit(dir.path())[0]);
    // The decision is its one check, so tools that read `checks` see it.
    assert_eq!(json["checks"][0]["name"], "svc");
    assert_eq!(json["checks"][0]["status"], "ok");
    assert_eq!(json["checks"][0]["summary"], json["summary"]);
    assert_eq!(json["checks"].as_array().map(Vec::len), Some(1));
}

#[test]
fn failing_and_hanging_commands_are_failures_that_count() {
    let dir = tempdir().unwrap();
    let pidfile = dir.path().join("grandchild.pid");
    // 2 s leaves a loaded machine time to start sh and write the pidfile.
    let hang = format!("sleep 600 & echo $! > '{}'; wait", pidfile.display());
    for (name, argv) in [
        ("a", vec!["sh", "-c", "exit 4"]),
        ("c", vec!["sh", "-c", hang.as_str()]),
    ] {
        guard(dir.path())
            .args(["--name", name, "--timeout", "2s", "--"])
            .args(argv)
            .run()
            .expect_code(2)
            .stdout_has(&format!("RESTART CRITICAL - restart of {name} failed"));
        assert_eq!(
            state(dir.path(), name)["attempts"]["at"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
    let log = audit(dir.path());
    assert_eq!(log[0]["exit_status"], 4);
    assert_eq!(log[1]["outcome"], "timed out after 2s");
    // The hanging command's whole process group was killed.
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z"),
        "grandchild survived: {stat}"
    );
}

#[test]
fn cmd_output_goes_to_stderr_not_into_the_report() {
    let dir = tempdir().unwrap();
    let run = guard(dir.path())
        .args(["--name", "svc", "--format", "json", "--", "echo", "noise"])
        .run()
        .expect_code(0)
        .stderr_has("noise");
    serde_json::from_str::<serde_json::Value>(&run.stdout).expect("stdout is one JSON object");
}

#[test]
fn verify_records_whether_the_service_came_back() {
    let dir = tempdir().unwrap();
    let args = |name: &str, verify: &str| {
        guard(dir.path())
            .args([
                "--name", name, "--settle", "0s", "--verify", verify, "--", "true",
            ])
            .run()
    };
    args("up", "sh -c 'test -n \"$SELFHEAL_NAME\"'")
        .expect_code(0)
        .stdout_has("restarted up and verified it came back");
    args("down", "sh -c 'exit 1'")
        .expect_code(2)
        .stdout_has("restarted down but it did not come back: exit 0; verify exit 1");
    assert_eq!(decisions(dir.path()), ["verified", "verify-failed"]);
}

#[test]
fn dry_run_decides_but_changes_nothing() {
    let dir = tempdir().unwrap();
    let state_dir = dir.path().join("not-yet");
    let count = dir.path().join("count");
    guard(&state_dir)
        .args(["--name", "svc", "--dry-run", "--"])
        .args(counter(&count))
        .run()
        .expect_code(0)
        .stdout_has("dry run: would restart svc");
    assert_eq!(lines(&count), 0);
    assert!(!state_dir.exists(), "a dry run created the state directory");
    // With history: it reports what a real run would decide, and writes nothing.
    guard(dir.path())
        .args(["--name", "svc", "--", "true"])
        .run();
    let before = std::fs::read(common::state_path(dir.path(), "svc")).unwrap();
    guard(dir.path())
        .args(["--name", "svc", "--dry-run", "--", "true"])
        .run()
        .expect_code(1)
        .stdout_has("dry run: held back");
    assert_eq!(
        std::fs::read(common::state_path(dir.path(), "svc")).unwrap(),
        before
    );
    assert_eq!(audit(dir.path()).len(), 1);
}

#[test]
fn an_unwritable_audit_log_stops_the_restart_before_cmd() {
    let dir = tempdir().unwrap();
    let count = dir.path().join("count");
    guard(dir.path())
        .args([
            "--name",
            "svc",
            "--audit",
            "/nonexistent-selfheal/audit.jsonl",
            "--",
        ])
        .args(counter(&count))
        .run()
        .expect_code(3)
        .stdout_has("cannot open audit log /nonexistent-selfheal/audit.jsonl");
    assert_eq!(lines(&count), 0);
}

#[test]
fn audit_reader_skips_a_torn_line() {
    let dir = tempdir().unwrap();
    guard(dir.path())
        .args(["--name", "svc", "--", "true"])
        .run();
    let log = dir.path().join("restart-guard.audit.jsonl");
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("{\"time\":\"2026-11-2");
    std::fs::write(&log, text).unwrap();
    guard(dir.path())
        .args(["--name", "svc", "--", "true"])
        .run()
        .expect_code(1);
    let run = guard(dir.path())
        .args(["audit", "--format", "json"])
        .run()
        .expect_code(0)
        .stderr_has("skipped 1");
    assert_eq!(run.stdout.lines().count(), 2);
}

#[test]
fn corrupt_state_is_set_aside_and_the_window_rebuilt_from_the_audit_log() {
    let dir = tempdir().unwrap();
    let count = dir.path().join("count");
    let run = || {
        guard(dir.path())
            .args(["--name", "svc", "--max", "2", "--cooldown", "0s", "--"])
            .args(counter(&count))
            .run()
    };
    run().expect_code(0);
    run().expect_code(0);
    std::fs::write(common::state_path(dir.path(), "svc"), "{\"attempts\": [tor").unwrap();
    run()
        .expect_code(2)
        .stderr_has("corrupt")
        .stderr_has("rebuilt");
    assert_eq!(lines(&count), 2);
}

#[test]
fn a_program_that_cannot_run_is_a_usage_error_that_counts_nothing() {
    let dir = tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let not_executable = dir.path().join("script.sh");
    std::fs::write(&not_executable, "#!/bin/sh\n").unwrap();
    let not_executable = not_executable.to_str().unwrap();
    let tmp = dir.path().to_str().unwrap();
    for (flags, cmd, says) in [
        (
            vec![],
            "/nonexistent/restart-me",
            "CMD '/nonexistent/restart-me' cannot be run",
        ),
        (
            vec![],
            "systemctll-typo",
            "CMD 'systemctll-typo' not found in $PATH",
        ),
        (vec![], tmp, "is a directory, not a program"),
        (vec![], not_executable, "is not executable"),
        (
            vec!["--verify", "no-such-probe x"],
            "true",
            "--verify program 'no-such-probe'",
        ),
        (
            vec!["--on-exhausted", "no-such-pager"],
            "true",
            "--on-exhausted program 'no-such-pager'",
        ),
    ] {
        guard(&state_dir)
            .args(["--name", "svc"])
            .args(flags)
            .args(["--", cmd])
            .run()
            .expect_code(3)
            .stdout_has(says);
    }
    assert!(
        !state_dir.exists(),
        "a run that could not start CMD recorded something"
    );
}

#[test]
fn a_far_future_next_allowed_time_is_reported_not_a_crash() {
    let dir = tempdir().unwrap();
    let run = || {
        guard(dir.path())
            .args([
                "--name",
                "svc",
                "--cooldown",
                "1000000w",
                // A window the 3 attempts can fit in, or it is refused.
                "--per",
                "3000000w",
                "--format",
                "json",
            ])
            .args(["--", "true"])
            .run()
    };
    run().expect_code(0);
    let held = run().expect_code(1);
    let json: serde_json::Value = serde_json::from_str(&held.stdout).unwrap();
    assert_eq!(json["details"]["decision"], "held-cooldown");
    assert_eq!(json["details"]["next_allowed"], "9999-12-31T23:59:59Z");
    assert!(state(dir.path(), "svc")["pending"].is_null());
}

#[test]
fn an_unwritable_textfile_stops_the_restart_before_cmd() {
    let dir = tempdir().unwrap();
    let count = dir.path().join("count");
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, "").unwrap();
    for textfile in [
        "/nonexistent-selfheal/restart.prom".to_owned(),
        format!("{}/restart.prom", not_a_dir.display()),
    ] {
        guard(dir.path())
            .args(["--name", "svc", "--textfile", &textfile, "--"])
            .args(counter(&count))
            .run()
            .expect_code(3)
            .stdout_has(&format!("--textfile {textfile}: directory"));
    }
    guard(dir.path())
        .args([
            "--name",
            "svc",
            "--textfile",
            dir.path().to_str().unwrap(),
            "--",
        ])
        .args(counter(&count))
        .run()
        .expect_code(3)
        .stdout_has("is a directory: give a file name in it");
    assert_eq!(
        lines(&count),
        0,
        "CMD ran although its report could not be written"
    );
    assert!(audit(dir.path()).is_empty());
}
