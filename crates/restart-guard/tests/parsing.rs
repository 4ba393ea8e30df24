//! Parsing as users of git and cargo expect it: the bare command names its
//! subcommands, a typo gets a did-you-mean, and options a subcommand takes
//! work before it too. Every one of these is a usage error (3), never 2.

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
