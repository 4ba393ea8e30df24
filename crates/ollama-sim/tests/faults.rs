//! Each scheduler and runner fault shows what the signature it reproduces
//! shows on a real server (research S1-S17), and clears again.

mod common;

use common::{
    EMBED_MODEL, MODEL, get, load, now, post, post_within, ps, runners, sim, unix, wait_until,
};
use selfheal_test_support::ollama_sim::{OllamaSim, request};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const BUSY: &str = "server busy, please try again.  maximum pending requests exceeded";

fn one_token() -> Value {
    json!({ "model": MODEL, "prompt": "hi", "options": { "num_predict": 1 } })
}

fn runner_port(sim: &OllamaSim) -> u16 {
    runners(sim)[0]["port"].as_u64().unwrap() as u16
}

fn slots(port: u16) -> std::io::Result<Value> {
    request(port, "GET", "/slots", None, Duration::from_secs(1)).map(|r| r.json())
}

#[test]
fn wedged_runner_hangs_generate_and_slots_not_health_or_ps() {
    let sim = sim(&["--preload", MODEL]);
    let port = runner_port(&sim);
    sim.set_fault("wedged-runner");
    assert_eq!(ps(&sim).len(), 1);
    let health = request(port, "GET", "/health", None, Duration::from_secs(1)).unwrap();
    assert_eq!(health.status, 200);
    assert!(slots(port).is_err(), "/slots must hang on a wedged runner");
    assert!(post_within(&sim, "/api/generate", &one_token(), Duration::from_secs(2)).is_err());
    sim.clear_fault();
    assert_eq!(post(&sim, "/api/generate", &one_token()).status, 200);
}

#[test]
fn a_fault_given_at_start_for_one_model_spares_the_others() {
    let sim = sim(&["--fault", "wedged-runner=llama3.2:1b", "--preload", MODEL]);
    assert!(post_within(&sim, "/api/generate", &one_token(), Duration::from_secs(2)).is_err());
    let embed = post(
        &sim,
        "/api/embed",
        &json!({ "model": EMBED_MODEL, "input": "x" }),
    );
    assert_eq!(embed.status, 200, "{}", embed.body);
}

#[test]
fn stuck_unload_keeps_expiry_in_the_past_and_requests_hanging() {
    let sim = sim(&["--preload", MODEL]);
    sim.set_fault("stuck-unload");
    wait_until(Duration::from_secs(3), "expires_at is in the past", || {
        unix(ps(&sim)[0]["expires_at"].as_str().unwrap()) < now()
    });
    assert!(
        post_within(
            &sim,
            "/api/generate",
            &one_token(),
            Duration::from_millis(1500)
        )
        .is_err()
    );
    // `ollama stop` does nothing.
    post(
        &sim,
        "/api/generate",
        &json!({ "model": MODEL, "keep_alive": 0 }),
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(ps(&sim).len(), 1);
    sim.clear_fault();
    assert_eq!(post(&sim, "/api/generate", &one_token()).status, 200);
}

#[test]
fn runaway_keeps_streaming_past_num_predict() {
    let sim = sim(&["--preload", MODEL, "--token-time", "10ms"]);
    let port = runner_port(&sim);
    sim.set_fault("runaway");
    let body = json!({ "model": MODEL, "prompt": "hi", "options": { "num_predict": 3 } });
    std::thread::scope(|scope| {
        let hung =
            scope.spawn(|| post_within(&sim, "/api/generate", &body, Duration::from_secs(2)));
        wait_until(
            Duration::from_secs(3),
            "the slot decodes past 3 tokens",
            || slots(port).is_ok_and(|s| s[0]["next_token"]["n_decoded"].as_u64() > Some(20)),
        );
        let first = slots(port).unwrap()[0]["next_token"]["n_decoded"]
            .as_u64()
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let second = slots(port).unwrap()[0]["next_token"]["n_decoded"]
            .as_u64()
            .unwrap();
        assert!(second > first, "busy, not frozen: {first} then {second}");
        assert!(
            hung.join().unwrap().is_err(),
            "a runaway generation never finishes"
        );
    });
}

#[test]
fn runner_dies_gives_a_fast_500_and_the_next_request_reloads() {
    let sim = sim(&["--preload", MODEL]);
    let pid = runners(&sim)[0]["pid"].as_u64().unwrap();
    sim.set_fault("runner-dies");
    let started = Instant::now();
    let r = post(&sim, "/api/generate", &one_token());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.status, 500);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("model runner has unexpectedly stopped"),
        "{}",
        r.body
    );
    wait_until(
        Duration::from_secs(3),
        "the dead runner leaves /api/ps",
        || ps(&sim).is_empty(),
    );
    assert!(common::process_gone(pid));
    sim.clear_fault();
    assert_eq!(
        post(&sim, "/api/generate", &one_token()).status,
        200,
        "reloaded"
    );
}

#[test]
fn mid_stream_error_arrives_with_http_200() {
    let sim = sim(&["--preload", MODEL]);
    sim.set_fault("mid-stream-error");
    let body = json!({ "model": MODEL, "prompt": "hi", "options": { "num_predict": 10 } });
    let r = post(&sim, "/api/generate", &body);
    assert_eq!(r.status, 200);
    let lines: Vec<Value> = r
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "three tokens, then the error: {}", r.body);
    assert!(lines[3]["error"].is_string(), "{}", r.body);
}

