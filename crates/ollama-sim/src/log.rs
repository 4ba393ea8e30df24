//! The server log, in the formats `ollama serve` writes to stderr: Go slog
//! text lines (`time=… level=INFO source=sched.go:551 msg="…" key=value`)
//! and a Gin line per *completed* request, so log-reading probes can be
//! tested on the signs each fault leaves (and on the silence of hung
//! requests, which log nothing until they end).

use std::fmt::Write as _;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Where log lines go: stderr, or a file given with `--log-file`.
pub struct Log {
    sink: Mutex<Box<dyn Write + Send>>,
    offset_minutes: i32,
}

fn quote(value: &str) -> String {
    if !value.is_empty() && !value.contains([' ', '"', '=']) {
        return value.to_string();
    }
    format!("{value:?}")
}

/// Go's `time.Duration.String()`: `22.5µs`, `1.234567ms`, `5h31m9s`.
#[must_use]
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    let trim = |whole: u128, frac: u128, digits: usize, unit: &str| {
        let frac = format!("{frac:0digits$}");
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            format!("{whole}{unit}")
        } else {
            format!("{whole}.{frac}{unit}")
        }
    };
    match nanos {
        0 => "0s".into(),
        n if n < 1_000 => format!("{n}ns"),
        n if n < 1_000_000 => trim(n / 1_000, n % 1_000, 3, "µs"),
        n if n < 1_000_000_000 => trim(n / 1_000_000, n % 1_000_000, 6, "ms"),
        n => {
            let secs = n / 1_000_000_000;
            let seconds = trim(secs % 60, n % 1_000_000_000, 9, "s");
            match (secs / 3600, secs % 3600 / 60) {
                (0, 0) => seconds,
                (0, m) => format!("{m}m{seconds}"),
                (h, m) => format!("{h}h{m}m{seconds}"),
            }
        }
    }
}

impl Log {
    #[must_use]
    pub fn new(sink: Box<dyn Write + Send>, offset_minutes: i32) -> Log {
        Log {
            sink: Mutex::new(sink),
            offset_minutes,
        }
    }

    fn write(&self, line: &str) {
        let mut sink = self
            .sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = sink.write_all(line.as_bytes());
        let _ = sink.flush();
    }

    /// One slog line; `source` is the Go file:line the real message comes from.
    pub fn slog(&self, level: &str, source: &str, msg: &str, attrs: &[(&str, &str)]) {
        let time = crate::timefmt::rfc3339_millis(SystemTime::now(), self.offset_minutes);
        let mut line = format!(
            "time={time} level={level} source={source} msg={}",
            quote(msg)
        );
        for (key, value) in attrs {
            let _ = write!(line, " {key}={}", quote(value));
        }
        line.push('\n');
        self.write(&line);
    }

    pub fn info(&self, source: &str, msg: &str, attrs: &[(&str, &str)]) {
        self.slog("INFO", source, msg, attrs);
    }

    /// `[GIN] 2026/11/30 - 01:10:00 | 200 |    1.234567ms |       127.0.0.1 | POST     "/api/generate"`
    pub fn gin(&self, status: u16, latency: Duration, client: &str, method: &str, path: &str) {
        let stamp = crate::timefmt::gin_stamp(SystemTime::now(), self.offset_minutes);
        let line = format!(
            "[GIN] {stamp} | {status:3} | {:>13} | {client:>15} | {method:<7}  {path:?}\n",
            go_duration(latency)
        );
        self.write(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_go() {
        assert_eq!(go_duration(Duration::from_nanos(22_500)), "22.5µs");
        assert_eq!(go_duration(Duration::from_nanos(1_234_567)), "1.234567ms");
        assert_eq!(
            go_duration(Duration::from_secs(5 * 3600 + 31 * 60 + 9)),
            "5h31m9s"
        );
        assert_eq!(go_duration(Duration::from_millis(90_500)), "1m30.5s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn values_are_quoted_only_when_needed() {
        assert_eq!(quote("ok"), "ok");
        assert_eq!(quote("two words"), "\"two words\"");
        assert_eq!(quote(""), "\"\"");
    }

    struct Shared(std::sync::Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(b)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn gin_line_shape() {
        let buffer = std::sync::Arc::new(Mutex::new(Vec::new()));
        let log = Log::new(Box::new(Shared(buffer.clone())), 0);
        log.gin(
            200,
            Duration::from_nanos(1_234_567),
            "127.0.0.1",
            "POST",
            "/api/generate",
        );
        let line = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        assert!(line.starts_with("[GIN] 20"), "{line}");
        assert!(
            line.ends_with(
                " | 200 |    1.234567ms |       127.0.0.1 | POST     \"/api/generate\"\n"
            ),
            "{line}"
        );
    }
}
