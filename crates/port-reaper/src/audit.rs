//! The JSONL audit log: one line per signal sent (and per unit stopped,
//! and per target's ending), appended as it happens.
//!
//! Same rules as restart-guard's log: opened without following a symlink
//! (`O_NOFOLLOW`) and without blocking on a FIFO, refused unless it is a
//! regular file, each line written with one `write(2)` on an `O_APPEND`
//! descriptor (concurrent runs never interleave) and fsynced.
//! (Kept here until selfheal-core has the shared audit log.)

use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// File name inside the state directory.
pub const DEFAULT_FILE: &str = "port-reaper.audit.jsonl";

/// The log at a path. Same calls as selfheal-core's shared audit log, so
/// port-reaper can switch to it by changing one import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        AuditLog { path: path.into() }
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Fails unless the log can be appended to; creates it if missing,
    /// writes nothing. Checked before acting, so nothing goes unrecorded.
    pub fn check_writable(&self) -> io::Result<()> {
        open_append(&self.path).map(drop)
    }

    /// Appends `record` as one line; returns once the line is on disk.
    pub fn append<T: Serialize>(&self, record: &T) -> io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(io::Error::other)?;
        line.push(b'\n');
        let mut file = open_append(&self.path)?;
        // One write(2) on an O_APPEND descriptor lands whole at the end.
        let written = file.write(&line)?;
        if written != line.len() {
            return Err(io::Error::other(format!(
                "audit log {}: short write ({written} of {} bytes)",
                self.path.display(),
                line.len()
            )));
        }
        file.sync_data()
    }
}

/// Opens (creating, mode 0640) for appending. Refuses a symlink, a FIFO, a
/// device or a directory there, naming what it found.
fn open_append(path: &Path) -> io::Result<File> {
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
    Ok(file)
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
    use serde_json::{Value, json};

    #[test]
    fn appends_one_json_line_per_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::new(&path);
        log.check_writable().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "",
            "a check writes nothing"
        );
        log.append(&json!({"event": "signal", "signal": "TERM"}))
            .unwrap();
        log.append(&json!({"event": "signal", "signal": "KILL"}))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["signal"], "KILL");
    }

    #[test]
    fn refuses_symlinks_fifos_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::write(&real, "").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = AuditLog::new(&link).check_writable().unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            0o600.into(),
            0,
        )
        .unwrap();
        let err = AuditLog::new(&fifo).check_writable().unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        let err = AuditLog::new(dir.path()).append(&json!({})).unwrap_err();
        assert!(err.to_string().contains("directory"), "{err}");
    }
}
