//! The audit log: one JSON object per line, one line per decision, shared by
//! every name (default `<state-dir>/restart-guard.audit.jsonl`).
//!
//! Appends open the file with `O_APPEND`, write the whole line with a single
//! `write`, then fsync, so concurrent writers never interleave and a line the
//! guard reported is on disk. A crash can still tear a line (even SIGKILL:
//! the kernel checks for a fatal signal between the pages of one write);
//! readers skip such a line, and a writer that finds the file not ending in
//! `\n` starts its line with one, so a torn line never glues onto the next.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// File name of the log inside the state directory.
pub const DEFAULT_FILE: &str = "restart-guard.audit.jsonl";

/// What one invocation decided (the `decision` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// CMD ran and exited 0 (no --verify given).
    Restarted,
    /// Held back: too soon after the last attempt (cooldown or backoff).
    HeldCooldown,
    /// Held back: the budget for the window is used up.
    HeldBudget,
    /// Held back: another invocation for the name holds the lock.
    HeldLock,
    /// CMD exited non-zero, timed out, or could not start.
    Failed,
    /// CMD exited 0 and --verify passed.
    Verified,
    /// CMD exited 0 but --verify failed.
    VerifyFailed,
    /// The --on-exhausted notifier was called.
    Escalated,
    /// A human cleared the budget with `reset`.
    Reset,
}

impl Decision {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Restarted => "restarted",
            Decision::HeldCooldown => "held-cooldown",
            Decision::HeldBudget => "held-budget",
            Decision::HeldLock => "held-lock",
            Decision::Failed => "failed",
            Decision::Verified => "verified",
            Decision::VerifyFailed => "verify-failed",
            Decision::Escalated => "escalated",
            Decision::Reset => "reset",
        }
    }

    pub const ALL: [Decision; 9] = [
        Decision::Restarted,
        Decision::HeldCooldown,
        Decision::HeldBudget,
        Decision::HeldLock,
        Decision::Failed,
        Decision::Verified,
        Decision::VerifyFailed,
        Decision::Escalated,
        Decision::Reset,
    ];
}

/// One line of the log. Fields are stable; new ones may be added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Wall-clock UTC, RFC 3339.
    pub time: String,
    pub unix: f64,
    /// Boot id and boot time of `time`, so history can be rebuilt safely.
    #[serde(default)]
    pub boot_id: String,
    #[serde(default)]
    pub uptime: f64,
    pub name: String,
    pub decision: Decision,
    #[serde(default)]
    pub reason: String,
    /// Exit code of CMD (or of the verifier or notifier); null when it did
    /// not exit normally or did not run.
    #[serde(default)]
    pub exit_status: Option<i32>,
    /// `exit 0`, `exit 1`, `timed out`, `killed by signal 9`, `cannot run ...`.
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub duration_seconds: Option<f64>,
    pub restarts_in_window: u32,
    pub max: u32,
    pub window_seconds: f64,
    /// When a restart is next allowed (RFC 3339), null when unknown.
    #[serde(default)]
    pub next_allowed: Option<String>,
    #[serde(default)]
    pub next_allowed_unix: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub dry_run: bool,
    pub pid: u32,
}

/// Appends one record durably. Returns only after the line is fsynced.
pub fn append(path: &Path, record: &Record) -> io::Result<()> {
    let mut line = serde_json::to_string(record).map_err(io::Error::other)?;
    line.push('\n');
    let file = open(path)?;
    let context =
        |e: io::Error| selfheal_core::atomic::with_path(&e, "cannot write audit log", path);
    // The lock makes "does the file end in a newline?" and the write one
    // step: unlocked, a reader can see another writer's line half copied
    // and add a needless empty line. Held for microseconds, not the fsync.
    file.lock().map_err(context)?;
    let was_empty = file.metadata().map_err(context)?.len() == 0;
    if !ends_with_newline(&file).map_err(context)? {
        line.insert(0, '\n');
    }
    // One write call: O_APPEND makes it land whole at the end of the file.
    (&file).write_all(line.as_bytes()).map_err(context)?;
    file.unlock().map_err(context)?;
    file.sync_data().map_err(context)?;
    if was_empty {
        // A log this call may have created exists durably only once its
        // directory entry is synced too.
        selfheal_core::atomic::sync_dir(&selfheal_core::atomic::parent_dir(path))?;
    }
    Ok(())
}

