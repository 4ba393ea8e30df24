//! Each endpoint's shape as Ollama's `api/types.go` and `server/routes.go`
//! define it (the keep-alive rules are in `keep_alive.rs`).

mod common;

use common::{EMBED_MODEL, MODEL, get, load, now, post, ps, sim, unix, wait_until};
use serde_json::{Value, json};
use std::time::Duration;

#[test]
fn light_endpoints_answer_like_ollama() {
    let sim = sim(&[]);
    let root = get(&sim, "/");
    assert_eq!(
        (root.status, root.body.as_str()),
        (200, "Ollama is running")
    );
    assert_eq!(
        root.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let head = sim
        .request("HEAD", "/", None, Duration::from_secs(5))
        .unwrap();
    assert_eq!(
        (head.status, head.header("content-length")),
        (200, Some("17"))
    );
    let version = get(&sim, "/api/version");
    assert_eq!(
        version.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(version.json(), json!({ "version": "0.33.0" }));
    let missing = get(&sim, "/api/nothing");
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (404, "404 page not found")
    );
}

#[test]
fn tags_lists_models_with_details() {
    let sim = sim(&[]);
    let tags = get(&sim, "/api/tags").json();
    let models = tags["models"].as_array().unwrap();
    let names: Vec<&str> = models.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, [MODEL, EMBED_MODEL]);
    let llama = &models[0];
    assert_eq!(llama["model"], MODEL);
    assert!(llama["size"].is_u64());
    assert_eq!(llama["digest"].as_str().unwrap().len(), 64);
    assert!(unix(llama["modified_at"].as_str().unwrap()) > 1.7e9);
    let details = &llama["details"];
    for key in [
        "parent_model",
        "format",
        "family",
        "families",
        "parameter_size",
        "quantization_level",
    ] {
        assert!(details.get(key).is_some(), "details lack {key}: {details}");
    }
    assert_eq!(
        (&details["context_length"], &details["embedding_length"]),
        (&json!(131_072), &json!(2048))
    );
    assert_eq!(llama["capabilities"], json!(["completion"]));
    assert_eq!(models[1]["capabilities"], json!(["embedding"]));
}

#[test]
fn ps_shows_a_loaded_model_with_its_expiry() {
    let sim = sim(&[]);
    assert_eq!(get(&sim, "/api/ps").json(), json!({ "models": [] }));
    load(&sim, MODEL);
    let models = ps(&sim);
    assert_eq!(models.len(), 1, "{models:?}");
    let m = &models[0];
    assert_eq!((&m["name"], &m["model"]), (&json!(MODEL), &json!(MODEL)));
    assert!(m["size"].as_u64().unwrap() > 0);
    assert_eq!(m["size_vram"], m["size"], "all on GPU");
    assert_eq!(m["context_length"], 4096);
    assert!(m["details"].get("context_length").is_none());
    let left = unix(m["expires_at"].as_str().unwrap()) - now();
    assert!(
        (290.0..=301.0).contains(&left),
        "default keep-alive is 5m, {left}s left"
    );
    let raw = get(&sim, "/api/ps").body;
    let order = [
        "name",
        "model",
        "size",
        "digest",
        "details",
        "expires_at",
        "size_vram",
        "context_length",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|k| raw.rfind(&format!("\"{k}\":")).unwrap())
        .collect();
    assert!(
        at.is_sorted(),
        "fields in ProcessModelResponse's order: {raw}"
    );
}

fn ndjson(body: &str) -> Vec<Value> {
    body.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

#[test]
fn streaming_generate_is_ndjson_ending_with_done_and_timings() {
    let sim = sim(&[]);
    let body = json!({ "model": MODEL, "prompt": "why is the sky blue?", "options": { "num_predict": 3 } });
    let r = post(&sim, "/api/generate", &body);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    let lines = ndjson(&r.body);
    assert_eq!(
        lines.len(),
        4,
        "three tokens then the final chunk: {}",
        r.body
    );
    for token in &lines[..3] {
        assert_eq!(token["done"], false);
        assert!(token.get("done_reason").is_none() && token.get("total_duration").is_none());
        assert!(unix(token["created_at"].as_str().unwrap()) > 1.7e9);
        assert!(token["created_at"].as_str().unwrap().ends_with('Z'));
    }
    let last = &lines[3];
    assert_eq!(
        (&last["done"], &last["done_reason"], &last["eval_count"]),
        (&json!(true), &json!("length"), &json!(3))
    );
    assert_eq!(last["response"], "");
    assert!(last["context"].is_array());
    let ns = |k: &str| {
        last[k]
            .as_u64()
            .unwrap_or_else(|| panic!("{k} not an integer: {last}"))
    };
    assert!(
        ns("total_duration")
            >= ns("load_duration") + ns("prompt_eval_duration") + ns("eval_duration") / 2
    );
    assert!(
        ns("eval_duration") > 40_000_000,
        "3 tokens at 20ms are >40ms in ns: {last}"
    );
    assert!(ns("prompt_eval_count") > 0);
}

#[test]
fn non_streaming_generate_is_one_object() {
    let sim = sim(&[]);
    let r = post(
        &sim,
        "/api/generate",
        &json!({ "model": "llama3.2:1b", "prompt": "hi", "stream": false, "raw": true }),
    );
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let answer = r.json();
    assert_eq!(
        (&answer["done"], &answer["done_reason"]),
        (&json!(true), &json!("stop"))
    );
    assert!(
        answer["response"].as_str().unwrap().starts_with("The sky"),
        "{answer}"
    );
    assert!(
        answer.get("context").is_none(),
        "raw mode has no context: {answer}"
    );
    assert!(answer["eval_count"].as_u64().unwrap() > 10);
}

#[test]
fn errors_use_ollamas_status_codes_and_texts() {
    let sim = sim(&[]);
    let cases = [
        (json!({ "prompt": "hi" }), 404, "model '' not found"),
        (
            json!({ "model": "nope", "prompt": "hi" }),
            404,
            "model 'nope' not found",
        ),
        (
            json!({ "model": EMBED_MODEL, "prompt": "hi" }),
            400,
            "\"nomic-embed-text:latest\" does not support generate",
        ),
        (
            json!({ "model": MODEL, "keep_alive": "300" }),
            400,
            "time: missing unit in duration \"300\"",
        ),
    ];
    for (body, status, error) in cases {
        let r = post(&sim, "/api/generate", &body);
        assert_eq!(
            (r.status, r.json()),
            (status, json!({ "error": error })),
            "{body}"
        );
    }
    let r = sim
        .request(
            "POST",
            "/api/generate",
            Some("{not json"),
            Duration::from_secs(5),
        )
        .unwrap();
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].is_string());
    let r = sim
        .request("POST", "/api/generate", Some(""), Duration::from_secs(5))
        .unwrap();
    assert_eq!(r.json(), json!({ "error": "missing request body" }));
}

