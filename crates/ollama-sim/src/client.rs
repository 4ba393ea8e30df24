//! How the server talks to its runners: plain HTTP/1.1 on loopback, one
//! connection per request, as Ollama does. Completions have no timeout (the
//! real server has none, so a frozen runner really hangs the request);
//! health checks and control calls do.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// A response whose body is read by the caller, line by line or whole.
pub struct Response {
    pub status: u16,
    pub reader: BufReader<TcpStream>,
}

/// Sends one request to `127.0.0.1:port`. `timeout` bounds connect and each read.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
    timeout: Option<Duration>,
) -> io::Result<Response> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = match timeout {
        Some(t) => TcpStream::connect_timeout(&addr, t)?,
        None => TcpStream::connect(addr)?,
    };
    stream.set_read_timeout(timeout)?;
    stream.set_write_timeout(timeout)?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "no HTTP status line"))?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
    }
    Ok(Response { status, reader })
}

impl Response {
    /// The rest of the body (the runner closes after it), at most `limit` bytes.
    pub fn body(self, limit: u64) -> io::Result<String> {
        let mut text = String::new();
        self.reader.take(limit).read_to_string(&mut text)?;
        Ok(text)
    }

    /// The next non-empty line, or `None` at the end of the body.
    pub fn next_line(&mut self) -> io::Result<Option<String>> {
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Ok(None);
            }
            let trimmed = line.trim_end();
            if !trimmed.is_empty() {
                return Ok(Some(trimmed.to_string()));
            }
        }
    }
}

/// A quick JSON request with a timeout, for health checks and control calls.
pub fn call(port: u16, method: &str, path: &str, body: Option<&str>) -> io::Result<(u16, String)> {
    let response = request(port, method, path, body, Some(Duration::from_secs(2)))?;
    let status = response.status;
    Ok((status, response.body(1 << 20)?))
}
