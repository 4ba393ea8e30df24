//! The byte-level hostile modes a probe must survive: silence after accept,
//! one byte per second, a 1 GiB body, broken JSON, HTML, 500, refused.

mod common;

use common::{get, sim};
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::time::{Duration, Instant};

/// Sends `GET path` and collects what arrives within `window` (at most `cap` bytes).
fn raw_get(port: u16, path: &str, window: Duration, cap: usize) -> Vec<u8> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let deadline = Instant::now() + window;
    let mut got = Vec::new();
    let mut buf = vec![0; 1 << 16];
    while Instant::now() < deadline && got.len() < cap {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    got
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn accept_no_answer_holds_the_socket_silent_until_cleared() {
    let sim = sim(&["--fault", "accept-no-answer"]);
    assert!(
        raw_get(sim.port(), "/", Duration::from_secs(1), 1).is_empty(),
        "not a byte"
    );
    let state = sim.state();
    assert_eq!(
        state["faults"][0]["fault"], "accept-no-answer",
        "control still answers"
    );
    sim.clear_fault();
    assert_eq!(get(&sim, "/").body, "Ollama is running");
}

#[test]
fn trickle_sends_one_byte_per_second() {
    let sim = sim(&[]);
    sim.set_fault("trickle");
    let got = raw_get(sim.port(), "/api/version", Duration::from_millis(2500), 100);
    assert!(
        (1..=4).contains(&got.len()),
        "{} bytes in 2.5s: {got:?}",
        got.len()
    );
    assert!(got.starts_with(b"HT"));
}

#[test]
fn huge_body_is_streamed_not_buffered() {
    let sim = sim(&[]);
    sim.set_fault("huge-body");
    let got = raw_get(sim.port(), "/api/tags", Duration::from_secs(20), 64 << 20);
    let text = String::from_utf8_lossy(&got[..512]);
    assert!(text.contains("Content-Length: 1073741824"), "{text}");
    assert!(got.len() >= 64 << 20, "only {} bytes", got.len());
    assert!(
        rss_kib(sim.pid()) < 48 * 1024,
        "the simulator holds {} KiB",
        rss_kib(sim.pid())
    );
}

#[test]
fn invalid_json_wrong_content_type_and_http_500() {
    let sim = sim(&[]);
    sim.set_fault("invalid-json");
    let r = get(&sim, "/api/ps");
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("application/json; charset=utf-8"))
    );
    assert!(
        serde_json::from_str::<serde_json::Value>(&r.body).is_err(),
        "{}",
        r.body
    );
    sim.clear_fault();
    sim.set_fault("wrong-content-type");
    let r = get(&sim, "/api/version");
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("text/html; charset=utf-8"))
    );
    assert!(r.body.starts_with("<!DOCTYPE html>"));
    sim.clear_fault();
    sim.set_fault("http-500");
    let r = get(&sim, "/");
    assert_eq!((r.status, r.json()["error"].is_string()), (500, true));
    sim.clear_fault();
    assert_eq!(get(&sim, "/api/version").status, 200);
}

#[test]
fn refuse_closes_the_listener() {
    let sim = sim(&[]);
    sim.set_fault("refuse");
    common::wait_until(Duration::from_secs(3), "connections are refused", || {
        TcpStream::connect((Ipv4Addr::LOCALHOST, sim.port()))
            .is_err_and(|e| e.kind() == ErrorKind::ConnectionRefused)
    });
    let at_start = common::sim(&["--fault", "refuse"]);
    let err = TcpStream::connect((Ipv4Addr::LOCALHOST, at_start.port())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn control_endpoint_refuses_unknown_faults_and_models() {
    let sim = sim(&[]);
    let r = sim
        .request(
            "POST",
            "/_sim/fault",
            Some(r#"{"fault":"frozen"}"#),
            Duration::from_secs(5),
        )
        .unwrap();
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("wedged-runner"),
        "{}",
        r.body
    );
    let r = sim
        .request(
            "POST",
            "/_sim/fault",
            Some(r#"{"fault":"runaway","model":"nope"}"#),
            Duration::from_secs(5),
        )
        .unwrap();
    assert_eq!(r.status, 404, "{}", r.body);
}
