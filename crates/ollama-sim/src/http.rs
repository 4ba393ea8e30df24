//! A small HTTP/1.1 server side over `std::net`, written by hand so faults
//! can control every byte: bounded request reading, plain and chunked
//! responses, and a trickle mode that sends one byte per second.

use serde_json::Value;
use std::io::{self, BufRead, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime};

/// Request line plus headers.
pub const MAX_HEAD: u64 = 64 * 1024;
/// Request bodies above this are refused with 413.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The client asked to close after this exchange (or speaks HTTP/1.0).
    pub close: bool,
}

impl Request {
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug)]
pub enum ReadError {
    /// The peer closed before sending a request: not an error.
    Closed,
    Bad(String),
    TooLarge,
}

impl From<io::Error> for ReadError {
    fn from(err: io::Error) -> Self {
        ReadError::Bad(err.to_string())
    }
}

fn read_line(reader: &mut impl BufRead, budget: &mut u64) -> Result<String, ReadError> {
    let mut line = String::new();
    let n = reader.take(*budget).read_line(&mut line)?;
    *budget -= n as u64;
    if !line.ends_with('\n') {
        return Err(if *budget == 0 {
            ReadError::TooLarge
        } else if line.is_empty() {
            ReadError::Closed
        } else {
            ReadError::Bad("truncated request".into())
        });
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Reads one request; its size is bounded by [`MAX_HEAD`] and [`MAX_BODY`].
pub fn read_request(reader: &mut impl BufRead) -> Result<Request, ReadError> {
    let mut request = read_head(reader)?;
    request.body = read_body(reader, &request)?;
    Ok(request)
}

/// The request line and headers; the body is left for [`read_body`].
pub fn read_head(reader: &mut impl BufRead) -> Result<Request, ReadError> {
    let mut budget = MAX_HEAD;
    let line = read_line(reader, &mut budget)?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad(format!("malformed request line {line:?}")));
    };
    let mut request = Request {
        method: method.to_string(),
        path: target.split('?').next().unwrap_or(target).to_string(),
        headers: Vec::new(),
        body: Vec::new(),
        close: version == "HTTP/1.0",
    };
    loop {
        let line = read_line(reader, &mut budget)?;
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            request
                .headers
                .push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    if request
        .header("connection")
        .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    {
        request.close = true;
    }
    Ok(request)
}

/// Whether the client waits for `100 Continue` before sending its body (curl does).
#[must_use]
pub fn expects_continue(request: &Request) -> bool {
    request
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
}

pub fn read_body(reader: &mut impl BufRead, request: &Request) -> Result<Vec<u8>, ReadError> {
    if request
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        return read_chunked(reader);
    }
    let length: usize = match request.header("content-length") {
        None => return Ok(Vec::new()),
        Some(v) => v
            .parse()
            .map_err(|_| ReadError::Bad(format!("bad Content-Length {v:?}")))?,
    };
    if length > MAX_BODY {
        return Err(ReadError::TooLarge);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(body)
}

fn read_chunked(reader: &mut impl BufRead) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let mut budget = 1024;
        let size_line = read_line(reader, &mut budget)?;
        let hex = size_line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(hex, 16)
            .map_err(|_| ReadError::Bad(format!("bad chunk size {hex:?}")))?;
        if body.len() + size > MAX_BODY {
            return Err(ReadError::TooLarge);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut budget = MAX_HEAD;
        read_line(reader, &mut budget)?;
        if size == 0 {
            return Ok(body);
        }
    }
}

/// Go's `http.StatusText`, for the codes the simulator sends.
#[must_use]
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Request Entity Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

pub const JSON: &str = "application/json; charset=utf-8";
pub const NDJSON: &str = "application/x-ndjson";
pub const TEXT: &str = "text/plain; charset=utf-8";

/// The writing half of a connection.
pub struct Out {
    stream: TcpStream,
    /// Send one byte per second (the `trickle` fault).
    pub trickle: bool,
    /// The request was HEAD: headers only.
    pub head_only: bool,
    /// Status of the last response started (for the Gin log line).
    pub status: u16,
}

impl Out {
    #[must_use]
    pub fn new(stream: TcpStream) -> Self {
        Out {
            stream,
            trickle: false,
            head_only: false,
            status: 0,
        }
    }

    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        if !self.trickle {
            return self.stream.write_all(bytes);
        }
        for byte in bytes {
            self.stream.write_all(std::slice::from_ref(byte))?;
            std::thread::sleep(Duration::from_secs(1));
        }
        Ok(())
    }

    fn head(&mut self, status: u16, content_type: &str, length: Option<usize>) -> String {
        self.status = status;
        let date = crate::timefmt::http_date(SystemTime::now());
        let length = match length {
            Some(n) => format!("Content-Length: {n}\r\n"),
            None => "Transfer-Encoding: chunked\r\n".to_string(),
        };
        format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nDate: {date}\r\n{length}\r\n",
            reason(status)
        )
    }

    pub fn respond(&mut self, status: u16, content_type: &str, body: &[u8]) -> io::Result<()> {
        let mut bytes = self
            .head(status, content_type, Some(body.len()))
            .into_bytes();
        if !self.head_only {
            bytes.extend_from_slice(body);
        }
        self.send(&bytes)
    }

    pub fn json(&mut self, status: u16, value: &Value) -> io::Result<()> {
        self.respond(status, JSON, value.to_string().as_bytes())
    }

    /// Ollama's error shape: `{"error":"…"}`.
    pub fn error(&mut self, status: u16, message: &str) -> io::Result<()> {
        self.json(status, &serde_json::json!({ "error": message }))
    }

    /// Headers of a chunked response; the body follows with [`Out::chunk`].
    pub fn start_chunked(&mut self, status: u16, content_type: &str) -> io::Result<()> {
        let head = self.head(status, content_type, None);
        self.send(head.as_bytes())
    }

    pub fn chunk(&mut self, data: &[u8]) -> io::Result<()> {
        let mut bytes = format!("{:x}\r\n", data.len()).into_bytes();
        bytes.extend_from_slice(data);
        bytes.extend_from_slice(b"\r\n");
        self.send(&bytes)
    }

    pub fn end_chunked(&mut self) -> io::Result<()> {
        self.send(b"0\r\n\r\n")
    }

    /// A raw header block for hand-made responses (hostile faults).
    pub fn raw_head(&mut self, status: u16, content_type: &str, length: u64) -> io::Result<()> {
        let head = self.head(status, content_type, Some(0)).replace(
            "Content-Length: 0\r\n",
            &format!("Content-Length: {length}\r\n"),
        );
        self.send(head.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<Request, ReadError> {
        read_request(&mut io::BufReader::new(raw.as_bytes()))
    }

    #[test]
    fn reads_request_with_body() {
        let r = parse("POST /api/generate?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}")
            .unwrap();
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/api/generate")
        );
        assert_eq!(r.body, b"{}");
        assert!(!r.close);
    }

    #[test]
    fn reads_chunked_body() {
        let r = parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
            .unwrap();
        assert_eq!(r.body, b"{}");
    }

    #[test]
    fn refuses_oversized_bodies_and_heads() {
        let big = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert!(matches!(parse(&big), Err(ReadError::TooLarge)));
        let head = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(70_000));
        assert!(matches!(parse(&head), Err(ReadError::TooLarge)));
    }

    #[test]
    fn eof_before_a_request_is_closed() {
        assert!(matches!(parse(""), Err(ReadError::Closed)));
        assert!(matches!(parse("GET"), Err(ReadError::Bad(_))));
    }
}