/// Fails if the log cannot be opened for appending (missing directory,
/// permissions, read-only filesystem); writes nothing.
pub fn check_writable(path: &Path) -> io::Result<()> {
    open(path).map(drop)
}

fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .read(true)
        .create(true)
        .mode(0o644)
        .open(path)
        .map_err(|e| selfheal_core::atomic::with_path(&e, "cannot open audit log", path))
}

fn ends_with_newline(file: &File) -> io::Result<bool> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(true);
    }
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, len - 1)?;
    Ok(last[0] == b'\n')
}

/// Parsed records and how many lines did not parse (a torn last line, or
/// lines someone else wrote).
#[derive(Debug, Default)]
pub struct Log {
    pub records: Vec<(Record, String)>,
    pub skipped: usize,
}

/// Parses a log's text: each good line with its original text.
#[must_use]
pub fn parse(text: &str) -> Log {
    let mut log = Log::default();
    for line in text.split('\n').filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Record>(line) {
            Ok(record) => log.records.push((record, line.to_owned())),
            Err(_) => log.skipped += 1,
        }
    }
    log
}

/// Reads the log; a missing file is an empty log.
pub fn read(path: &Path) -> io::Result<Log> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(parse(&String::from_utf8_lossy(&bytes))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Log::default()),
        Err(e) => Err(selfheal_core::atomic::with_path(
            &e,
            "cannot read audit log",
            path,
        )),
    }
}

/// The log's path: `--audit FILE`, else the default file in the state dir.
#[must_use]
pub fn path(flag: Option<&Path>, state_dir: &Path) -> PathBuf {
    flag.map_or_else(|| state_dir.join(DEFAULT_FILE), Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(decision: Decision) -> Record {
        Record {
            time: "2026-11-23T15:48:47Z".into(),
            unix: 1_795_448_927.0,
            boot_id: "b".into(),
            uptime: 100.0,
            name: "svc".into(),
            decision,
            reason: "probe said down".into(),
            exit_status: Some(0),
            outcome: Some("exit 0".into()),
            duration_seconds: Some(0.5),
            restarts_in_window: 1,
            max: 3,
            window_seconds: 3600.0,
            next_allowed: None,
            next_allowed_unix: None,
            command: Some(vec!["true".into()]),
            dry_run: false,
            pid: 7,
        }
    }

    #[test]
    fn decisions_serialize_in_kebab_case() {
        let text = serde_json::to_string(&record(Decision::VerifyFailed)).unwrap();
        assert!(text.contains(r#""decision":"verify-failed""#), "{text}");
        for d in Decision::ALL {
            assert_eq!(serde_json::to_value(d).unwrap(), d.as_str());
        }
    }

    #[test]
    fn torn_last_line_is_skipped_and_never_glued_to_the_next() {
        let dir = selfheal_test_support::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        append(&path, &record(Decision::Restarted)).unwrap();
        // A crash mid-write leaves half a line without its newline.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(br#"{"time":"2026-11-23T1"#).unwrap();
        append(&path, &record(Decision::HeldBudget)).unwrap();
        let log = read(&path).unwrap();
        assert_eq!(log.skipped, 1);
        let decisions: Vec<_> = log.records.iter().map(|(r, _)| r.decision).collect();
        assert_eq!(decisions, [Decision::Restarted, Decision::HeldBudget]);
    }

    #[test]
    fn missing_log_reads_as_empty() {
        let log = read(Path::new("/nonexistent-selfheal/audit.jsonl")).unwrap();
        assert!(log.records.is_empty());
    }
}
