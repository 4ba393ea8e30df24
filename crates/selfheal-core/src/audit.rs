//! A JSONL audit log: one JSON object per line, appended by any number of
//! processes at once, read back with bounded memory, rotated by its writers.
//!
//! - An append opens the file with `O_APPEND`, writes the whole line with
//!   one `write` under the file's lock, then `fdatasync`s, so lines never
//!   interleave and a line the caller reported is on disk. A crash can
//!   still tear a line (even SIGKILL: the kernel checks for a fatal signal
//!   between the pages of one write); readers skip it, and a writer that
//!   finds the file not ending in `\n` starts its line with one, so a torn
//!   line never glues onto the next.
//! - Only a regular file is a log: the path is opened without following a
//!   symlink (`O_NOFOLLOW`, which a less privileged user may have planted)
//!   and without blocking (a FIFO), and anything but a regular file is
//!   refused before a byte is read or written (`/dev/full` would read
//!   without end).
//! - Readers go line by line with a cap on the line length: memory does not
//!   grow with the file.
//! - At `max_size` the writer holding the lock renames `log` to `log.1`
//!   (`log.1` to `log.2`, ..., dropping the oldest beyond `keep`): an
//!   external logrotate could not truncate a file appended under a lock
//!   without losing lines. Writers that opened the old file notice the
//!   rename once they hold its lock and reopen. Readers that need history
//!   read the rotated files too, oldest first, under a shared lock that
//!   holds rotation off while they read.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::atomic::{check_dir_writable, open_regular, parent_dir, sync_dir, with_path};

/// Size at which a log rotates unless told otherwise (`10MiB`).
pub const DEFAULT_MAX_SIZE: u64 = 10 * 1024 * 1024;
/// Rotated files kept unless told otherwise (`log.1` .. `log.3`).
pub const DEFAULT_KEEP: u32 = 3;
/// Longest line a reader takes; a longer one is skipped as damaged.
pub const MAX_LINE: usize = 64 * 1024;
/// Reopen attempts when the file keeps being rotated under an appender.
const REOPENS: usize = 100;

/// An audit log at a path, with its rotation policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLog {
    path: PathBuf,
    /// `None`: never rotate.
    max_size: Option<u64>,
    keep: u32,
}

/// What a scan saw besides the records it handed on.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// Lines that did not parse as a record: a line torn by a crash, one
    /// longer than [`MAX_LINE`], or one somebody else wrote.
    pub skipped: usize,
}

impl AuditLog {
    /// A log rotating at [`DEFAULT_MAX_SIZE`], keeping [`DEFAULT_KEEP`] old files.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        AuditLog {
            path: path.into(),
            max_size: Some(DEFAULT_MAX_SIZE),
            keep: DEFAULT_KEEP,
        }
    }

    /// Rotates once the file would grow past `max_size` bytes (`0`: never),
    /// keeping `keep` old files (at least one).
    #[must_use]
    pub fn rotate_at(mut self, max_size: u64, keep: u32) -> Self {
        self.max_size = (max_size > 0).then_some(max_size);
        self.keep = keep.max(1);
        self
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `n`-th rotated file (`log.1` is the newest).
    #[must_use]
    pub fn rotated(&self, n: u32) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// Fails unless the log can be appended to: a regular file (or none yet)
    /// in a directory that exists, writable. Creates and writes nothing (a
    /// dry run checks it too). A caller checks this before acting, so
    /// nothing it does goes unrecorded.
    pub fn check_writable(&self) -> io::Result<()> {
        let mut options = OpenOptions::new();
        options.read(true).append(true);
        match open_regular(&self.path, &mut options) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                check_dir_writable(&parent_dir(&self.path))
                    .map_err(|e| about_log(&with_path(&e, "cannot open", &self.path), &self.path))
            }
            Err(e) => Err(about_log(&e, &self.path)),
        }
    }

    /// Appends `record` as one line; returns once the line is on disk.
    pub fn append<T: Serialize>(&self, record: &T) -> io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(io::Error::other)?;
        line.push(b'\n');
        let context = |e: io::Error| with_path(&e, "cannot write audit log", &self.path);
        for _ in 0..REOPENS {
            let file = open_append(&self.path)?;
            // The lock makes "which file, how long, does it end in a
            // newline?" and the write one step. Held for microseconds, not
            // across the sync.
            file.lock().map_err(context)?;
            if !is_at_path(&file, &self.path)? {
                continue; // rotated away while we waited for the lock
            }
            let len = file.metadata().map_err(context)?.len();
            if self
                .max_size
                .is_some_and(|max| len > 0 && len + line.len() as u64 > max)
            {
                self.rotate()?;
                continue;
            }
            let mut bytes = Vec::with_capacity(line.len() + 1);
            if !ends_with_newline(&file, len).map_err(context)? {
                bytes.push(b'\n');
            }
            bytes.extend_from_slice(&line);
            // One write call: O_APPEND makes it land whole at the end.
            (&file).write_all(&bytes).map_err(context)?;
            file.unlock().map_err(context)?;
            file.sync_data().map_err(context)?;
            if len == 0 {
                // A file this call may have created (first line, or the
                // first after a rotation) exists durably only once its
                // directory entry is synced too; that also makes the
                // rotation's renames durable.
                sync_dir(&parent_dir(&self.path))?;
            }
            return Ok(());
        }
        Err(context(io::Error::other(
            "the file was replaced under every reopen; is something else rotating it?",
        )))
    }

    /// Shifts `log.K-1` to `log.K` ... `log` to `log.1`; the caller holds
    /// the lock of the file at `log`. The oldest file is replaced.
    fn rotate(&self) -> io::Result<()> {
        for n in (1..self.keep).rev() {
            match std::fs::rename(self.rotated(n), self.rotated(n + 1)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(with_path(&e, "cannot rotate audit log", &self.rotated(n)));
                }
                _ => {}
            }
        }
        std::fs::rename(&self.path, self.rotated(1))
            .map_err(|e| with_path(&e, "cannot rotate audit log", &self.path))
    }

    /// Every record of the log, the rotated files first (oldest first), with
    /// its line as written. Memory stays at one line, whatever the size.
    /// A missing log is an empty one.
    pub fn scan<T: DeserializeOwned>(&self, mut each: impl FnMut(T, &str)) -> io::Result<Scan> {
        let Some(current) = open_read(&self.path)? else {
            return Ok(Scan::default());
        };
        // A shared lock holds off rotation (and appends, briefly) so that no
        // line moves from one file to another while we read them in turn.
        current
            .lock_shared()
            .map_err(|e| with_path(&e, "cannot lock audit log", &self.path))?;
        let mut scan = Scan::default();
        for n in (1..=self.keep).rev() {
            let path = self.rotated(n);
            if let Some(file) = open_read(&path)? {
                scan.skipped += scan_lines(file, &path, &mut each)?;
            }
        }
        scan.skipped += scan_lines(current, &self.path, &mut each)?;
        Ok(scan)
    }

    /// The last `n` records that `keep` accepts, oldest first, with their
    /// lines; memory is bounded by `n` lines.
    pub fn tail<T: DeserializeOwned>(
        &self,
        n: usize,
        mut keep: impl FnMut(&T) -> bool,
    ) -> io::Result<(Vec<(T, String)>, Scan)> {
        let mut last = VecDeque::with_capacity(n.min(1024));
        let scan = self.scan(|record: T, line| {
            if n > 0 && keep(&record) {
                if last.len() == n {
                    last.pop_front();
                }
                last.push_back((record, line.to_owned()));
            }
        })?;
        Ok((last.into(), scan))
    }
}

