//! Parsing as users of git and cargo expect it: the bare command names its
//! subcommands, a typo gets a did-you-mean, and options a subcommand takes
//! work before it too; flags that make no sense together (a budget that
//! can never run out) are refused with the reason. Every one of these is a
//! usage error (3), never 2.

mod common;

use common::guard;
use selfheal_test_support::tempdir;

#[test]
fn the_bare_command_lists_its_subcommands() {
    let dir = tempdir().unwrap();
    let run = guard(dir.path())
        .run()
        .expect_code(3)
        .stderr_has("the subcommands are: status, audit, reset, loops")
        .stderr_has("restart-guard [OPTIONS] --name <NAME> -- <CMD>...");
    assert_eq!(run.stdout, "");
}

#[test]
fn a_mistyped_subcommand_gets_a_did_you_mean() {
    let dir = tempdir().unwrap();
    guard(dir.path())
        .arg("stauts")
        .run()
        .expect_code(3)
        .stderr_has("'stauts' is not a subcommand")
        .stderr_has("did you mean `status`?");
    guard(dir.path())
        .args(["rest", "svc"])
        .run()
        .expect_code(3)
        .stderr_has("did you mean `reset`?");
    let far = guard(dir.path()).arg("frobnicate").run().expect_code(3);
    assert!(!far.stderr.contains("did you mean"), "{}", far.stderr);
    assert!(far.stderr.contains("the subcommands are"), "{}", far.stderr);
}

#[test]
fn options_work_before_the_subcommand() {
    let dir = tempdir().unwrap();
    let state = dir.path().join("elsewhere");
    // Budget used in one directory, read back with the option first.
    guard(dir.path())
        .args([
            "--state-dir",
            state.to_str().unwrap(),
            "--name",
            "svc",
            "--",
            "true",
        ])
        .run()
        .expect_code(0);
    let before = |args: &[&str]| {
        guard(dir.path())
            .args(["--state-dir", state.to_str().unwrap()])
            .args(args)
            .run()
    };
    before(&["status", "svc"])
        .expect_code(0)
        .stdout_has("svc: 1/3 restarts in 1h used");
    before(&["--format", "json", "status"])
        .expect_code(0)
        .stdout_has("\"restarts_in_window\":1");
    before(&["audit", "--format", "json"])
        .expect_code(0)
        .stdout_has("\"decision\":\"restarted\"");
    // An option the subcommand does not take is still refused.
    guard(dir.path())
        .args(["--max", "2", "status"])
        .run()
        .expect_code(3);
}

#[test]
fn flags_that_make_no_sense_together_are_usage_errors_that_say_why() {
    let dir = tempdir().unwrap();
    // Policy values clap accepts but that make no sense together: usage
    // errors, the reason on stderr.
    let refused: [(&[&str], &str); 5] = [
        (
            &["--cooldown", "5m", "--backoff-max", "1m"],
            "--backoff-max (1m) must be at least --cooldown (5m)",
        ),
        (
            &["--cooldown", "0s", "--backoff-max", "1m"],
            "--backoff-max needs a --cooldown above 0s",
        ),
        (&["--per", "0s"], "--per must be longer than 0s"),
        (
            &["--cooldown", "2h", "--per", "1h", "--max", "3"],
            "--max 3 can never be reached: attempt 3 comes at least 4h after the first \
             (2 gap(s) of --cooldown 2h), outside the 1h window (--per)",
        ),
        (
            &[
                "--cooldown",
                "10s",
                "--backoff-max",
                "40s",
                "--per",
                "10m",
                "--max",
                "20",
            ],
            "--max 20 can never be reached: attempt 20 comes at least 11m after the first \
             (gaps from --cooldown 10s doubling up to --backoff-max 40s)",
        ),
    ];
    for (policy, message) in refused {
        let run = guard(dir.path())
            .args(["--name", "x"])
            .args(policy)
            .args(["--", "true"])
            .run()
            .expect_code(3)
            .stderr_has(message);
        assert_eq!(run.stdout, "");
    }
    guard(dir.path())
        .args(["loops", "--unit", "u.service", "--max", "50/1h", "--warn", "50"])
        .run()
        .expect_code(3)
        .stderr_has("--warn 50 can never show: WARNING needs more than 50 restarts, but more than 50 is already CRITICAL (--max 50/1h); give --warn below 50");
    assert!(!dir.path().join("restart-guard.audit.jsonl").exists());
}
