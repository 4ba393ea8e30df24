//! A careless user's arguments: each is a usage error (exit 3, never 2: a
//! typo in a timer unit must not look like a GPU fault) that names the
//! value and says what to write instead.

mod common;

use common::{BIN, Rig, UUID0, two_gpus};

/// Runs with `args`, expects exit 3 and every piece in stderr.
fn refused(rig: &Rig, args: &[&str], said: &[&str]) {
    let run = rig.cmd().args(args).run().expect_code(3);
    assert!(run.stdout.is_empty(), "usage errors print on stderr\n{run}");
    for piece in said {
        assert!(run.stderr.contains(piece), "stderr lacks {piece:?}\n{run}");
    }
}

#[test]
fn nonsense_values_are_usage_errors_naming_the_value() {
    let rig = two_gpus();
    refused(&rig, &["--expect", "0"], &["'0'", "leave --expect out"]);
    refused(&rig, &["--expect", "-1"], &["'-1'", "1 or more"]);
    refused(&rig, &["--temp-crit", "-300"], &["'-300'", "from 0 to 200"]);
    refused(&rig, &["--temp-warn", "nan"], &["'nan'", "e.g. 85"]);
    refused(&rig, &["--free-warn", "-5GiB"], &["'-5GiB'", "negative"]);
    refused(&rig, &["--gpu", "0,"], &["empty GPU", "UUID"]);
    selfheal_test_support::Cmd::new(BIN)
        .args(["--nvml-lib=", "--no-amd"])
        .run()
        .expect_code(3)
        .stderr_has("--nvml-lib is empty")
        .stderr_has("--no-nvidia");
}

#[test]
fn inverted_thresholds_are_usage_errors() {
    let rig = two_gpus();
    refused(
        &rig,
        &["--temp-warn", "95", "--temp-crit", "85"],
        &["--temp-warn 95 is above --temp-crit 85"],
    );
    refused(
        &rig,
        &["--free-warn", "10%", "--free-crit", "20%"],
        &["--free-warn 10% is below --free-crit 20%", "e.g."],
    );
    refused(
        &rig,
        &["--free-warn", "1GiB", "--free-crit", "2GiB"],
        &["--free-warn 1GiB is below --free-crit 2GiB"],
    );
    // Equal limits, and bytes beside a percentage, are allowed.
    rig.cmd()
        .args(["--temp-warn", "90", "--temp-crit", "90"])
        .args(["--free-warn", "10%", "--free-crit", "1GiB"])
        .run()
        .expect_code(0);
}

#[test]
fn a_gpu_that_is_not_there_is_named_with_the_gpus_that_are() {
    let rig = two_gpus();
    let run = rig.cmd().args(["--gpu", "0,99"]).run().expect_code(3);
    assert!(
        run.stdout
            .starts_with("GPU UNKNOWN - --gpu 99 matches no GPU (GPUs here: GPU 0 ("),
        "{run}"
    );
    assert!(
        run.stdout.contains("give an index or UUID from this list"),
        "{run}"
    );
    let run = rig.cmd().args(["--gpu", "GPU-nope"]).run().expect_code(3);
    assert!(run.stdout.contains(UUID0), "{run}");
    // With --expect, a GPU that vanished from the bus stays CRITICAL.
    rig.cmd()
        .args(["--gpu", "99", "--expect", "1"])
        .run()
        .expect_code(2);
}

#[test]
fn a_gpu_asked_for_by_uuid_that_is_lost_without_one_is_critical() {
    let rig = Rig::new("gpus 1\ngpu 0 handle_lost\n");
    let run = rig.cmd().args(["--gpu", UUID0]).run().expect_code(2);
    assert!(
        run.stdout
            .contains("GPU 0 is lost with its UUID unreadable"),
        "{run}"
    );
}
