//! Hostile and broken input: memory does not grow with the problems a text
//! has, and what node_exporter cannot serve within a scrape timeout is
//! refused, naming the flag that allows it.

use selfheal_test_support::node_exporter::NodeExporter;
use selfheal_test_support::{Cmd, Run, require, tempdir};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_metrics-textfile");
const MIB: usize = 1024 * 1024;

/// `metrics-textfile --check < input` under GNU time: the run and its
/// peak RSS in bytes.
fn checked_with_peak_rss(input: String) -> (Run, usize) {
    require("time", "time");
    let dir = tempdir().expect("tempdir");
    let report = dir.path().join("peak-rss-kb");
    let run = Cmd::new("time")
        .args(["-f", "%M", "-o"])
        .arg(&report)
        .args([BIN, "--check"])
        .stdin(input)
        .run();
    // The last line; a line about the exit status may come first.
    let report = std::fs::read_to_string(&report).expect("GNU time's report");
    let kb = report.lines().last().unwrap_or_default();
    let kb: usize = kb.parse().unwrap_or_else(|_| panic!("{report:?}\n{run}"));
    (run, kb * 1024)
}

#[test]
fn peak_memory_stays_within_twice_the_input_however_many_problems() {
    for (what, input) in [
        ("10 MB of bad lines", "y\n".repeat(5_000_000)),
        ("10 MB of one series repeated", "x 1\n".repeat(2_500_000)),
        ("100 MB of bad lines", "y\n".repeat(50_000_000)),
    ] {
        let bytes = input.len();
        let (run, rss) = checked_with_peak_rss(input);
        let run = run.expect_code(2).stdout_has("more problems");
        assert!(
            rss <= 2 * bytes + 16 * MIB,
            "{what}: peak RSS {} MiB for {} MiB of input\n{run}",
            rss / MIB,
            bytes / MIB
        );
    }
}

#[test]
fn a_memory_limit_ends_in_exit_2_with_the_reason_never_an_abort() {
    require("prlimit", "util-linux");
    let input = "y\n".repeat(16_000_000);
    // Too little to hold the input; then enough for input and check.
    for (limit, says) in [
        (24 * MIB, "does not fit in memory"),
        (100 * MIB, "16000000 errors"),
    ] {
        Cmd::new("prlimit")
            .arg(format!("--as={limit}"))
            .args([BIN, "--check"])
            .stdin(input.clone())
            .run()
            .expect_code(2)
            .stdout_has(says);
    }
}

/// One gauge family of `series` samples, each with `labels` labels taken
/// in turn from `names` label names; the first value is `long` bytes.
fn family(series: usize, labels: usize, names: usize, long: usize) -> String {
    let mut lines = vec!["# HELP wide_things Things.\n# TYPE wide_things gauge\n".to_owned()];
    for s in 0..series {
        let pairs: Vec<String> = (0..labels)
            .map(|i| {
                let value = if i == 0 {
                    "v".repeat(long)
                } else {
                    s.to_string()
                };
                format!("n{}=\"{value}\"", (s * labels + i) % names)
            })
            .collect();
        lines.push(format!("wide_things{{{}}} 1\n", pairs.join(",")));
    }
    lines.concat()
}

#[test]
fn what_node_exporter_cannot_serve_in_time_is_refused_naming_the_flag() {
    let help = format!("# HELP a {}\n# TYPE a gauge\na 1\n", "h".repeat(70_000));
    let families: Vec<String> = (0..10_001).map(|i| format!("f{i} 1\n")).collect();
    for (text, rule, flag, allowed) in [
        (family(1, 33, 33, 1), "label-count", "--max-labels", "33"),
        (
            family(3, 32, 65, 1),
            "family-labels",
            "--max-family-labels",
            "65",
        ),
        (
            family(1, 1, 1, 2049),
            "label-value-length",
            "--max-label-value-bytes",
            "2049",
        ),
        (help, "line-length", "--max-line-bytes", "70010"),
        (families.concat(), "family-count", "--max-families", "10001"),
    ] {
        Cmd::new(BIN)
            .arg("--check")
            .stdin(text.clone())
            .run()
            .expect_code(2)
            .stdout_has(&format!("error[{rule}]"))
            .stdout_has(flag);
        Cmd::new(BIN)
            .args(["--check", flag, allowed])
            .stdin(text)
            .run()
            .expect_code(0);
    }
}

#[test]
fn a_file_at_every_default_cap_is_served_within_a_scrape_timeout() {
    // 32 labels a sample, 64 names in the family, 2048-byte values.
    let text = family(2000, 32, 64, 2048);
    let exporter = NodeExporter::start();
    let target = exporter.dir().join("wide.prom");
    Cmd::new(BIN)
        .arg("--output")
        .arg(&target)
        .stdin(text)
        .run()
        .expect_code(0);
    let started = Instant::now();
    // get() gives up after 10 s: Prometheus' default scrape timeout.
    let body = exporter
        .get("/metrics")
        .expect("node_exporter answered within 10 s");
    let took = started.elapsed();
    eprintln!("node_exporter served the file at the caps in {took:?}");
    assert!(body.contains("node_textfile_scrape_error 0"), "{body}");
    let served = body
        .lines()
        .filter(|l| l.starts_with("wide_things{"))
        .count();
    assert_eq!(served, 2000);
    assert!(took < Duration::from_secs(10), "{took:?}");
}
