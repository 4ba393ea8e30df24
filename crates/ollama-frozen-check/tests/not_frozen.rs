//! What must never be called frozen, against the simulator: a runaway or
//! long legitimate generation, a slow load making progress, an idle model,
//! an embedding-only model, a pinned model, an older server. And probing
//! itself must not load a model or move its expiry.

mod common;

use common::{Checker, background, ps, sim, sim_runners, verdict, wait_for};
use selfheal_test_support::ollama_sim::OllamaSim;
use serde_json::json;
use std::time::Duration;

/// Runs the check a few times across more than `--freeze-after` (2 s):
/// every run must exit 0 with one of `allowed`.
fn never_frozen(check: &Checker, extra: &[&str], allowed: &[&str]) -> serde_json::Value {
    let args: Vec<&str> = ["--freeze-after", "2s", "--timeout", "5s"]
        .iter()
        .chain(extra)
        .copied()
        .collect();
    let started = std::time::Instant::now();
    let mut last = serde_json::Value::Null;
    while started.elapsed() < Duration::from_secs(4) {
        let (code, json, run) = check.run(&args);
        assert!(code == 0 && allowed.contains(&verdict(&json)), "{run}");
        last = json;
    }
    last
}

#[test]
fn s3_runaway_generation_streaming_tokens_is_busy() {
    let sim = sim(&["--preload", "llama3.2:1b", "--fault", "runaway"]);
    background(
        sim.port(),
        "/api/generate",
        &json!({"model": "llama3.2:1b", "prompt": "go on"}),
    );
    let check = Checker::new(&sim.url());
    let last = never_frozen(&check, &["--e2e-every", "0s"], &["busy", "ok"]);
    assert_eq!(verdict(&last), "busy", "{last:#}");
}

#[test]
fn a_long_legitimate_generation_is_not_frozen() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    background(
        sim.port(),
        "/api/generate",
        &json!({"model": "llama3.2:1b", "prompt": "essay", "options": {"num_predict": 2000}}),
    );
    let check = Checker::new(&sim.url());
    never_frozen(&check, &["--e2e-every", "0s"], &["busy", "ok"]);
}

/// Asks for a model that is not loaded and waits until its runner starts.
fn start_a_load(sim: &OllamaSim) {
    background(
        sim.port(),
        "/api/generate",
        &json!({"model": "llama3.2:1b", "prompt": "hi"}),
    );
    wait_for("the load to start", Duration::from_secs(10), || {
        !sim_runners(sim).is_empty()
    });
}

#[test]
fn s5_a_slow_load_making_progress_is_loading() {
    let sim = sim(&["--fault", "slow-load", "--slow-load-time", "60s"]);
    start_a_load(&sim);
    let check = Checker::new(&sim.url());
    let last = never_frozen(&check, &[], &["loading"]);
    assert!(
        last["details"]["layers"]["e2e_skipped"]
            .as_str()
            .unwrap()
            .contains("loading"),
        "{last:#}"
    );
}

#[test]
fn a_ps_that_blocks_during_a_load_is_loading_not_frozen() {
    // v0.32.10+ locks each runner in /api/ps while it loads.
    let sim = sim(&[
        "--fault",
        "slow-load",
        "--slow-load-time",
        "60s",
        "--ps-blocks-during-load",
    ]);
    start_a_load(&sim);
    let check = Checker::new(&sim.url());
    let last = never_frozen(&check, &[], &["loading"]);
    assert!(
        last["summary"]
            .as_str()
            .unwrap()
            .contains("/api/ps blocked"),
        "{last:#}"
    );
}

#[test]
fn an_idle_model_holding_vram_is_ok() {
    let sim = sim(&["--preload", "llama3.2:1b"]);
    let check = Checker::new(&sim.url());
    let last = never_frozen(&check, &[], &["ok"]);
    assert_eq!(
        last["details"]["layers"]["ps"]["models"][0]["size_vram"]
            .as_u64()
            .map(|v| v > 0),
        Some(true)
    );
}

#[test]
fn an_embedding_only_model_is_probed_through_embed() {
    let sim = sim(&["--preload", "nomic-embed-text"]);
    let check = Checker::new(&sim.url());
    let (code, json, run) = check.run(&[]);
    assert_eq!((code, verdict(&json)), (0, "ok"), "{run}");
    let probe = &json["details"]["layers"]["e2e"][0];
    assert_eq!(
        (probe["end"].as_str(), probe["request"]["input"].as_str()),
        (Some("ok"), Some("hi")),
        "{run}"
    );
    never_frozen(&check, &["--e2e-every", "0s"], &["ok"]);
}

#[test]
fn a_pinned_model_is_probed_without_keep_alive_and_stays_pinned() {
    let sim = sim(&["--preload", "llama3.2:1b", "--keep-alive", "-1"]);
    let before = ps(&sim);
    assert!(before[0].1.starts_with("23"), "{before:?}");
    let check = Checker::new(&sim.url());
    let (code, json, run) = check.run(&[]);
    assert_eq!((code, verdict(&json)), (0, "ok"), "{run}");
    assert!(
        json["details"]["layers"]["e2e"][0]["request"]
            .get("keep_alive")
            .is_none(),
        "{run}"
    );
    // Ollama re-arms a pinned model to now + forever: still pinned.
    assert!(ps(&sim)[0].1.starts_with("23"), "{:?}", ps(&sim));
}

#[test]
fn an_older_server_without_context_length_is_ok() {
    let sim = sim(&["--preload", "llama3.2:1b", "--runner-style", "old"]);
    let check = Checker::new(&sim.url());
    let (code, json, run) = check.run(&[]);
    assert_eq!((code, verdict(&json)), (0, "ok"), "{run}");
    assert_eq!(
        json["details"]["layers"]["e2e"][0]["request"]["options"],
        json!({"num_predict": 1}),
        "{run}"
    );
    never_frozen(&check, &["--e2e-every", "0s"], &["ok"]);
}

#[test]
fn probing_neither_loads_a_model_nor_moves_its_expiry() {
    let sim = sim(&["--preload", "llama3.2:1b", "--keep-alive", "10m"]);
    let before = ps(&sim);
    let check = Checker::new(&sim.url());
    for _ in 0..3 {
        let (code, json, run) = check.run(&["--e2e-every", "0s"]);
        assert_eq!(
            (code, json["details"]["layers"]["e2e"][0]["end"].as_str()),
            (0, Some("ok")),
            "{run}"
        );
    }
    let after = ps(&sim);
    assert_eq!(after.len(), 1, "a probe loaded a model: {after:?}");
    let at = |s: &str| humantime::parse_rfc3339_weak(s.split('.').next().unwrap()).unwrap();
    let moved = at(&after[0].1)
        .duration_since(at(&before[0].1))
        .unwrap_or_default();
    assert!(
        moved <= Duration::from_secs(1),
        "expiry moved by {moved:?}: {before:?} -> {after:?}"
    );
    let runners = sim_runners(&sim);
    assert_eq!(runners.len(), 1, "{runners:?}");
}
