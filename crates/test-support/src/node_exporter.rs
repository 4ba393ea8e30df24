//! The real node_exporter, textfile collector only, on a loopback port of
//! its own; killed on Drop.

use crate::{ChildGuard, Cmd, TempDir, require};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

pub const NODE_EXPORTER: &str = "prometheus-node-exporter";

pub struct NodeExporter {
    child: ChildGuard,
    port: u16,
    pub dir: TempDir,
}

impl NodeExporter {
    /// Starts on a free port, retrying when another process takes it first.
    pub fn start() -> Self {
        require(NODE_EXPORTER, "prometheus-node-exporter");
        let mut dir = crate::tempdir().expect("tempdir");
        for _ in 0..5 {
            let port = free_port();
            let child = Cmd::new(NODE_EXPORTER)
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--collector.disable-defaults")
                .arg("--collector.textfile")
                .arg(format!(
                    "--collector.textfile.directory={}",
                    dir.path().display()
                ))
                .spawn();
            let mut exporter = NodeExporter { child, port, dir };
            if exporter.wait_ready() {
                return exporter;
            }
            dir = exporter.into_dir();
        }
        panic!("node_exporter did not start on a loopback port after 5 attempts");
    }

    fn into_dir(self) -> TempDir {
        let NodeExporter { child, dir, .. } = self;
        drop(child);
        dir
    }

    /// Polls until /metrics answers, the process dies, or 10 s pass.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.alive() && self.get("/metrics").is_some() {
                return true;
            }
            if !self.alive() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.child().try_wait(), Ok(None))
    }

    /// The body of GET `path`, or None when the exporter does not answer.
    pub fn get(&self, path: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
        stream.write_all(request.as_bytes()).ok()?;
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).ok()?;
        // Lossy: the exporter passes on whatever bytes a HELP line holds.
        let response = String::from_utf8_lossy(&bytes);
        let (head, body) = response.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.").then(|| body.to_owned())
    }

    /// Puts `text` in the textfile directory as `name` and scrapes.
    pub fn scrape_file(&mut self, name: &str, text: &[u8]) -> Option<Scrape> {
        for entry in std::fs::read_dir(self.dir.path()).expect("read dir") {
            std::fs::remove_file(entry.expect("entry").path()).expect("clean dir");
        }
        std::fs::write(self.dir.path().join(name), text).expect("write textfile");
        let body = self.get("/metrics")?;
        Some(Scrape::new(&body))
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// What one scrape showed.
pub struct Scrape {
    pub scrape_error: Option<f64>,
    /// Sample lines that came from textfiles (not node_exporter's own).
    pub samples: Vec<String>,
}

impl Scrape {
    fn new(body: &str) -> Self {
        let mut scrape_error = None;
        let mut samples = Vec::new();
        for line in body
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            if let Some(value) = line.strip_prefix("node_textfile_scrape_error ") {
                scrape_error = value.trim().parse().ok();
            } else if !["node_", "go_", "process_", "promhttp_"]
                .iter()
                .any(|p| line.starts_with(p))
            {
                samples.push(line.to_owned());
            }
        }
        Scrape {
            scrape_error,
            samples,
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Sample lines of a textfile, counted the simple way (no parser of ours).
pub fn sample_lines(text: &str) -> usize {
    text.lines()
        .map(str::trim_start)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count()
}
