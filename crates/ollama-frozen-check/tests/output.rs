//! What users and their tools read: the hop diagnosis, the text line, the
//! Prometheus text (checked by the real promtool), --textfile, and exit 3
//! for bad arguments and a run that cannot tell.

mod common;

use common::{BIN, Checker, sim, verdict};
use selfheal_test_support::Cmd;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_failing_hop_is_named_while_the_upstream_is_healthy() {
    let upstream = sim(&["--preload", "llama3.2:1b"]);
    let also_fine = sim(&[]);
    let dead = free_port();
    let check = Checker::new(&upstream.url());
    let hop = format!("proxy=127.0.0.1:{dead}");
    let (code, json, run) = check.run(&["--hop", &hop]);
    assert_eq!((code, verdict(&json)), (2, "down"), "{run}");
    let want = format!(
        "proxy 127.0.0.1:{dead} refuses; upstream 127.0.0.1:{} healthy",
        upstream.port()
    );
    assert!(json["summary"].as_str().unwrap().contains(&want), "{run}");
    let good = format!("proxy={}", also_fine.url());
    let (code, json, run) = check.run(&["--hop", &good]);
    assert_eq!((code, verdict(&json)), (0, "ok"), "{run}");
}

#[test]
fn text_prom_and_textfile_outputs() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    let state = selfheal_test_support::tempdir().unwrap();
    let url = sim.url();
    let base = [
        "--url",
        url.as_str(),
        "--state-dir",
        state.path().to_str().unwrap(),
    ];
    let text = Cmd::new(BIN).args(base).run().expect_code(0);
    assert!(
        text.stdout.starts_with("OLLAMA OK - ok: 1 model(s) loaded"),
        "{text}"
    );
    assert!(text.stdout.contains("remedy: none"), "{text}");
    let textfile = state.path().join("ollama.prom");
    let prom = Cmd::new(BIN)
        .args(base)
        .args(["--format", "prom", "--textfile"])
        .arg(&textfile)
        .run()
        .expect_code(0);
    for family in [
        "up",
        "verdict",
        "probe_duration_seconds",
        "models_loaded",
        "model_vram_bytes",
        "unhealthy_seconds",
        "last_success_timestamp_seconds",
    ] {
        assert!(
            prom.stdout.contains(&format!(
                "# TYPE selfheal_ollama_frozen_check_{family} gauge"
            )),
            "{family}\n{prom}"
        );
    }
    assert!(prom.stdout.contains("verdict=\"ok\"} 1"), "{prom}");
    selfheal_test_support::require("promtool", "prometheus");
    Cmd::new("promtool")
        .args(["check", "metrics"])
        .stdin(prom.stdout.clone())
        .run()
        .expect_code(0);
    let written = std::fs::read_to_string(&textfile).unwrap();
    assert!(
        written.contains("selfheal_ollama_frozen_check_up{name=\""),
        "{written}"
    );
}

#[test]
fn bad_addresses_and_a_held_lock_exit_3() {
    Cmd::new(BIN)
        .args(["--url", "host:notaport"])
        .run()
        .expect_code(3)
        .stderr_has("notaport");
    Cmd::new(BIN)
        .env("OLLAMA_HOST", "https://x")
        .run()
        .expect_code(3)
        .stderr_has("OLLAMA_HOST");
    Cmd::new(BIN)
        .args(["--hop", "proxy"])
        .run()
        .expect_code(3)
        .stderr_has("NAME=URL");
    // A run holding the lock (against a silent server) makes a second stand down.
    let silent = sim(&["--fault", "accept-no-answer"]);
    let check = Checker::new(&silent.url());
    let mut first = check
        .cmd(&["--timeout", "8s", "--startup-grace", "0s"])
        .spawn();
    common::wait_for(
        "the first check to take the lock",
        std::time::Duration::from_secs(5),
        || common::held(&check.state.path().join("ollama-frozen-check")),
    );
    let (code, json, run) = check.run(&["--timeout", "2s"]);
    assert_eq!(code, 3, "{run}");
    assert!(
        json["summary"].as_str().unwrap().contains("another check"),
        "{run}"
    );
    let _ = first.child().kill();
}
