use super::*;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::thread;

/// A loopback server answering each connection with `serve`; the thread
/// ends with the test process (every connection is short-lived).
fn server(serve: fn(TcpStream)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || serve(stream));
        }
    });
    url
}

fn read_head(stream: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    let _ = std::io::Read::read(stream, &mut buf);
}

#[test]
fn a_json_answer_comes_back_whole() {
    let url = server(|mut s| {
        read_head(&mut s);
        let _ = s.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 20\r\n\r\n{\"version\":\"0.33.0\"}",
        );
    });
    let reply = get(&format!("{url}/api/version"), Duration::from_secs(5), 1024);
    let reply = reply.result.unwrap();
    assert_eq!(reply.status, 200);
    assert!(reply.is_json());
    assert_eq!(reply.body, b"{\"version\":\"0.33.0\"}");
}

#[test]
fn silence_after_accept_ends_at_the_deadline() {
    let url = server(|s| {
        thread::sleep(Duration::from_secs(30));
        drop(s);
    });
    let timed = get(&url, Duration::from_millis(300), 1024);
    assert_eq!(timed.result.unwrap_err(), Failure::Timeout { bytes: 0 });
    assert!(
        timed.elapsed < Duration::from_secs(2),
        "{:?}",
        timed.elapsed
    );
}

#[test]
fn a_trickle_cannot_hold_the_request_past_its_deadline() {
    let url = server(|mut s| {
        read_head(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
        for _ in 0..100 {
            if s.write_all(b"x").is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
    });
    let timed = get(&url, Duration::from_millis(700), 1 << 20);
    assert!(
        matches!(timed.result, Err(Failure::Timeout { .. })),
        "{:?}",
        timed.result
    );
    assert!(
        timed.elapsed < Duration::from_secs(2),
        "{:?}",
        timed.elapsed
    );
}

#[test]
fn a_huge_body_stops_at_the_cap() {
    let url = server(|mut s| {
        read_head(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n");
        let chunk = vec![b'a'; 64 * 1024];
        while s.write_all(&chunk).is_ok() {}
    });
    let timed = get(&url, Duration::from_secs(5), 100_000);
    assert_eq!(
        timed.result.unwrap_err(),
        Failure::TooLarge { limit: 100_000 }
    );
}

#[test]
fn refused_is_told_apart() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let timed = get(
        &format!("http://127.0.0.1:{port}/"),
        Duration::from_secs(2),
        10,
    );
    assert_eq!(timed.result.unwrap_err(), Failure::Refused);
}

#[test]
fn lines_are_streamed_until_the_caller_stops() {
    let url = server(|mut s| {
        read_head(&mut s);
        let _ = s.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n\
              8\r\n{\"a\":1}\n\r\n",
        );
        // Never sends the final chunk: the caller stops after one line.
        thread::sleep(Duration::from_secs(30));
    });
    let mut lines = Vec::new();
    let timed = post_lines(
        (&url, None),
        "{}",
        Duration::from_secs(5),
        1 << 20,
        |status, line| {
            lines.push((status, line.to_owned()));
            false
        },
    );
    assert_eq!(timed.result.unwrap(), 200);
    assert_eq!(lines, [(200, "{\"a\":1}".to_owned())]);
    assert!(timed.elapsed < Duration::from_secs(2));
}

fn padded_head(mut s: TcpStream, pad: usize) {
    read_head(&mut s);
    let head = format!(
        "HTTP/1.1 200 OK\r\nX-Pad: {}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}",
        "a".repeat(pad)
    );
    let _ = s.write_all(head.as_bytes());
}

#[test]
fn a_head_up_to_64_kib_is_read_and_a_larger_one_refused() {
    let url = server(|s| padded_head(s, 60 * 1024));
    let reply = get(&url, Duration::from_secs(5), 1024).result.unwrap();
    assert_eq!((reply.status, reply.body.as_slice()), (200, &b"{}"[..]));
    let url = server(|s| padded_head(s, 70 * 1024));
    let failure = get(&url, Duration::from_secs(5), 1024).result.unwrap_err();
    assert!(
        matches!(&failure, Failure::Broken(why) if why.contains("too big")),
        "{failure:?}"
    );
}

#[test]
fn a_host_name_is_looked_up_and_reached() {
    let url = server(|mut s| {
        read_head(&mut s);
        let _ = s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n");
    })
    .replace("127.0.0.1", "localhost");
    let reply = get(&url, Duration::from_secs(5), 1024).result.unwrap();
    assert_eq!(reply.status, 204);
}