#[test]
fn embed_returns_unit_vectors() {
    let sim = sim(&[]);
    let r = post(
        &sim,
        "/api/embed",
        &json!({ "model": EMBED_MODEL, "input": ["hello", "world"] }),
    );
    let answer = r.json();
    assert_eq!(answer["model"], EMBED_MODEL);
    let vectors = answer["embeddings"].as_array().unwrap();
    assert_eq!(vectors.len(), 2);
    let v: Vec<f64> = vectors[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(v.len(), 768);
    assert!((v.iter().map(|x| x * x).sum::<f64>() - 1.0).abs() < 1e-3);
    assert!(
        answer["total_duration"].is_u64() && answer["prompt_eval_count"].is_u64(),
        "{answer}"
    );
    let short = post(
        &sim,
        "/api/embed",
        &json!({ "model": EMBED_MODEL, "input": "hi", "dimensions": 8 }),
    );
    assert_eq!(short.json()["embeddings"][0].as_array().unwrap().len(), 8);
    let bad = post(
        &sim,
        "/api/embed",
        &json!({ "model": EMBED_MODEL, "input": 3 }),
    );
    assert_eq!(
        (bad.status, bad.json()),
        (400, json!({ "error": "invalid input type" }))
    );
}

#[test]
fn ps_can_block_during_loads_like_newer_servers() {
    let sim = sim(&["--load-time", "1500ms", "--ps-blocks-during-load"]);
    std::thread::scope(|scope| {
        scope.spawn(|| load(&sim, MODEL));
        wait_until(Duration::from_secs(5), "a runner starts", || {
            !common::runners(&sim).is_empty()
        });
        let started = std::time::Instant::now();
        let models = ps(&sim);
        assert!(
            started.elapsed() > Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(models.len(), 1, "answers once loaded: {models:?}");
    });
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    use std::io::{Read, Write};
    let sim = sim(&[]);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", sim.port())).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let body = r#"{"model":"llama3.2:1b"}"#;
    write!(stream, "POST /api/generate HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n", body.len()).unwrap();
    let mut interim = [0; 25];
    stream.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(body.as_bytes()).unwrap();
    let mut status = [0; 15];
    stream.read_exact(&mut status).unwrap();
    assert_eq!(&status, b"HTTP/1.1 200 OK");
}

#[test]
fn chat_answers_with_messages() {
    let sim = sim(&[]);
    let messages = json!([{ "role": "user", "content": "why is the sky blue?" }]);
    let body = json!({ "model": MODEL, "messages": messages, "options": { "num_predict": 2 } });
    let lines = ndjson(&post(&sim, "/api/chat", &body).body);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        lines[0]["message"],
        json!({ "role": "assistant", "content": "The" })
    );
    let last = &lines[2];
    assert_eq!(
        (&last["done"], &last["done_reason"]),
        (&json!(true), &json!("length"))
    );
    assert!(
        last.get("context").is_none() && last["eval_count"] == 2,
        "{last}"
    );
    let whole = post(
        &sim,
        "/api/chat",
        &json!({ "model": MODEL, "messages": messages, "stream": false }),
    )
    .json();
    assert!(
        whole["message"]["content"]
            .as_str()
            .unwrap()
            .starts_with("The sky"),
        "{whole}"
    );
    let unload = post(
        &sim,
        "/api/chat",
        &json!({ "model": MODEL, "messages": [], "keep_alive": 0 }),
    )
    .json();
    assert_eq!(
        (&unload["done_reason"], &unload["message"]["role"]),
        (&json!("unload"), &json!("assistant"))
    );
    let embed = post(
        &sim,
        "/api/chat",
        &json!({ "model": EMBED_MODEL, "messages": messages }),
    );
    assert_eq!(
        (embed.status, embed.json()),
        (
            400,
            json!({ "error": "\"nomic-embed-text:latest\" does not support chat" })
        )
    );
}
