//! `--file PATH`: progress is the file's modification time, or a timestamp
//! written inside it (`--content rfc3339|unix`, the first line). Only a
//! regular file is read, without blocking (a FIFO at the path is refused,
//! not waited on), and at most 4 KiB of it.

use crate::progress::Progress;
use selfheal_core::atomic::open_regular;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// How much of the file is read for `--content`.
const MAX_CONTENT_BYTES: u64 = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Content {
    /// The file's modification time (touch it on each unit of work)
    Mtime,
    /// An RFC 3339 time on the first line, e.g. 2026-11-23T15:48:47Z
    Rfc3339,
    /// Unix seconds on the first line, e.g. 1795449527.25
    Unix,
}

#[derive(Debug, Clone, clap::Args)]
pub struct FileArgs {
    /// Progress source: a file touched (or written) on each unit of work
    #[arg(
        long,
        value_name = "PATH",
        env = "STALL_PROBE_FILE",
        help_heading = "Sources"
    )]
    pub file: Option<PathBuf>,
    /// What in --file marks progress
    #[arg(
        long,
        value_enum,
        default_value = "mtime",
        env = "STALL_PROBE_CONTENT",
        requires = "file"
    )]
    pub content: Content,
}

pub fn read(path: &Path, content: Content, key: &str) -> anyhow::Result<Progress> {
    // A link the operator named is followed on purpose (unless another user
    // owns it); what it points at must still be a regular file.
    refuse_foreign_symlink("--file", path)?;
    let real = std::fs::canonicalize(path)
        .map_err(|e| anyhow::anyhow!("--file {}: {e}", path.display()))?;
    let mut file = open_regular(&real, std::fs::OpenOptions::new().read(true))
        .map_err(|e| anyhow::anyhow!("--file {}: {e}", path.display()))?;
    let (when, how) = match content {
        Content::Mtime => {
            let mtime = file.metadata()?.modified()?;
            (unix_of(mtime), format!("mtime of {}", path.display()))
        }
        Content::Rfc3339 | Content::Unix => {
            let mut text = String::new();
            (&mut file)
                .take(MAX_CONTENT_BYTES)
                .read_to_string(&mut text)
                .map_err(|e| anyhow::anyhow!("--file {}: {e}", path.display()))?;
            let when = parse_content(&text, content)
                .map_err(|e| anyhow::anyhow!("--file {}: {e}", path.display()))?;
            (when, format!("time in {}", path.display()))
        }
    };
    Ok(Progress::aged(key, unix_of(SystemTime::now()) - when, how))
}

/// A symlink at a path the operator named (`--file`, `--dsn-file`) that is
/// owned by another user (not root, not us) is refused, as the kernel's
/// `protected_symlinks` would in `/tmp`: it could point the probe at a
/// private file and have an error message show its first line.
pub fn refuse_foreign_symlink(flag: &str, path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    let me = rustix::process::geteuid().as_raw();
    if meta.file_type().is_symlink() && meta.uid() != 0 && meta.uid() != me {
        anyhow::bail!(
            "{flag} {} is a symlink owned by uid {}, not by you or root: \
             refusing to follow it (someone may have planted it); name the file itself",
            path.display(),
            meta.uid()
        );
    }
    Ok(())
}

fn unix_of(time: SystemTime) -> f64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or_else(|e| -e.duration().as_secs_f64(), |d| d.as_secs_f64())
}

/// The longest first line taken for a time (RFC 3339 with nanoseconds and
/// an offset is 35 characters).
const MAX_TIME_CHARS: usize = 64;

/// The time on the first line of a progress file, as Unix seconds.
pub fn parse_content(text: &str, content: Content) -> Result<f64, String> {
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        return Err("is empty: expected a time on its first line".into());
    }
    // No time is this long; echoing 4 KiB of garbage would bury the line.
    if line.len() > MAX_TIME_CHARS {
        let start: String = line.chars().take(24).collect();
        return Err(format!(
            "first line is {} bytes ({start:?}...), not a time: write e.g. \
             2026-11-23T15:48:47Z or 1795449527 on it",
            line.len()
        ));
    }
    match content {
        Content::Unix => parse_unix(line),
        _ => selfheal_core::clock::parse_rfc3339(line),
    }
}

/// Unix seconds, fractional allowed; not negative, not NaN.
pub fn parse_unix(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => Ok(secs),
        _ => Err(format!(
            "'{text}' is not Unix seconds (write e.g. 1795449527 or 1795449527.25)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_first_line_in_either_spelling() {
        assert_eq!(
            parse_content("1795449527.5\nignored", Content::Unix),
            Ok(1_795_449_527.5)
        );
        assert_eq!(
            parse_content("2026-11-23T15:48:47Z\n", Content::Rfc3339),
            Ok(1_795_448_927.0)
        );
    }

    #[test]
    fn garbage_is_refused_with_the_value() {
        let err = parse_content("soon\n", Content::Unix).unwrap_err();
        assert!(err.contains("'soon'"), "{err}");
        assert!(parse_content("-5", Content::Unix).is_err());
        assert!(parse_content("NaN", Content::Unix).is_err());
        assert!(
            parse_content("", Content::Rfc3339)
                .unwrap_err()
                .contains("empty")
        );
        assert!(parse_content("yesterday", Content::Rfc3339).is_err());
    }

    #[test]
    fn a_long_garbage_line_is_not_echoed_whole() {
        let zeros = "\0".repeat(4096);
        for content in [Content::Unix, Content::Rfc3339] {
            let err = parse_content(&zeros, content).unwrap_err();
            assert!(err.len() < 300, "{} bytes: {err}", err.len());
            assert!(err.contains("first line is 4096 bytes"), "{err}");
        }
    }
}
