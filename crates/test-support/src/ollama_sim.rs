//! A running `ollama-sim` for tests: started with given flags, its port read
//! from the first stdout line within a deadline, faults switched through its
//! control endpoint, killed (and with it every runner child) on `Drop`.
//! Includes a tiny bounded HTTP/1.1 client over `std::net`.

use serde_json::Value;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the simulator may take to print its port.
const START_DEADLINE: Duration = Duration::from_secs(20);
/// Bodies read by tests are cut here.
const BODY_LIMIT: u64 = 16 << 20;

pub struct OllamaSim {
    child: Child,
    port: u16,
    stderr: Arc<Mutex<String>>,
}

/// A response read whole (chunked bodies decoded).
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, or a panic showing it.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }
}

impl OllamaSim {
    /// Starts the workspace's `ollama-sim` binary with `args`.
    #[track_caller]
    pub fn start(args: &[&str]) -> Self {
        Self::start_bin(&crate::bin("ollama-sim"), args)
    }

    /// Starts the simulator at `bin` (`env!("CARGO_BIN_EXE_ollama-sim")` in its own crate).
    #[track_caller]
    pub fn start_bin(bin: &Path, args: &[&str]) -> Self {
        let mut child = crate::clean_command(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let mut err_pipe = child.stderr.take().expect("stderr piped");
        std::thread::spawn(move || {
            let mut buf = [0; 4096];
            while let Ok(n @ 1..) = err_pipe.read(&mut buf) {
                sink.lock()
                    .expect("stderr")
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let (tx, rx) = mpsc::channel();
        let out_pipe = child.stdout.take().expect("stdout piped");
        std::thread::spawn(move || {
            for line in BufReader::new(out_pipe).lines() {
                let _ = tx.send(line.unwrap_or_default());
            }
        });
        let mut sim = OllamaSim {
            child,
            port: 0,
            stderr,
        };
        let line = rx.recv_timeout(START_DEADLINE).unwrap_or_else(|_| {
            panic!(
                "ollama-sim {args:?} printed no port within {START_DEADLINE:?}; stderr:\n{}",
                sim.stderr()
            )
        });
        sim.port = line
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("first line is not `listening on 127.0.0.1:PORT`: {line:?}"));
        sim
    }

    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    #[must_use]
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the simulator wrote on stderr so far.
    #[must_use]
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr").clone()
    }

    /// The child, e.g. to kill it in a test and wait for it.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// One request to the simulator, every read bounded by `timeout`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        timeout: Duration,
    ) -> io::Result<Response> {
        request(self.port, method, path, body, timeout)
    }

    #[track_caller]
    fn control(&self, method: &str, body: Option<&str>) -> Value {
        let response = self
            .request(method, "/_sim/fault", body, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("control request failed: {e}\nstderr:\n{}", self.stderr()));
        assert_eq!(
            response.status, 200,
            "control request refused: {}",
            response.body
        );
        response.json()
    }

    /// Turns a fault on for every model.
    #[track_caller]
    pub fn set_fault(&self, name: &str) -> Value {
        self.control(
            "POST",
            Some(&serde_json::json!({ "fault": name }).to_string()),
        )
    }

    /// Turns a fault on for one model.
    #[track_caller]
    pub fn set_fault_for(&self, name: &str, model: &str) -> Value {
        let body = serde_json::json!({ "fault": name, "model": model });
        self.control("POST", Some(&body.to_string()))
    }

    /// Turns every fault off.
    #[track_caller]
    pub fn clear_fault(&self) -> Value {
        self.control("DELETE", None)
    }

    /// `GET /_sim/state`: faults and runner pids/ports.
    #[track_caller]
    pub fn state(&self) -> Value {
        self.request("GET", "/_sim/state", None, Duration::from_secs(10))
            .expect("GET /_sim/state")
            .json()
    }
}

impl Drop for OllamaSim {
    fn drop(&mut self) {
        // SIGKILL: the runners' parent-death signal takes them down too.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads that fail once the whole exchange has taken longer than allowed,
/// so a server trickling bytes or streaming forever cannot hold a test.
struct Deadline {
    stream: TcpStream,
    deadline: Instant,
}

impl Read for Deadline {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "response deadline passed",
            ));
        }
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
    }
}

/// A bounded HTTP/1.1 request to `127.0.0.1:port` with `Connection: close`;
/// `timeout` bounds the whole exchange.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> io::Result<Response> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let deadline = Instant::now() + timeout;
    let mut reader = BufReader::new(Deadline { stream, deadline }.take(BODY_LIMIT));
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad status line {line:?}"),
            )
        })?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut response = Response {
        status,
        headers,
        body: String::new(),
    };
    if method == "HEAD" {
        return Ok(response);
    }
    let raw = if response.header("transfer-encoding") == Some("chunked") {
        dechunk(&mut reader)?
    } else {
        let mut raw = Vec::new();
        reader.read_to_end(&mut raw)?;
        raw
    };
    response.body = String::from_utf8_lossy(&raw).into_owned();
    Ok(response)
}

fn dechunk(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let size = usize::from_str_radix(size.trim(), 16).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad chunk size {size:?}"),
            )
        })?;
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = String::new();
        reader.read_line(&mut crlf)?;
        if size == 0 {
            return Ok(body);
        }
    }
}
