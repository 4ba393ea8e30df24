//! The command line as users drive it: stdin, a producer command, --check,
//! --label, --from json, modes and usage errors.

use selfheal_test_support::{Cmd, names_in, require, tempdir};
use std::fs;
use std::os::unix::fs::PermissionsExt;

const BIN: &str = env!("CARGO_BIN_EXE_metrics-textfile");

const GOOD: &str =
    "# HELP jobs_running Jobs.\n# TYPE jobs_running gauge\njobs_running{pool=\"a\"} 3\n";

/// The real `promtool check metrics` finds neither errors nor lint.
fn promtool_is_clean(text: &str) {
    require("promtool", "prometheus");
    Cmd::new("promtool")
        .args(["check", "metrics"])
        .stdin(text)
        .run()
        .expect_code(0);
}

#[test]
fn writes_stdin_byte_for_byte_with_mode_0644_and_no_temp_file_left() {
    let dir = tempdir().expect("tempdir");
    let target = dir.path().join("jobs.prom");
    Cmd::new(BIN)
        .arg("--output")
        .arg(&target)
        .stdin(GOOD)
        .run()
        .expect_code(0)
        .stdout_has("TEXTFILE OK - wrote 1 series in 1 family to");
    assert_eq!(fs::read_to_string(&target).expect("read"), GOOD);
    let mode = fs::metadata(&target).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    assert_eq!(names_in(dir.path()), vec!["jobs.prom"]);
}

#[test]
fn mode_and_output_can_come_from_flags_or_the_environment() {
    let dir = tempdir().expect("tempdir");
    let target = dir.path().join("jobs.prom");
    Cmd::new(BIN)
        .env("METRICS_TEXTFILE_OUTPUT", &target)
        .env("METRICS_TEXTFILE_MODE", "0600")
        .stdin(GOOD)
        .run()
        .expect_code(0);
    let mode = fs::metadata(&target).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn check_lists_every_problem_by_line_and_exits_2() {
    let input = "a_jobs 1 1700000000000\nb_jobs{x=\"\\q\"} 1\nc_jobs 1\nc_jobs 2\nd_jobs 1";
    let run = Cmd::new(BIN)
        .arg("--check")
        .stdin(input)
        .run()
        .expect_code(2)
        .stdout_has(
            "TEXTFILE CRITICAL - invalid: 4 errors in the input, first on line 1 (timestamp)",
        )
        .stdout_has("line 1: error[timestamp]")
        .stdout_has("line 2: error[escape]")
        .stdout_has("line 4: error[duplicate-series]")
        .stdout_has("line 5: error[final-newline]");
    assert!(run.stdout.contains("repeats the series on line 3"), "{run}");
}

#[test]
fn check_accepts_lint_problems_as_warnings() {
    Cmd::new(BIN)
        .arg("--check")
        .stdin("# TYPE http_requests counter\nhttp_requests 5\n")
        .run()
        .expect_code(0)
        .stdout_has("valid: 1 series in 1 family, 2 lint warnings")
        .stdout_has("warning[no-help]")
        .stdout_has("warning[counter-total]");
}

#[test]
fn input_that_is_not_utf8_is_refused_at_its_line() {
    let mut input = b"a_jobs 1\nb_jobs{x=\"".to_vec();
    input.extend([0xff, 0xfe]);
    input.extend(b"\"} 1\n");
    Cmd::new(BIN)
        .arg("--check")
        .stdin(input)
        .run()
        .expect_code(2)
        .stdout_has("line 2: error[encoding]");
}

#[test]
fn usage_errors_exit_3_and_name_the_problem() {
    let cases: [&[&str]; 7] = [
        &[],
        &["--check", "--output", "x.prom"],
        &["--check", "--label", "no_equals"],
        &["--check", "--label", "a=b", "--label", "a=c"],
        &["--check", "--label", "__reserved=x"],
        &["--check", "--timeout", "30"],
        &["--output", "x.prom", "--mode", "999"],
    ];
    for args in cases {
        let run = Cmd::new(BIN).args(args).stdin(GOOD).run().expect_code(3);
        assert!(!run.stderr.is_empty(), "{run}");
    }
}

#[test]
fn a_producer_with_an_accepted_exit_code_is_written() {
    let dir = tempdir().expect("tempdir");
    let target = dir.path().join("probe.prom");
    let script = format!("printf '{}'; exit 2", GOOD.replace('\n', "\\n"));
    Cmd::new(BIN)
        .arg("--output")
        .arg(&target)
        .args(["--accept-exit", "0,1,2", "--", "sh", "-c", &script])
        .run()
        .expect_code(0);
    assert_eq!(fs::read_to_string(&target).expect("read"), GOOD);
}

#[test]
fn a_producer_that_cannot_run_is_a_usage_error_naming_it() {
    let dir = tempdir().expect("tempdir");
    let script = |name: &str, text: &str, mode: u32| {
        let path = dir.path().join(name);
        fs::write(&path, text).expect("write script");
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
        path.to_string_lossy().into_owned()
    };
    let plain = script("plain", "#!/bin/sh\necho x 1\n", 0o644);
    let orphan = script("orphan", "#!/nonexistent/python9\nprint('x 1')\n", 0o755);
    let out = tempdir().expect("tempdir");
    for (program, says) in [
        (
            "/nonexistent/producer",
            "producer '/nonexistent/producer' cannot be run",
        ),
        ("no-such-producer-x1", "not found in $PATH"),
        (plain.as_str(), "is not executable by uid"),
        (orphan.as_str(), "'#!' line names /nonexistent/python9"),
    ] {
        Cmd::new(BIN)
            .arg("--output")
            .arg(out.path().join("x.prom"))
            .args(["--", program])
            .run()
            .expect_code(3)
            .stderr_has(says);
    }
    assert!(names_in(out.path()).is_empty());
}

#[test]
fn a_root_only_producer_run_as_nobody_is_a_usage_error() {
    let is_root = fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    });
    assert!(
        is_root,
        "this test makes a root-only script: run it as root"
    );
    require("setpriv", "util-linux");
    let dir = tempdir().expect("tempdir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let producer = dir.path().join("root-only");
    fs::write(&producer, "#!/bin/sh\necho x 1\n").expect("write");
    fs::set_permissions(&producer, fs::Permissions::from_mode(0o700)).expect("chmod");
    Cmd::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
        .args(["--check", "--"])
        .arg(&producer)
        .run()
        .expect_code(3)
        .stderr_has("is not executable by uid 65534");
}