#[test]
fn slow_load_shows_loading_with_progress_then_finishes() {
    let sim = sim(&[
        "--fault",
        "slow-load",
        "--slow-load-time",
        "2s",
        "--runner-style",
        "old",
    ]);
    std::thread::scope(|scope| {
        let loader = scope.spawn(|| load(&sim, MODEL));
        wait_until(Duration::from_secs(3), "the runner answers /health", || {
            runners(&sim).first().is_some_and(|r| {
                request(
                    r["port"].as_u64().unwrap() as u16,
                    "GET",
                    "/health",
                    None,
                    Duration::from_secs(1),
                )
                .is_ok()
            })
        });
        let port = runner_port(&sim);
        let progress = || {
            request(port, "GET", "/health", None, Duration::from_secs(1))
                .unwrap()
                .json()["progress"]
                .as_f64()
                .unwrap()
        };
        let first = progress();
        std::thread::sleep(Duration::from_millis(300));
        let second = progress();
        assert!(
            first < second && second < 1.0,
            "progress {first} then {second}"
        );
        assert_eq!(ps(&sim).len(), 1, "a loading model is listed");
        loader.join().unwrap();
    });
}

#[test]
fn scheduler_deadlock_answers_fast_503s_and_freezes_expiry() {
    let sim = sim(&["--preload", MODEL]);
    sim.set_fault("scheduler-deadlock");
    let started = Instant::now();
    let r = post(&sim, "/api/generate", &one_token());
    assert!(started.elapsed() < Duration::from_secs(2), "a fast 503");
    assert_eq!((r.status, r.json()), (503, json!({ "error": BUSY })));
    let expires = ps(&sim)[0]["expires_at"].clone();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        ps(&sim)[0]["expires_at"],
        expires,
        "nothing completes, expiry never moves"
    );
    assert!(unix(expires.as_str().unwrap()) < now());
    assert_eq!(get(&sim, "/api/version").status, 200);
}

#[test]
fn overload_refuses_new_work_while_completions_go_on() {
    let sim = sim(&["--preload", MODEL, "--token-time", "5ms"]);
    let port = runner_port(&sim);
    sim.set_fault("overload");
    let r = post(&sim, "/api/generate", &one_token());
    assert_eq!((r.status, r.json()), (503, json!({ "error": BUSY })));
    let task = |port| slots(port).unwrap()[0]["id_task"].as_i64().unwrap();
    let first = task(port);
    wait_until(
        Duration::from_secs(3),
        "other clients' completions progress",
        || task(port) > first + 2,
    );
    let before = unix(ps(&sim)[0]["expires_at"].as_str().unwrap());
    wait_until(
        Duration::from_secs(3),
        "expires_at moves as they finish",
        || unix(ps(&sim)[0]["expires_at"].as_str().unwrap()) > before,
    );
}

#[test]
fn cpu_fallback_reports_no_vram_and_slows_tokens() {
    let sim = sim(&["--preload", MODEL, "--token-time", "10ms"]);
    sim.set_fault("cpu-fallback");
    let m = &ps(&sim)[0];
    assert_eq!(m["size_vram"], 0);
    assert!(m["size"].as_u64().unwrap() > 0);
    let body =
        json!({ "model": MODEL, "prompt": "hi", "stream": false, "options": { "num_predict": 3 } });
    let eval_ns = post(&sim, "/api/generate", &body).json()["eval_duration"]
        .as_u64()
        .unwrap();
    assert!(eval_ns >= 300_000_000, "3 tokens at 10x 10ms: {eval_ns}ns");
}

#[test]
fn slow_gpu_keeps_vram_and_slows_tokens_50x() {
    let sim = sim(&["--preload", MODEL, "--token-time", "10ms"]);
    sim.set_fault("slow");
    let m = &ps(&sim)[0];
    assert_eq!(m["size_vram"], m["size"], "still all on the GPU");
    let body =
        json!({ "model": MODEL, "prompt": "hi", "stream": false, "options": { "num_predict": 2 } });
    let eval_ns = post(&sim, "/api/generate", &body).json()["eval_duration"]
        .as_u64()
        .unwrap();
    assert!(
        eval_ns >= 1_000_000_000,
        "2 tokens at 50x 10ms: {eval_ns}ns"
    );
}

#[test]
fn orphan_runner_lives_on_outside_ps() {
    let sim = sim(&["--preload", MODEL]);
    let state = sim.set_fault("orphan-runner");
    assert!(ps(&sim).is_empty(), "the model is no longer listed");
    let orphan = &state["runners"][0];
    assert_eq!(orphan["orphan"], true, "{state}");
    let pid = orphan["pid"].as_u64().unwrap();
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap(),
        "llama-server\n"
    );
    assert!(!common::process_gone(pid));
    sim.clear_fault();
    wait_until(Duration::from_secs(3), "the orphan is killed", || {
        common::process_gone(pid)
    });
}

#[test]
fn loads_hang_while_loaded_models_answer() {
    let sim = sim(&["--preload", MODEL]);
    sim.set_fault("loads-hang");
    let embed = json!({ "model": EMBED_MODEL, "input": "x" });
    assert!(post_within(&sim, "/api/embed", &embed, Duration::from_millis(1500)).is_err());
    assert_eq!(post(&sim, "/api/generate", &one_token()).status, 200);
    assert_eq!(ps(&sim).len(), 1, "the hung load is not listed");
    sim.clear_fault();
    assert_eq!(post(&sim, "/api/embed", &embed).status, 200);
}

#[test]
fn thrash_evicts_and_reloads_in_a_loop() {
    let sim = sim(&["--load-time", "100ms"]);
    sim.set_fault("thrash");
    let mut pids = std::collections::BTreeSet::new();
    wait_until(
        Duration::from_secs(5),
        "three different runners come and go",
        || {
            pids.extend(runners(&sim).iter().filter_map(|r| r["pid"].as_u64()));
            pids.len() >= 3
        },
    );
    assert!(post_within(&sim, "/api/generate", &one_token(), Duration::from_secs(1)).is_err());
}
