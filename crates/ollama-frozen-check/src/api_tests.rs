use super::*;

// Labelled samples in the shapes Ollama documents and its source writes
// (api/types.go; research notes §1).

const PS_V0_33: &str = r#"{"models":[{"name":"llama3.2:latest","model":"llama3.2:latest","size":3825819519,"size_vram":3825819519,"digest":"a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72","details":{"parent_model":"","format":"gguf","family":"llama","families":["llama"],"parameter_size":"3.2B","quantization_level":"Q4_K_M"},"expires_at":"2024-06-04T14:38:31.83753-07:00","context_length":4096}]}"#;

const PS_OLD_PINNED: &str = r#"{"models":[{"name":"qwen2.5:7b","model":"qwen2.5:7b","size":5000,"size_vram":0,"digest":"x","details":{"families":null},"expires_at":"2318-08-31T10:47:43.5+02:00"}]}"#;

#[test]
fn ps_keeps_what_the_check_needs() {
    let models = ps(PS_V0_33.as_bytes()).unwrap();
    assert_eq!(models.len(), 1);
    let m = &models[0];
    assert_eq!(m.name, "llama3.2:latest");
    assert_eq!(
        (m.size, m.size_vram, m.context_length),
        (3_825_819_519, 3_825_819_519, Some(4096))
    );
    // 2024-06-04T21:38:31.83753Z
    let at = parse_rfc3339(&m.expires_at).unwrap();
    assert!((at - 1_717_537_111.837_53).abs() < 1e-3, "{at}");
    assert!((m.remaining(at - 60.0).unwrap() - 60.0).abs() < 1e-6);
}

#[test]
fn an_older_server_without_context_length_and_a_pinned_model() {
    let models = ps(PS_OLD_PINNED.as_bytes()).unwrap();
    assert_eq!(models[0].context_length, None);
    assert_eq!(models[0].size_vram, 0);
    assert!(models[0].pinned(1_800_000_000.0));
    assert!(ps(b"{\"models\":null}").unwrap().is_empty());
    assert!(ps(b"<html>").unwrap_err().contains("not Ollama's JSON"));
}

#[test]
fn rfc3339_variants() {
    assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0.0));
    assert_eq!(parse_rfc3339("1970-01-01T01:00:00+01:00"), Some(0.0));
    assert_eq!(parse_rfc3339("2000-03-01T00:00:00Z"), Some(951_868_800.0));
    assert_eq!(
        parse_rfc3339("0001-01-01T00:00:00Z"),
        Some(-62_135_596_800.0)
    );
    assert!(parse_rfc3339("2024-13-01T00:00:00Z").is_none());
    assert!(parse_rfc3339("yesterday").is_none());
    assert!(parse_rfc3339("2024-06-04T14:38:31.8+0700").is_none());
}

#[test]
fn a_streamed_generation_ends_with_its_counters() {
    let mut g = Generation::default();
    assert!(
        g.feed(r#"{"model":"m","created_at":"2026-01-01T00:00:00Z","response":"Hi","done":false}"#)
    );
    assert!(!g.feed(r#"{"model":"m","response":"","done":true,"done_reason":"length","total_duration":52000000,"load_duration":1000000,"prompt_eval_count":1,"prompt_eval_duration":20000000,"eval_count":1,"eval_duration":10000000}"#));
    assert!(g.succeeded());
    assert_eq!((g.lines, g.eval_count), (2, 1));
    assert!((g.compute_secs() - 0.03).abs() < 1e-9);
}

#[test]
fn mid_stream_errors_and_garbage_fail_the_generation() {
    let mut g = Generation::default();
    g.feed(r#"{"response":"a","done":false}"#);
    assert!(!g.feed(r#"{"error":"llama runner process has terminated: exit status 2"}"#));
    assert!(!g.succeeded());
    assert!(g.error.as_deref().unwrap().contains("terminated"));
    let mut g = Generation::default();
    assert!(!g.feed("<html>oops</html>"));
    assert!(g.error.unwrap().starts_with("not JSON"));
    // done with no token (e.g. a load-only answer) is not an answer.
    let mut g = Generation::default();
    g.feed(r#"{"done":true,"done_reason":"load"}"#);
    assert!(!g.succeeded());
    let mut g = Generation::default();
    g.feed(r#"{"model":"e","embeddings":[[0.1,0.2]],"total_duration":5}"#);
    assert!(g.succeeded());
}

#[test]
fn health_in_every_runner_generation() {
    assert_eq!(health(200, br#"{"status":"ok"}"#), Health::Ok);
    assert_eq!(
        health(
            503,
            br#"{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}"#
        ),
        Health::Loading { progress: None }
    );
    assert_eq!(
        health(200, br#"{"status":"loading model"}"#),
        Health::Loading { progress: None }
    );
    assert_eq!(
        health(200, br#"{"status":"no slot available"}"#),
        Health::NoSlot
    );
    assert_eq!(
        health(200, br#"{"status":1,"progress":0.25}"#),
        Health::Loading {
            progress: Some(0.25)
        }
    );
    assert_eq!(health(200, br#"{"status":0,"progress":1}"#), Health::Ok);
    assert!(matches!(health(500, b"boom"), Health::Error { text } if text.contains("500")));
}

#[test]
fn slots_count_busy_slots_and_decoded_tokens() {
    let body = br#"[{"id":0,"n_ctx":4096,"is_processing":true,"next_token":{"has_next_token":true,"n_remain":-1,"n_decoded":37}},{"id":1,"is_processing":false,"next_token":[{"n_decoded":5}]}]"#;
    assert_eq!(
        slots(body).unwrap(),
        Slots {
            total: 2,
            processing: 1,
            decoded: 42
        }
    );
    let older = br#"[{"id":0,"state":1,"n_decoded":3}]"#;
    assert_eq!(
        slots(older).unwrap(),
        Slots {
            total: 1,
            processing: 1,
            decoded: 3
        }
    );
    assert!(slots(b"{}").is_err());
}

#[test]
fn clip_cuts_on_char_boundaries() {
    assert_eq!(clip("héllo", 2), "hé…");
    assert_eq!(clip("ok", 5), "ok");
}