#[test]
fn labels_are_added_to_every_sample_and_conflicts_are_refused() {
    let dir = tempdir().expect("tempdir");
    let target = dir.path().join("jobs.prom");
    Cmd::new(BIN)
        .arg("--output")
        .arg(&target)
        .args(["--label", "host=box \"1\"", "--label", "site=x"])
        .stdin(GOOD)
        .run()
        .expect_code(0);
    let written = fs::read_to_string(&target).expect("read");
    assert!(
        written.contains("jobs_running{host=\"box \\\"1\\\"\",site=\"x\",pool=\"a\"} 3\n"),
        "{written}"
    );
    promtool_is_clean(&written);
    Cmd::new(BIN)
        .arg("--output")
        .arg(&target)
        .args(["--label", "pool=b"])
        .stdin(GOOD)
        .run()
        .expect_code(2)
        .stdout_has("line 3: error[duplicate-label]");
    assert_eq!(fs::read_to_string(&target).expect("read"), written);
}

#[test]
fn a_json_report_is_written_as_text_that_promtool_accepts() {
    // Our own --format json is a selfheal report like any other tool's.
    let report = Cmd::new(BIN)
        .args(["--check", "--format", "json"])
        .stdin(GOOD)
        .run()
        .expect_code(0);
    let dir = tempdir().expect("tempdir");
    let target = dir.path().join("report.prom");
    Cmd::new(BIN)
        .arg("--output")
        .arg(&target)
        .args(["--from", "json", "--label", "host=h1"])
        .stdin(report.stdout)
        .run()
        .expect_code(0);
    let written = fs::read_to_string(&target).expect("read");
    assert!(
        written.contains("selfheal_metrics_textfile_series{host=\"h1\"} 1\n"),
        "{written}"
    );
    promtool_is_clean(&written);
    Cmd::new(BIN)
        .args(["--check", "--from", "json"])
        .stdin("{\"metrics\": 3}")
        .run()
        .expect_code(2)
        .stdout_has("\"metrics\" array");
}

