//! The advisor against a loopback server speaking Ollama's `/api/generate`:
//! it agrees, disagrees, is unsure, times out, answers garbage, or is not
//! there at all. Only a CRITICAL is ever sent, and only held back.

mod common;

use common::{json, probe};
use selfheal_test_support::http::{HttpServer, Reply};
use selfheal_test_support::{Cmd, TempDir};
use std::time::{Duration, Instant};

/// Ollama's non-streaming reply carrying the model's JSON answer.
fn ollama(answer: &str) -> Reply {
    Reply::json(serde_json::json!({"model": "judge:1b", "created_at": "2026-11-30T01:00:00Z", "response": answer, "done": true}).to_string())
}

fn answering(answer: &'static str) -> HttpServer {
    HttpServer::start(move |_| ollama(answer))
}

/// A stalled worker: its heartbeat file says 1970.
fn stalled(dir: &TempDir, server: &HttpServer) -> Cmd {
    let beat = dir.path().join("beat");
    std::fs::write(&beat, "1000\n").unwrap();
    probe()
        .args([
            "age",
            "--content",
            "unix",
            "--crit",
            "1m",
            "--format",
            "json",
            "--advisor-model",
            "judge:1b",
            "--advisor-url",
            &server.url(),
            "--file",
        ])
        .arg(beat)
}

#[test]
fn agreement_above_the_gate_keeps_critical() {
    let dir = selfheal_test_support::tempdir().unwrap();
    let server = answering(
        r#"{"verdict": "critical", "confidence": 0.92, "reason": "no heartbeat for decades"}"#,
    );
    let run = stalled(&dir, &server).run().expect_code(2);
    let report = json(&run);
    assert_eq!(report["details"]["advisor"]["held_back"], false, "{run}");
    assert!(
        report["summary"]
            .as_str()
            .unwrap()
            .contains("advisor says critical (confidence 0.92"),
        "{run}"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("POST", "/api/generate")
    );
    let sent: serde_json::Value = serde_json::from_str(&requests[0].body).unwrap();
    assert_eq!(
        (&sent["model"], &sent["format"], &sent["stream"]),
        (&"judge:1b".into(), &"json".into(), &false.into())
    );
    assert!(
        sent["prompt"].as_str().unwrap().contains("last progress"),
        "{sent}"
    );
}

#[test]
fn disagreement_or_doubt_holds_critical_back_to_warning() {
    let dir = selfheal_test_support::tempdir().unwrap();
    for answer in [
        r#"{"verdict": "not_critical", "confidence": 0.9, "reason": "market closed"}"#,
        r#"{"verdict": "critical", "confidence": 0.4, "reason": "not sure"}"#,
    ] {
        let server = answering(answer);
        let run = stalled(&dir, &server).run().expect_code(1);
        assert!(
            json(&run)["summary"]
                .as_str()
                .unwrap()
                .starts_with("held back from CRITICAL by the advisor"),
            "{run}"
        );
        assert_eq!(json(&run)["details"]["advisor"]["held_back"], true, "{run}");
    }
    // A lower gate lets the unsure agreement through.
    let server = answering(r#"{"verdict": "critical", "confidence": 0.4, "reason": "not sure"}"#);
    stalled(&dir, &server)
        .args(["--advisor-gate", "0.3"])
        .run()
        .expect_code(2);
}

#[test]
fn a_slow_garbled_or_absent_advisor_leaves_critical_standing() {
    let dir = selfheal_test_support::tempdir().unwrap();
    let slow = HttpServer::start(|_| {
        ollama(r#"{"verdict": "not_critical", "confidence": 1}"#).after(Duration::from_secs(30))
    });
    let started = Instant::now();
    stalled(&dir, &slow)
        .args(["--advisor-timeout", "500ms"])
        .run()
        .expect_code(2)
        .stderr_has("the deterministic verdict stands");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    for garbage in [
        "<html>busy</html>",
        "I think it is fine",
        r#"{"verdict": "maybe", "confidence": 0.9}"#,
    ] {
        let server = HttpServer::start(move |_| {
            if garbage.starts_with('<') {
                Reply::json(garbage)
            } else {
                ollama(garbage)
            }
        });
        stalled(&dir, &server)
            .run()
            .expect_code(2)
            .stderr_has("advisor gave no usable answer");
    }
    let gone = HttpServer::start(|_| ollama("{}"));
    let url = gone.url();
    drop(gone);
    probe()
        .args([
            "age",
            "--content",
            "unix",
            "--crit",
            "1m",
            "--advisor-model",
            "m",
            "--advisor-url",
            &url,
            "--file",
        ])
        .arg({
            let beat = dir.path().join("old");
            std::fs::write(&beat, "1000\n").unwrap();
            beat
        })
        .run()
        .expect_code(2)
        .stderr_has("advisor gave no usable answer");
}

#[test]
fn the_advisor_is_asked_only_about_a_critical() {
    let dir = selfheal_test_support::tempdir().unwrap();
    let server = answering(r#"{"verdict": "critical", "confidence": 1, "reason": "x"}"#);
    let beat = dir.path().join("fresh");
    std::fs::write(&beat, "x").unwrap();
    probe()
        .args([
            "age",
            "--crit",
            "1m",
            "--advisor-model",
            "m",
            "--advisor-url",
            &server.url(),
            "--file",
        ])
        .arg(&beat)
        .run()
        .expect_code(0);
    assert!(server.requests().is_empty());
}
