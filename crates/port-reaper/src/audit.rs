//! The JSONL audit log: one line per signal sent (and per unit stopped,
//! and per target's ending), appended before the run reports.
//!
//! Same rules as restart-guard's log: opened without following a symlink
//! (`O_NOFOLLOW`) and without blocking on a FIFO, refused unless it is a
//! regular file, each line written with one `write(2)` on an `O_APPEND`
//! descriptor (concurrent runs never interleave) and fsynced.
//! (Kept here until selfheal-core has the shared audit log.)

use serde_json::{Map, Value};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// File name inside the state directory.
pub const DEFAULT_FILE: &str = "port-reaper.audit.jsonl";

#[derive(Debug)]
pub struct AuditLog {
    file: File,
    path: PathBuf,
}

impl AuditLog {
    /// Opens (creating, mode 0640) the log at `path`. Refuses a symlink, a
    /// FIFO, a device or a directory there, naming what it found.
    pub fn open(path: &Path) -> io::Result<AuditLog> {
        let created = match std::fs::symlink_metadata(path) {
            Ok(meta) => {
                refuse_unless_regular(path, meta.file_type())?;
                false
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => true,
            Err(e) => return Err(e),
        };
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .custom_flags(open_flags())
            .open(path)
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot open audit log {}: {e}", path.display()),
                )
            })?;
        // Checked again on the descriptor: the path may have changed meanwhile.
        refuse_unless_regular(path, file.metadata()?.file_type())?;
        if created && let Some(dir) = path.parent() {
            // The new name must survive a crash as well as the line.
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            File::open(dir).and_then(|d| d.sync_all())?;
        }
        Ok(AuditLog {
            file,
            path: path.to_owned(),
        })
    }

    /// Appends `record` (plus the time and our pid) as one line, durably.
    pub fn append(&mut self, mut record: Map<String, Value>) -> io::Result<()> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        record.insert("time".into(), selfheal_core::clock::rfc3339(now).into());
        record.insert("unix".into(), ((now * 1000.0).round() / 1000.0).into());
        record.insert("by_pid".into(), std::process::id().into());
        let mut line = Value::Object(record).to_string();
        line.push('\n');
        let written = self.file.write(line.as_bytes())?;
        if written != line.len() {
            return Err(io::Error::other(format!(
                "audit log {}: short write ({written} of {} bytes)",
                self.path.display(),
                line.len()
            )));
        }
        self.file.sync_data()
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn refuse_unless_regular(path: &Path, kind: std::fs::FileType) -> io::Result<()> {
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_symlink() {
        "a symlink, which is never followed"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "audit log {} is {what}: give a regular file with --audit-log",
            path.display()
        ),
    ))
}

fn open_flags() -> i32 {
    use rustix::fs::OFlags;
    (OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC)
        .bits()
        .cast_signed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(signal: &str) -> Map<String, Value> {
        json!({"event": "signal", "signal": signal})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn appends_one_json_line_per_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut log = AuditLog::open(&path).unwrap();
        log.append(record("TERM")).unwrap();
        log.append(record("KILL")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["signal"], "KILL");
        assert!(lines[0]["time"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn refuses_symlinks_fifos_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::write(&real, "").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(
            AuditLog::open(&link)
                .unwrap_err()
                .to_string()
                .contains("symlink")
        );
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            0o600.into(),
            0,
        )
        .unwrap();
        assert!(
            AuditLog::open(&fifo)
                .unwrap_err()
                .to_string()
                .contains("FIFO")
        );
        assert!(AuditLog::open(dir.path()).is_err());
    }
}