/// Reads `file` line by line, handing each record on; returns the count of
/// lines skipped. A line longer than [`MAX_LINE`] is skipped without being
/// held in memory.
fn scan_lines<T: DeserializeOwned>(
    file: File,
    path: &Path,
    each: &mut impl FnMut(T, &str),
) -> io::Result<usize> {
    let context = |e: io::Error| with_path(&e, "cannot read audit log", path);
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut line = Vec::new();
    let mut too_long = false;
    let mut skipped = 0;
    let mut finish = |line: &mut Vec<u8>, too_long: &mut bool| {
        let trimmed = line.trim_ascii();
        if *too_long {
            skipped += 1;
        } else if !trimmed.is_empty() {
            match serde_json::from_slice::<T>(trimmed) {
                // A record that parsed is valid UTF-8: JSON text is.
                Ok(record) => each(record, std::str::from_utf8(trimmed).unwrap_or_default()),
                Err(_) => skipped += 1,
            }
        }
        line.clear();
        *too_long = false;
    };
    loop {
        let buf = reader.fill_buf().map_err(context)?;
        if buf.is_empty() {
            finish(&mut line, &mut too_long);
            return Ok(skipped);
        }
        let (chunk, end) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        if line.len() + chunk.len() > MAX_LINE {
            too_long = true;
            line.clear();
        } else if !too_long {
            line.extend_from_slice(chunk);
        }
        let used = end.unwrap_or(buf.len());
        reader.consume(used);
        if end.is_some() {
            finish(&mut line, &mut too_long);
        }
    }
}

/// Opens the log for appending (creating it), refusing anything but a
/// regular file.
fn open_append(path: &Path) -> io::Result<File> {
    // Read too: the writer reads the last byte to find a torn line.
    let mut options = OpenOptions::new();
    options.read(true).append(true).create(true).mode(0o644);
    open_regular(path, &mut options).map_err(|e| about_log(&e, path))
}

/// Opens a log file for reading; `None` when it does not exist.
fn open_read(path: &Path) -> io::Result<Option<File>> {
    match open_regular(path, OpenOptions::new().read(true)) {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(about_log(&e, path)),
    }
}

/// Says that the file refused or not opened is the audit log.
fn about_log(e: &io::Error, path: &Path) -> io::Error {
    let text = e.to_string();
    let opening = format!("cannot open {}: ", path.display());
    let text = match text.strip_prefix(&opening) {
        Some(why) => format!("cannot open audit log {}: {why}", path.display()),
        None => format!("audit log {text}"),
    };
    io::Error::new(e.kind(), text)
}

/// Whether `file` is still the file at `path` (not rotated away).
fn is_at_path(file: &File, path: &Path) -> io::Result<bool> {
    let ours = file.metadata()?;
    Ok(match std::fs::symlink_metadata(path) {
        Ok(now) => now.dev() == ours.dev() && now.ino() == ours.ino(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(with_path(&e, "cannot inspect audit log", path)),
    })
}

fn ends_with_newline(file: &File, len: u64) -> io::Result<bool> {
    if len == 0 {
        return Ok(true);
    }
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, len - 1)?;
    Ok(last[0] == b'\n')
}

/// Parses a size such as `10MiB`, `512k`, `1G` or `4096` (bytes); units
/// are powers of 1024.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("'{text}': give a size such as 10MiB, 512KiB or 4096 (bytes)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        other => {
            return Err(format!(
                "'{text}': unknown unit '{other}'; use B, KiB, MiB or GiB"
            ));
        }
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("'{text}' is too large"))
}

#[cfg(test)]
#[path = "audit_tests.rs"]
mod tests;
