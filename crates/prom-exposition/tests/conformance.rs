//! Our verdict on every corpus file agrees with the real tools, by the
//! rules in tests/corpus/README.md: the real `promtool check metrics` and
//! the real node_exporter textfile collector, scraped over loopback.

use selfheal_test_support::node_exporter::{NodeExporter, Scrape, sample_lines};
use selfheal_test_support::{Cmd, require};
use std::path::{Path, PathBuf};

fn corpus(verdict: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(verdict);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "prom"))
        .collect();
    files.sort();
    files
}

/// Exit code of `promtool check metrics < file`: 0 clean, 1 error, 3 lint.
fn promtool(text: &[u8]) -> i32 {
    require("promtool", "prometheus");
    Cmd::new("promtool")
        .args(["check", "metrics"])
        .stdin(text.to_vec())
        .run()
        .code()
}

/// Whether we accept the text, and the rule names of our warnings.
fn ours(text: &[u8]) -> (bool, Vec<String>) {
    // The format is UTF-8: other bytes are refused before parsing.
    let Ok(text) = std::str::from_utf8(text) else {
        return (false, vec![]);
    };
    let parsed = prom_exposition::check(text);
    let warnings = parsed
        .warnings()
        .map(|p| p.rule.name().to_owned())
        .collect();
    (parsed.is_valid(), warnings)
}

/// The collector's verdict; restarts the exporter if the file crashed it.
enum Collector {
    Served(Scrape),
    Crashed,
}

fn collect(exporter: &mut Option<NodeExporter>, text: &[u8]) -> Collector {
    let running = exporter.get_or_insert_with(NodeExporter::start);
    match running.scrape_file("case.prom", text) {
        Some(scrape) if running.alive() => Collector::Served(scrape),
        _ => {
            *exporter = None;
            Collector::Crashed
        }
    }
}

/// `(verdict/file name, content)` of every corpus file of a verdict.
fn cases(verdict: &str) -> Vec<(String, Vec<u8>)> {
    corpus(verdict)
        .into_iter()
        .map(|path| {
            let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let file = path.file_name().unwrap_or_default().to_string_lossy();
            (format!("{verdict}/{file}"), text)
        })
        .collect()
}

/// The collector reads the file without an error; returns what it served.
fn served(exporter: &mut Option<NodeExporter>, case: &str, text: &[u8]) -> Scrape {
    let Collector::Served(scrape) = collect(exporter, text) else {
        panic!("node_exporter crashed on {case}");
    };
    assert_eq!(scrape.scrape_error, Some(0.0), "node_exporter on {case}");
    scrape
}

/// Served without error, every series of the file included.
fn served_whole(exporter: &mut Option<NodeExporter>, case: &str, text: &[u8]) {
    let scrape = served(exporter, case, text);
    let expected = sample_lines(&String::from_utf8_lossy(text));
    assert_eq!(
        scrape.samples.len(),
        expected,
        "{case}: {:?}",
        scrape.samples
    );
}

#[test]
fn corpus_has_at_least_20_cases_and_5_per_verdict() {
    let counts: Vec<usize> = ["valid", "lint", "invalid", "strict"]
        .iter()
        .map(|v| corpus(v).len())
        .collect();
    assert!(counts.iter().all(|&n| n >= 5), "{counts:?}");
    assert!(counts.iter().sum::<usize>() >= 20, "{counts:?}");
}

#[test]
fn valid_files_pass_promtool_and_the_collector_serves_every_series() {
    let mut exporter = None;
    for (case, text) in cases("valid") {
        assert_eq!(promtool(&text), 0, "promtool on {case}");
        served_whole(&mut exporter, &case, &text);
        assert_eq!(ours(&text), (true, vec![]), "validator on {case}");
    }
}

#[test]
fn lint_only_files_are_accepted_with_the_warning_promtool_gives() {
    let mut exporter = None;
    for (case, text) in cases("lint") {
        assert_eq!(promtool(&text), 3, "promtool on {case}");
        served_whole(&mut exporter, &case, &text);
        let (valid, warnings) = ours(&text);
        assert!(valid, "validator on {case}");
        assert!(
            !warnings.is_empty(),
            "{case}: promtool lints, we did not warn"
        );
    }
}

#[test]
fn invalid_files_are_refused_where_the_collector_rejects_drops_or_crashes() {
    let mut exporter = None;
    for (case, text) in cases("invalid") {
        let lost = match collect(&mut exporter, &text) {
            Collector::Crashed => "crashed".to_owned(),
            Collector::Served(scrape) if scrape.scrape_error == Some(1.0) => {
                "skipped the file".into()
            }
            Collector::Served(scrape) => {
                let written = sample_lines(&String::from_utf8_lossy(&text));
                assert!(
                    scrape.samples.len() < written,
                    "{case}: the collector served every series: {:?}",
                    scrape.samples
                );
                format!("served {} of {written} series", scrape.samples.len())
            }
        };
        let promtool = promtool(&text);
        eprintln!("{case}: promtool exit {promtool}, node_exporter {lost}");
        assert!(!ours(&text).0, "validator accepts {case}");
    }
}

#[test]
fn strict_files_pass_both_tools_but_break_the_formats_musts() {
    let mut exporter = None;
    for (case, text) in cases("strict") {
        let promtool = promtool(&text);
        assert!(
            promtool == 0 || promtool == 3,
            "{case}: promtool exit {promtool}"
        );
        served(&mut exporter, &case, &text);
        assert!(!ours(&text).0, "validator accepts {case}");
    }
}
