//! The keep-alive rules clients and probes rely on, as Ollama's scheduler
//! applies them: `keep_alive` 0 unloads, negative pins (to about 2318),
//! `expires_at` is set when the last request ends (in the past while a
//! long one runs, moving forward during a load), and a different
//! `num_ctx` reloads the model.

mod common;

use common::{MODEL, load, now, post, ps, sim, unix, wait_until};
use serde_json::json;
use std::time::Duration;

#[test]
fn keep_alive_zero_with_empty_prompt_unloads() {
    let sim = sim(&[]);
    load(&sim, MODEL);
    let pid = common::runners(&sim)[0]["pid"].as_u64().unwrap();
    let r = post(
        &sim,
        "/api/generate",
        &json!({ "model": MODEL, "keep_alive": 0 }),
    );
    assert_eq!(r.json()["done_reason"], "unload", "{}", r.body);
    wait_until(Duration::from_secs(5), "the model leaves /api/ps", || {
        ps(&sim).is_empty()
    });
    wait_until(Duration::from_secs(5), "its runner exits", || {
        common::process_gone(pid)
    });
}

#[test]
fn keep_alive_zero_with_a_prompt_unloads_after_the_answer() {
    let sim = sim(&[]);
    let body =
        json!({ "model": MODEL, "prompt": "hi", "keep_alive": 0, "options": { "num_predict": 1 } });
    assert_eq!(post(&sim, "/api/generate", &body).status, 200);
    wait_until(Duration::from_secs(5), "the model leaves /api/ps", || {
        ps(&sim).is_empty()
    });
}

#[test]
fn negative_keep_alive_pins_until_about_2318() {
    let sim = sim(&[]);
    let r = post(
        &sim,
        "/api/generate",
        &json!({ "model": MODEL, "keep_alive": -1 }),
    );
    assert_eq!(r.status, 200);
    let expires = ps(&sim)[0]["expires_at"].as_str().unwrap().to_string();
    let years = (unix(&expires) - now()) / (365.25 * 86_400.0);
    assert!(
        (292.0..292.5).contains(&years),
        "{expires} is {years} years ahead"
    );
    // A later request without keep_alive keeps the pin (the session sticks).
    post(
        &sim,
        "/api/generate",
        &json!({ "model": MODEL, "prompt": "x", "options": { "num_predict": 1 } }),
    );
    // Re-armed (still ~2318) once the server releases the request.
    wait_until(Duration::from_secs(5), "expiry re-armed forever", || {
        unix(ps(&sim)[0]["expires_at"].as_str().unwrap()) > unix(&expires)
    });
}

#[test]
fn expires_at_falls_into_the_past_while_a_long_request_runs() {
    let sim = sim(&["--token-time", "20ms"]);
    let short = json!({ "model": MODEL, "prompt": "x", "keep_alive": "2s", "options": { "num_predict": 1 } });
    post(&sim, "/api/generate", &short);
    // The server releases the model just after the answer's last byte.
    wait_until(
        Duration::from_secs(5),
        "the short request is released",
        || common::runners(&sim)[0]["refs"] == 0,
    );
    let long = json!({ "model": MODEL, "prompt": "x", "options": { "num_predict": 200 } });
    let url_sim = &sim;
    std::thread::scope(|scope| {
        let request = scope.spawn(move || post(url_sim, "/api/generate", &long));
        wait_until(
            Duration::from_secs(6),
            "expires_at is in the past (\"Stopping...\")",
            || unix(ps(&sim)[0]["expires_at"].as_str().unwrap()) < now(),
        );
        assert!(!request.is_finished(), "the long request is still attached");
        assert_eq!(request.join().unwrap().status, 200);
    });
    // Released (and re-armed) just after the last byte, as above.
    wait_until(
        Duration::from_secs(5),
        "expires_at is re-armed once the long request ends",
        || unix(ps(&sim)[0]["expires_at"].as_str().unwrap()) > now(),
    );
    let after = unix(ps(&sim)[0]["expires_at"].as_str().unwrap()) - now();
    assert!(
        after <= 2.0,
        "re-armed for the 2s session, not longer: {after}"
    );
}

#[test]
fn expires_at_moves_forward_while_loading() {
    let sim = sim(&["--load-time", "3s"]);
    std::thread::scope(|scope| {
        scope.spawn(|| load(&sim, MODEL));
        wait_until(
            Duration::from_secs(5),
            "the loading model shows in /api/ps",
            || !ps(&sim).is_empty(),
        );
        let first = unix(ps(&sim)[0]["expires_at"].as_str().unwrap());
        std::thread::sleep(Duration::from_millis(300));
        let second = unix(ps(&sim)[0]["expires_at"].as_str().unwrap());
        assert!(second > first + 0.2, "{first} then {second}");
        assert_eq!(common::runners(&sim)[0]["ready"], false);
    });
}

#[test]
fn a_different_num_ctx_reloads_the_model() {
    let sim = sim(&["--preload", MODEL]);
    let pid = common::runners(&sim)[0]["pid"].clone();
    let body =
        json!({ "model": MODEL, "prompt": "x", "options": { "num_predict": 1, "num_ctx": 8192 } });
    assert_eq!(post(&sim, "/api/generate", &body).status, 200);
    assert_eq!(ps(&sim)[0]["context_length"], 8192);
    assert_ne!(common::runners(&sim)[0]["pid"], pid, "a new runner");
}

#[test]
fn omitting_num_ctx_reloads_a_model_loaded_with_another() {
    let sim = sim(&[]);
    let with_ctx =
        json!({ "model": MODEL, "prompt": "x", "options": { "num_predict": 1, "num_ctx": 8192 } });
    post(&sim, "/api/generate", &with_ctx);
    let pid = common::runners(&sim)[0]["pid"].clone();
    post(&sim, "/api/generate", &with_ctx);
    assert_eq!(
        common::runners(&sim)[0]["pid"],
        pid,
        "same options: same runner"
    );
    let without = json!({ "model": MODEL, "prompt": "x", "options": { "num_predict": 1 } });
    post(&sim, "/api/generate", &without);
    assert_ne!(common::runners(&sim)[0]["pid"], pid, "reloaded");
    assert_eq!(ps(&sim)[0]["context_length"], 4096);
}
