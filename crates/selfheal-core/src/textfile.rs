//! Writing Prometheus text for node_exporter's textfile collector: the one
//! writer behind `metrics-textfile` and every probe's `--textfile`.
//!
//! The text is validated first (see [`prom_exposition`]): a file the
//! collector would reject, or whose series it would drop, is never written,
//! and the previous file stays as it was. Then it replaces the target
//! atomically (temp file in the same directory, not ending in `.prom`,
//! fsync, rename, fsync of the directory).

use crate::atomic;
use prom_exposition::{self as exposition, Problem};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Mode of written textfiles: node_exporter usually runs as another user.
pub const DEFAULT_MODE: u32 = 0o644;

/// How to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub mode: u32,
    /// Write a text without samples. Off by default: an empty file makes
    /// every series of the old one vanish without an error anywhere.
    pub allow_empty: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: DEFAULT_MODE,
            allow_empty: false,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub families: usize,
    pub series: usize,
    pub bytes: usize,
    /// Lint problems (promtool's): written anyway, worth showing.
    pub warnings: Vec<Problem>,
}

/// Why nothing was written.
#[derive(Debug)]
pub enum Error {
    /// The text breaks the format; every error, by line.
    Invalid(Vec<Problem>),
    /// No samples, and empty output was not allowed.
    Empty,
    /// Writing failed (full disk, permissions, ...); the old file is intact.
    Io(io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(problems) => {
                let first = problems
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                match problems.len() {
                    1 => write!(f, "invalid Prometheus text: {first}"),
                    n => write!(f, "invalid Prometheus text ({n} errors), first: {first}"),
                }
            }
            Error::Empty => {
                f.write_str("no samples to write: an empty file would make every series vanish")
            }
            Error::Io(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Error::Io(err)
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> Self {
        match err {
            Error::Io(err) => err,
            other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
        }
    }
}

/// Validates `text` and atomically replaces `path` with it. An empty text
/// is written (a report may carry no metrics); invalid text is not, and
/// comes back as an `InvalidData` error naming the first problem's line.
pub fn write(path: &Path, text: &str) -> io::Result<()> {
    let options = Options {
        allow_empty: true,
        ..Options::default()
    };
    write_with(path, text, &options)?;
    Ok(())
}

/// Validates `text` and atomically replaces `path` with it, as `options`
/// say. On any error the old file is untouched and no temp file remains.
pub fn write_with(path: &Path, text: &str, options: &Options) -> Result<Written, Error> {
    let checked = exposition::check(text);
    if !checked.is_valid() {
        return Err(Error::Invalid(checked.errors().cloned().collect()));
    }
    if checked.series() == 0 && !options.allow_empty {
        return Err(Error::Empty);
    }
    atomic::write_atomic(path, text.as_bytes(), options.mode)?;
    Ok(Written {
        families: checked.family_count(),
        series: checked.series(),
        bytes: text.len(),
        warnings: checked.warnings().cloned().collect(),
    })
}

/// Why a textfile path cannot be written, found before any work is done.
#[derive(Debug)]
pub enum TargetProblem {
    /// The path names a directory, or ends in `/`.
    IsDirectory,
    /// Its directory is missing or is not a directory.
    NoDirectory { dir: PathBuf, error: io::Error },
    /// Its directory exists but this process cannot create files in it
    /// (permissions, a read-only filesystem).
    NotWritable { dir: PathBuf, error: io::Error },
}

/// Checks that `path` could be written, without writing anything: tools
/// call it before they act, so a bad `--textfile`/`--output` is reported
/// up front rather than after a restart ran or a producer's work was done.
pub fn check_target(path: &Path) -> Result<(), TargetProblem> {
    use rustix::fs::{Access, access};
    if path.as_os_str().as_encoded_bytes().ends_with(b"/") || path.is_dir() {
        return Err(TargetProblem::IsDirectory);
    }
    let dir = atomic::parent_dir(path);
    match std::fs::metadata(&dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            let error = io::Error::other("not a directory");
            return Err(TargetProblem::NoDirectory { dir, error });
        }
        Err(error) => return Err(TargetProblem::NoDirectory { dir, error }),
    }
    access(&dir, Access::WRITE_OK | Access::EXEC_OK).map_err(|e| TargetProblem::NotWritable {
        error: io::Error::from_raw_os_error(e.raw_os_error()),
        dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const GOOD: &str = "# HELP up_total Ups.\n# TYPE up_total counter\nup_total 1\n";

    #[test]
    fn writes_valid_text_with_mode_0644() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.prom");
        let written = write_with(&path, GOOD, &Options::default()).unwrap();
        assert_eq!((written.families, written.series), (1, 1));
        assert_eq!(fs::read_to_string(&path).unwrap(), GOOD);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }

    #[test]
    fn invalid_text_leaves_the_old_file_and_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.prom");
        write(&path, GOOD).unwrap();
        let err = write(&path, "a 1\na 2\n").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("line 2"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), GOOD);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn empty_text_is_refused_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.prom");
        write(&path, GOOD).unwrap();
        let err = write_with(&path, "# nothing\n", &Options::default()).unwrap_err();
        assert!(matches!(err, Error::Empty), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), GOOD);
        write(&path, "").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "");
    }

    #[test]
    fn check_target_tells_directories_from_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            check_target(dir.path()),
            Err(TargetProblem::IsDirectory)
        ));
        let slash = format!("{}/new/", dir.path().display());
        assert!(matches!(
            check_target(Path::new(&slash)),
            Err(TargetProblem::IsDirectory)
        ));
        let missing = dir.path().join("missing/x.prom");
        assert!(matches!(
            check_target(&missing),
            Err(TargetProblem::NoDirectory { .. })
        ));
        assert!(check_target(&dir.path().join("x.prom")).is_ok());
    }
}