#[test]
fn format_json_and_prom_describe_the_run() {
    let run = Cmd::new(BIN)
        .args(["--check", "--format", "json"])
        .stdin("a_jobs 1\na_jobs 2\n")
        .run()
        .expect_code(2);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(json["status"], "critical");
    assert_eq!(json["details"]["problems"][1]["rule"], "duplicate-series");
    assert_eq!(json["details"]["problems"][1]["line"], 2);
    let prom = Cmd::new(BIN)
        .args(["--check", "--format", "prom"])
        .stdin(GOOD)
        .run()
        .expect_code(0);
    promtool_is_clean(&prom.stdout);
}

#[test]
fn bad_values_are_usage_errors_that_quote_the_value() {
    let dir = tempdir().expect("tempdir");
    let target = dir.path().join("x.prom");
    let cases: [(&[&str], &str); 7] = [
        (&["--timeout", "0s"], "0s leaves CMD no time to run"),
        (&["--accept-exit", "0,300"], "\"300\" is not an exit code"),
        (&["--accept-exit", "-1"], "\"-1\" is not an exit code"),
        (&["--accept-exit", "ok"], "\"ok\" is not an exit code"),
        (&["--mode", "4755"], "4755 sets setuid"),
        (&["--mode", "-1"], "\"-1\" is not an octal file mode"),
        (&["--label", "host="], "host= has an empty value"),
    ];
    for (args, message) in cases {
        Cmd::new(BIN)
            .arg("--output")
            .arg(&target)
            .args(args)
            .stdin(GOOD)
            .run()
            .expect_code(3)
            .stderr_has(message);
    }
    assert!(names_in(dir.path()).is_empty());
}

#[test]
fn a_directory_as_output_is_a_usage_error_before_the_producer_runs() {
    let dir = tempdir().expect("tempdir");
    let marker = dir.path().join("producer-ran");
    let script = format!("touch {}; printf 'a 1\\n'", marker.display());
    for output in [dir.path().to_path_buf(), dir.path().join("sub/")] {
        if output.ends_with("sub") {
            fs::create_dir(&output).expect("mkdir");
        }
        Cmd::new(BIN)
            .arg("--output")
            .arg(&output)
            .args(["--", "sh", "-c", &script])
            .run()
            .expect_code(3)
            .stderr_has("is a directory: give a file name in it");
        assert!(!marker.exists(), "the producer ran");
    }
    Cmd::new(BIN)
        .arg("--output")
        .arg(dir.path().join("missing/x.prom"))
        .stdin(GOOD)
        .run()
        .expect_code(2)
        .stdout_has("missing does not exist");
}

#[test]
fn a_symlink_at_output_is_replaced_not_followed() {
    let dir = tempdir().expect("tempdir");
    let real = dir.path().join("real.prom");
    fs::write(&real, "old\n").expect("write");
    let link = dir.path().join("link.prom");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    Cmd::new(BIN)
        .arg("--output")
        .arg(&link)
        .stdin(GOOD)
        .run()
        .expect_code(0);
    assert!(!fs::symlink_metadata(&link).expect("lstat").is_symlink());
    assert_eq!(fs::read_to_string(&link).expect("read"), GOOD);
    assert_eq!(fs::read_to_string(&real).expect("read"), "old\n");
}

#[test]
fn a_name_the_collector_ignores_is_written_with_a_note() {
    let dir = tempdir().expect("tempdir");
    Cmd::new(BIN)
        .arg("--output")
        .arg(dir.path().join("jobs.txt"))
        .stdin(GOOD)
        .run()
        .expect_code(0)
        .stderr_has("reads only *.prom files");
}
