//! Bounded HTTP for an untrusted server: every request has one deadline
//! for the whole exchange (connect, headers, body), so a server trickling a
//! byte a second cannot hold us, and a byte cap, so a 1 GB body cannot
//! exhaust memory. No proxy from the environment, no redirects: the check
//! must reach exactly the address it was given.

use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// Why a request gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Nothing listens there (connection refused).
    Refused,
    /// No complete answer within the deadline; `bytes` says whether any
    /// body bytes came (a trickle or a stream) or none (silence).
    Timeout { bytes: u64 },
    /// The body is larger than we read.
    TooLarge { limit: u64 },
    /// DNS, routing, reset, a protocol error: the text says which.
    Broken(String),
}

impl Failure {
    #[must_use]
    pub fn describe(&self, deadline: Duration) -> String {
        let limit = selfheal_core::duration::human(deadline);
        match self {
            Failure::Refused => "connection refused".into(),
            Failure::Timeout { bytes: 0 } => format!("no answer within {limit}"),
            Failure::Timeout { bytes } => {
                format!("answer not complete within {limit} ({bytes} bytes came)")
            }
            Failure::TooLarge { limit } => format!("answer larger than {limit} bytes"),
            Failure::Broken(why) => why.clone(),
        }
    }
}

/// A complete answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Reply {
    #[must_use]
    pub fn is_json(&self) -> bool {
        self.content_type.contains("json")
    }
}

/// A request's result with how long it took.
#[derive(Debug, Clone)]
pub struct Timed<T> {
    pub result: Result<T, Failure>,
    pub elapsed: Duration,
    pub deadline: Duration,
}

impl<T> Timed<T> {
    #[must_use]
    pub fn failure_text(&self) -> Option<String> {
        self.result
            .as_ref()
            .err()
            .map(|f| f.describe(self.deadline))
    }
}

/// Largest response head accepted.
const HEAD_LIMIT: usize = 64 * 1024;

fn agent(deadline: Duration) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(deadline))
        .http_status_as_error(false)
        .proxy(None)
        .max_redirects(0)
        .max_response_header_size(HEAD_LIMIT)
        // ureq's 128 KiB buffers are zeroed on every request: the input
        // one only needs room for the largest head (plus a little, so a
        // larger head is refused as too large), our requests are small.
        .input_buffer_size(HEAD_LIMIT + 4 * 1024)
        .output_buffer_size(16 * 1024)
        .user_agent(concat!("ollama-frozen-check/", env!("CARGO_PKG_VERSION")))
        .build();
    ureq::Agent::with_parts(config, DefaultConnector::default(), LiteralFirst::default())
}

/// IP literals (the usual `127.0.0.1`) need no lookup: ureq's resolver
/// would start a thread for each request to bound one. Names still go to
/// it, so a slow DNS lookup stays within the deadline.
#[derive(Debug, Default)]
struct LiteralFirst(DefaultResolver);

impl Resolver for LiteralFirst {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let literal = uri
            .host()
            .filter(|_| uri.scheme_str() == Some("http"))
            .and_then(|h| {
                h.trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<IpAddr>()
                    .ok()
            })
            .zip(uri.port_u16());
        let Some((ip, port)) = literal else {
            return self.0.resolve(uri, config, timeout);
        };
        let mut addrs = self.empty();
        addrs.push(SocketAddr::new(ip, port));
        Ok(addrs)
    }
}

/// `GET url`, reading at most `limit` body bytes, all within `deadline`.
#[must_use]
pub fn get(url: &str, deadline: Duration, limit: u64) -> Timed<Reply> {
    get_as(url, None, deadline, limit)
}

/// [`get`] with an `Authorization` header (a URL's credentials).
#[must_use]
pub fn get_as(url: &str, auth: Option<&str>, deadline: Duration, limit: u64) -> Timed<Reply> {
    let started = Instant::now();
    let mut request = agent(deadline).get(url);
    if let Some(auth) = auth {
        request = request.header("Authorization", auth);
    }
    let result = request
        .call()
        .map_err(|e| classify(&e))
        .and_then(|response| read_reply(response, limit));
    Timed {
        result,
        elapsed: started.elapsed(),
        deadline,
    }
}

/// `POST url` with a JSON body; each line of the answer is handed to
/// `on_line` until it returns `false` or the body ends. Lines longer than
/// `line_limit` or a body past `limit` bytes stop the read.
pub fn post_lines(
    (url, auth): (&str, Option<&str>),
    body: &str,
    deadline: Duration,
    limit: u64,
    mut on_line: impl FnMut(u16, &str) -> bool,
) -> Timed<u16> {
    let started = Instant::now();
    let mut request = agent(deadline)
        .post(url)
        .header("Content-Type", "application/json");
    if let Some(auth) = auth {
        request = request.header("Authorization", auth);
    }
    let result = request
        .send(body)
        .map_err(|e| classify(&e))
        .and_then(|mut response| {
            let status = response.status().as_u16();
            let reader = response.body_mut().as_reader().take(limit);
            read_lines(BufReader::new(reader), limit, |line| on_line(status, line))?;
            Ok(status)
        });
    Timed {
        result,
        elapsed: started.elapsed(),
        deadline,
    }
}

const LINE_LIMIT: usize = 256 * 1024;

fn read_lines(
    mut reader: impl BufRead,
    limit: u64,
    mut on_line: impl FnMut(&str) -> bool,
) -> Result<(), Failure> {
    let mut total = 0u64;
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut reader)
            .take(LINE_LIMIT as u64)
            .read_until(b'\n', &mut line)
            .map_err(|e| io_failure(&e, total))?;
        total += read as u64;
        if read == 0 {
            return Ok(());
        }
        if total >= limit || (line.len() >= LINE_LIMIT && !line.ends_with(b"\n")) {
            return Err(Failure::TooLarge { limit });
        }
        let text = String::from_utf8_lossy(&line);
        if !text.trim().is_empty() && !on_line(text.trim()) {
            return Ok(());
        }
    }
}

fn read_reply(
    mut response: ureq::http::Response<ureq::Body>,
    limit: u64,
) -> Result<Reply, Failure> {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut body = Vec::new();
    let read = response
        .body_mut()
        .as_reader()
        .take(limit + 1)
        .read_to_end(&mut body);
    read.map_err(|e| io_failure(&e, body.len() as u64))?;
    if body.len() as u64 > limit {
        return Err(Failure::TooLarge { limit });
    }
    Ok(Reply {
        status,
        content_type,
        body,
    })
}

fn classify(err: &ureq::Error) -> Failure {
    match err {
        ureq::Error::Timeout(_) => Failure::Timeout { bytes: 0 },
        ureq::Error::Io(io) => io_failure(io, 0),
        ureq::Error::ConnectionFailed => Failure::Refused,
        ureq::Error::HostNotFound => Failure::Broken("host not found (DNS)".into()),
        other => Failure::Broken(other.to_string()),
    }
}

fn io_failure(err: &std::io::Error, bytes: u64) -> Failure {
    if let Some(inner) = err.get_ref().and_then(|e| e.downcast_ref::<ureq::Error>()) {
        return match inner {
            ureq::Error::Timeout(_) => Failure::Timeout { bytes },
            ureq::Error::Io(io) => io_failure(io, bytes),
            other => Failure::Broken(other.to_string()),
        };
    }
    match err.kind() {
        ErrorKind::ConnectionRefused => Failure::Refused,
        ErrorKind::TimedOut | ErrorKind::WouldBlock => Failure::Timeout { bytes },
        _ => Failure::Broken(err.to_string()),
    }
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
