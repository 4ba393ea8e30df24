//! Optional evidence from the server's own log (`--journal-unit` or
//! `--log-file`): the log lines that mark known failure signatures.
//! Only the tail is read: the last 2000 journal lines of the last 15
//! minutes, or the last 256 KiB of a file.

use crate::evidence::LogSign;
use crate::finding::{Context, Finding};
use crate::verdict::{Remedy, RemedyKind, Verdict};
use selfheal_core::atomic::open_regular;
use selfheal_core::command::{self, Spec};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const FILE_TAIL: u64 = 256 * 1024;

#[derive(Debug, Clone)]
pub enum Source {
    Journal(String),
    File(PathBuf),
}

/// The recent log text, or why it could not be read.
pub fn tail(source: &Source, deadline: Duration) -> Result<String, String> {
    match source {
        Source::File(path) => {
            file_tail(path).map_err(|e| format!("--log-file {}: {e}", path.display()))
        }
        Source::Journal(unit) => {
            let argv = [
                "journalctl",
                "--unit",
                unit,
                "--since",
                "-15min",
                "--lines",
                "2000",
                "--output",
                "cat",
                "--no-pager",
                "--quiet",
            ];
            let mut spec = Spec::new(argv.iter().map(Into::into).collect(), deadline);
            spec.capture_stdout = true;
            let _running = crate::stop::child_section().ok_or("the check is stopping")?;
            let done = command::run(&spec).map_err(|e| format!("--journal-unit {unit}: {e}"))?;
            if done.status.is_some_and(|s| s.success()) {
                Ok(String::from_utf8_lossy(&done.stdout).into_owned())
            } else {
                Err(format!(
                    "--journal-unit {unit}: journalctl {}",
                    done.describe()
                ))
            }
        }
    }
}

fn file_tail(path: &Path) -> std::io::Result<String> {
    let mut file = open_regular(path, std::fs::OpenOptions::new().read(true))?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(FILE_TAIL)))?;
    let mut bytes = Vec::new();
    file.take(FILE_TAIL).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

const PENDING_UNLOAD: &str = "waiting for pending requests to complete and unload to occur";
const EVICTING: &str = "predicted to exceed available memory, evicting";

/// The signatures whose log signs appear in `text`, newest line kept.
#[must_use]
pub fn scan(text: &str) -> Vec<LogSign> {
    let mut signs = Vec::new();
    let last = |needles: &[&str]| {
        text.lines()
            .rev()
            .find(|l| needles.iter().any(|n| l.contains(n)))
            .map(|l| crate::api::clip(l.trim(), 300))
    };
    let mut push = |signature, verdict_hint, line: Option<String>| {
        if let Some(line) = line {
            signs.push(LogSign {
                signature,
                verdict_hint,
                line,
            });
        }
    };
    // S16: a wait for an unload that never completed.
    let waiting = text.rfind(PENDING_UNLOAD);
    if waiting.is_some_and(|at| !text[at..].contains("unload completed")) {
        push("S16", "loads-stuck", last(&[PENDING_UNLOAD]));
    }
    if text.matches(EVICTING).count() >= 3 {
        push("S17", "thrashing", last(&[EVICTING]));
    }
    push(
        "S5",
        "loading",
        last(&[
            "timed out waiting for llama runner to start",
            "timed out waiting for llama-server to start",
        ]),
    );
    push(
        "S2",
        "model-wedged",
        last(&["gpu VRAM usage didn't recover within timeout"]),
    );
    push(
        "S4",
        "model-wedged",
        last(&[
            "llama runner process has terminated",
            "llama-server process has terminated",
        ]),
    );
    signs
}

/// A finding from log signs alone (the API looked fine).
#[must_use]
pub fn finding(cx: &Context) -> Option<Finding> {
    let sign = |s: &str| cx.ev.log_signs.iter().find(|l| l.signature == s);
    if let Some(l) = sign("S16") {
        return Some(Finding {
            verdict: Verdict::LoadsStuck,
            summary: format!(
                "log shows S16, a load waiting on an unload that never completes: {}",
                l.line
            ),
            remedy: cx.restart_remedy(),
            stuck: true,
            pending: None,
        });
    }
    if let Some(l) = sign("S17") {
        return Some(Finding {
            verdict: Verdict::Thrashing,
            summary: format!(
                "log shows S17, models evicted and reloaded in a loop: {}",
                l.line
            ),
            remedy: Remedy::new(
                RemedyKind::ReportOnly,
                "the model does not fit even alone: lower its num_ctx",
            ),
            stuck: false,
            pending: None,
        });
    }
    let l = sign("S5")?;
    Some(Finding {
        verdict: Verdict::Loading,
        summary: format!("log shows S5, a load that timed out: {}", l.line),
        remedy: Remedy::new(
            RemedyKind::ReportOnly,
            "raise OLLAMA_LOAD_TIMEOUT, use a faster disk or a smaller model or context",
        ),
        stuck: false,
        pending: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_signature_is_named_from_its_log_sign() {
        let s16 = "time=2026-07-26T10:00:00 level=INFO source=sched.go:331 msg=\"waiting for pending requests to complete and unload to occur\" runner.name=m\n";
        assert_eq!(scan(s16)[0].signature, "S16");
        let done = format!("{s16}time=... msg=\"unload completed\" runner.name=m\n");
        assert!(scan(&done).is_empty());
        let evict =
            "msg=\"llama-server model predicted to exceed available memory, evicting\"\n".repeat(3);
        assert_eq!(scan(&evict)[0].signature, "S17");
        assert!(scan(&evict[..evict.len() / 3]).is_empty());
        let s5 =
            "level=ERROR msg=\"timed out waiting for llama runner to start - progress 0.52 - \"\n";
        let s2 = "level=WARN msg=\"gpu VRAM usage didn't recover within timeout\" seconds=5.1\n";
        let names: Vec<&str> = scan(&format!("{s5}{s2}"))
            .iter()
            .map(|l| l.signature)
            .collect();
        assert_eq!(names, ["S5", "S2"]);
    }

    #[test]
    fn only_the_tail_of_a_big_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.log");
        let mut text = "x".repeat(2 * FILE_TAIL as usize);
        text.push_str("\nlast line\n");
        std::fs::write(&path, text).unwrap();
        let tail = tail(&Source::File(path), Duration::from_secs(1)).unwrap();
        assert_eq!(tail.len() as u64, FILE_TAIL);
        assert!(tail.ends_with("last line\n"));
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        assert!(super::tail(&Source::File(fifo), Duration::from_secs(1)).is_err());
    }
}
