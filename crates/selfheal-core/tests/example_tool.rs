//! The example tool in `examples/command_probe.rs` is a whole probe on the
//! harness; these tests run it as a user would, so the harness keeps its
//! promises to every tool written on it.

use selfheal_test_support::{Cmd, tempdir};
use std::path::{Path, PathBuf};

fn example() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    profile.join("examples/command_probe")
}

fn probe(state: &Path) -> Cmd {
    Cmd::new(example())
        .arg("--state-dir")
        .arg(state)
        .args(["--name", "web", "--fail-after", "2"])
}

#[test]
fn streaks_are_kept_per_tool_and_name_and_escalate_to_critical() {
    let dir = tempdir().unwrap();
    probe(dir.path())
        .args(["--", "false"])
        .run()
        .expect_code(1)
        .stdout_has("COMMAND WARNING - web: exit 1 (1 failure(s) in a row)");
    probe(dir.path())
        .args(["--", "false"])
        .run()
        .expect_code(2)
        .stdout_has("COMMAND CRITICAL");
    probe(dir.path())
        .args(["--", "true"])
        .run()
        .expect_code(0)
        .stdout_has("COMMAND OK");
    assert!(dir.path().join("command-probe/web.json").is_file());
}

#[test]
fn a_child_past_its_deadline_is_killed_and_counted() {
    let dir = tempdir().unwrap();
    probe(dir.path())
        .args([
            "--timeout",
            "200ms",
            "--format",
            "json",
            "--",
            "sleep",
            "60",
        ])
        .run()
        .expect_code(1)
        .stdout_has(r#""status":"warning""#)
        .stdout_has("timed out after 200ms");
}

#[test]
fn textfile_is_written_by_a_run_that_could_tell_and_kept_by_one_that_could_not() {
    let dir = tempdir().unwrap();
    let prom = dir.path().join("probe.prom");
    probe(dir.path())
        .arg("--textfile")
        .arg(&prom)
        .args(["--", "true"])
        .run()
        .expect_code(0);
    let written = std::fs::read_to_string(&prom).unwrap();
    assert!(
        written.contains("selfheal_command_probe_failures{name=\"web\"} 0"),
        "{written}"
    );
    probe(dir.path())
        .arg("--textfile")
        .arg(&prom)
        .args(["--", "/nonexistent/cmd"])
        .run()
        .expect_code(3)
        .stdout_has("COMMAND UNKNOWN - cannot run /nonexistent/cmd")
        .stderr_has("left as it was");
    assert_eq!(std::fs::read_to_string(&prom).unwrap(), written);
    probe(dir.path())
        .args(["--format", "prom", "--", "true"])
        .run()
        .expect_code(0)
        .stdout_has("# TYPE selfheal_command_probe_failures gauge");
}

#[test]
fn usage_errors_exit_3() {
    Cmd::new(example())
        .args(["--name", "web", "--bogus", "--", "true"])
        .run()
        .expect_code(3)
        .stderr_has("--bogus");
}
