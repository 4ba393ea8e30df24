//! A hostile or broken server cannot hold the check past its deadline nor
//! make it use much memory: a trickle of a byte a second, a 1 GiB body,
//! invalid JSON, the wrong content type, HTTP 500, silence after accept.
//! Each is measured with /usr/bin/time (wall seconds, max RSS).

mod common;

use common::{BIN, sim, verdict};
use selfheal_test_support::Cmd;

/// Runs the check under /usr/bin/time; returns (exit code, verdict, seconds, max RSS KiB).
fn measured(url: &str, extra: &[&str]) -> (i32, String, f64, u64) {
    selfheal_test_support::require("/usr/bin/time", "time");
    let state = selfheal_test_support::tempdir().unwrap();
    let run = Cmd::new("/usr/bin/time")
        .args([
            "-f",
            "measured %e %M",
            BIN,
            "--url",
            url,
            "--format",
            "json",
            "--timeout",
            "3s",
            "--state-dir",
        ])
        .arg(state.path())
        .args(extra)
        .run();
    let line = run
        .stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("measured "))
        .unwrap_or_else(|| panic!("no measurement\n{run}"));
    let f: Vec<&str> = line.split(' ').collect();
    let json: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e})\n{run}"));
    (
        run.code(),
        verdict(&json).to_owned(),
        f[1].parse().unwrap(),
        f[2].parse().unwrap(),
    )
}

fn bounded(fault: &str, want_code: i32, want_verdict: &str) {
    let sim = sim(&["--preload", "llama3.2:1b", "--fault", fault]);
    let (code, verdict, secs, rss_kib) = measured(&sim.url(), &["--startup-grace", "0s"]);
    assert_eq!(
        (code, verdict.as_str()),
        (want_code, want_verdict),
        "fault {fault}"
    );
    assert!(secs < 5.0, "fault {fault}: took {secs}s with --timeout 3s");
    assert!(rss_kib < 32 * 1024, "fault {fault}: max RSS {rss_kib} KiB");
}

#[test]
fn a_trickle_of_one_byte_a_second_is_cut_at_the_deadline() {
    bounded("trickle", 1, "frozen");
}

#[test]
fn a_1gib_body_is_not_read() {
    bounded("huge-body", 2, "down");
}

#[test]
fn invalid_json_is_not_ollama() {
    bounded("invalid-json", 2, "down");
}

#[test]
fn the_wrong_content_type_is_not_ollama() {
    bounded("wrong-content-type", 2, "down");
}

#[test]
fn http_500_everywhere_is_down() {
    bounded("http-500", 2, "down");
}

#[test]
fn silence_after_accept_is_cut_at_the_deadline() {
    bounded("accept-no-answer", 1, "frozen");
}
