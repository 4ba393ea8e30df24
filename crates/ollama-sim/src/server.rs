//! The Ollama-facing listener: one thread per connection, keep-alive
//! connections, Gin's `404 page not found`, and the byte-level faults that
//! replace every answer (silence, trickle, a 1 GiB body, broken JSON, HTML,
//! 500, a closed listener). `/_sim/*` control requests bypass them.

use crate::chunks::Kind;
use crate::faults::Fault;
use crate::http::{self, JSON, Out, ReadError, Request, TEXT};
use crate::sched::Sim;
use crate::{api, control, generate};
use std::io::{self, BufReader};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Accepts until the `refuse` fault closes the listener.
pub fn serve(sim: &Arc<Sim>, listener: &TcpListener) {
    if sim.lock().faults.any(Fault::Refuse) {
        return;
    }
    for stream in listener.incoming() {
        if sim.lock().faults.any(Fault::Refuse) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let sim = Arc::clone(sim);
        std::thread::spawn(move || connection(&sim, stream));
    }
}

fn connection(sim: &Arc<Sim>, stream: TcpStream) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let client = stream
        .peer_addr()
        .map_or_else(|_| "127.0.0.1".into(), |a| a.ip().to_string());
    let mut reader = BufReader::new(read_half);
    let mut out = Out::new(stream);
    loop {
        let request = match read_request(sim, &mut reader, &mut out) {
            Ok(r) => r,
            Err(ReadError::Closed) => return,
            Err(ReadError::TooLarge) => {
                let _ = out.error(413, "request body too large (limit 4 MiB)");
                return;
            }
            Err(ReadError::Bad(_)) => {
                let _ = out.respond(400, TEXT, b"400 Bad Request");
                return;
            }
        };
        out.head_only = request.method == "HEAD";
        let result = if request.path.starts_with("/_sim/") {
            control::handle(sim, &request, &mut out)
        } else {
            let started = Instant::now();
            let result = faulty(sim, &request, &mut out);
            // Gin logs a request when its handler returns, never while it hangs.
            sim.log.gin(
                out.status,
                started.elapsed(),
                &client,
                &request.method,
                &request.path,
            );
            result
        };
        if result.is_err() || request.close {
            return;
        }
    }
}

/// Reads a request, answering `Expect: 100-continue` like Go's server does
/// (unless a wire fault decides what is sent).
fn read_request(
    sim: &Sim,
    reader: &mut BufReader<TcpStream>,
    out: &mut Out,
) -> Result<Request, ReadError> {
    let mut request = http::read_head(reader)?;
    if http::expects_continue(&request) && sim.lock().faults.wire().is_none() {
        out.send(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    request.body = http::read_body(reader, &request)?;
    Ok(request)
}

/// Answers as the active wire fault dictates, else normally.
fn faulty(sim: &Sim, request: &Request, out: &mut Out) -> io::Result<()> {
    let wire = sim.lock().faults.wire();
    match wire {
        None => route(sim, request, out),
        Some(Fault::AcceptNoAnswer) => {
            // Silent until the fault is cleared (startup finished), then answer.
            while sim.lock().faults.any(Fault::AcceptNoAnswer) {
                std::thread::sleep(Duration::from_millis(50));
            }
            route(sim, request, out)
        }
        Some(Fault::Trickle) => {
            out.trickle = true;
            let result = route(sim, request, out);
            out.trickle = false;
            result
        }
        Some(Fault::HugeBody) => huge_body(out),
        Some(Fault::InvalidJson) => out.respond(200, JSON, br#"{"models": [{"name": "llama3.2:1b",, "size": NaN}"#),
        Some(Fault::WrongContentType) => out.respond(
            200,
            "text/html; charset=utf-8",
            b"<!DOCTYPE html><html><head><title>Welcome</title></head><body><h1>It works!</h1></body></html>",
        ),
        Some(Fault::Http500) => out.error(500, "internal server error"),
        Some(_) => Err(io::Error::other("listener closed")),
    }
}

/// A 1 GiB JSON body, written in 64 KiB pieces without holding it in memory.
fn huge_body(out: &mut Out) -> io::Result<()> {
    const TOTAL: u64 = 1 << 30;
    const PREFIX: &[u8] = br#"{"version":""#;
    const SUFFIX: &[u8] = br#""}"#;
    out.raw_head(200, JSON, TOTAL)?;
    if out.head_only {
        return Ok(());
    }
    out.send(PREFIX)?;
    let piece = vec![b'a'; 64 * 1024];
    let mut left = TOTAL - (PREFIX.len() + SUFFIX.len()) as u64;
    while left > 0 {
        let n = left.min(piece.len() as u64) as usize;
        out.send(&piece[..n])?;
        left -= n as u64;
    }
    out.send(SUFFIX)
}

fn route(sim: &Sim, request: &Request, out: &mut Out) -> io::Result<()> {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET" | "HEAD", "/") => api::root(out),
        ("GET" | "HEAD", "/api/version") => api::version(sim, out),
        ("GET" | "HEAD", "/api/tags") => api::tags(sim, out),
        ("GET", "/api/ps") => api::ps(sim, out),
        ("POST", "/api/generate") => generate::handle(sim, Kind::Generate, &request.body, out),
        ("POST", "/api/chat") => generate::handle(sim, Kind::Chat, &request.body, out),
        ("POST", "/api/embed") => api::embed(sim, &request.body, out),
        _ => out.respond(404, TEXT, b"404 page not found"),
    }
}
