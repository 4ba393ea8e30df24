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
    // Checked again at write time: the path may have changed since the
    // up-front check, and a FIFO or device must never be replaced.
    if let Err(problem @ TargetProblem::NotRegular { .. }) = check_target(path) {
        return Err(Error::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            problem.explain("the textfile", path),
        )));
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
    /// Something other than a regular file is there (a FIFO, a device
    /// node, a socket): replacing it could turn `/dev/null` into a file.
    NotRegular { kind: &'static str },
    /// The file name (or the whole path) leaves no room for the temp
    /// file's name beside it, within Linux's `limit`.
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
        limit: &'static str,
    },
}

impl TargetProblem {
    /// The message for a user, naming the flag and the path, and the fix.
    #[must_use]
    pub fn explain(&self, flag: &str, path: &Path) -> String {
        let shown = path.display();
        match self {
            TargetProblem::IsDirectory => format!(
                "{flag} {shown} is a directory: give a file name in it, such as {}",
                path.join("NAME.prom").display()
            ),
            TargetProblem::NoDirectory { dir, error } => format!(
                "{flag} {shown}: directory {} is missing or not a directory ({error}): create it or fix the path",
                dir.display()
            ),
            TargetProblem::NotWritable { dir, error } => format!(
                "{flag} {shown}: cannot create files in {} ({error}): fix its permissions or choose another path",
                dir.display()
            ),
            TargetProblem::NotRegular { kind } => format!(
                "{flag} {shown} is a {kind}, not a regular file: refusing to replace it; choose a path for a .prom file"
            ),
            TargetProblem::TooLong {
                what,
                len,
                max,
                limit,
            } => format!(
                "{flag} {}: its {what} is {len} bytes, too long to write through a temp file beside it (its name adds {}): at most {max} bytes under {limit}; choose a shorter path",
                crate::report::clip(&shown.to_string(), 80),
                atomic::TEMP_NAME_EXTRA
            ),
        }
    }
}

/// A note when the collector would never read the file: it reads `*.prom` only.
#[must_use]
pub fn name_note(path: &Path) -> Option<String> {
    if path.extension().is_some_and(|e| e == "prom") {
        return None;
    }
    Some(format!(
        "{} does not end in .prom: node_exporter's textfile collector reads only *.prom files",
        path.display()
    ))
}

/// What is at `path` now, if it must not be replaced. A symlink is
/// replaced itself (its target is left alone), so only what it points to
/// matters when that is something other than a regular file.
fn not_regular(path: &Path) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::metadata(path).ok()?;
    let kind = meta.file_type();
    match () {
        () if kind.is_file() || kind.is_dir() => None,
        () if kind.is_fifo() => Some("FIFO"),
        () if kind.is_char_device() => Some("character device"),
        () if kind.is_block_device() => Some("block device"),
        () if kind.is_socket() => Some("socket"),
        () => Some("special file"),
    }
}

/// Whether the temp file written beside `path` (`.NAME.XXXXXX.tmp`) has a
/// name and a path Linux accepts: otherwise the write fails only after a
/// tool acted, with a bare "File name too long".
fn too_long(path: &Path) -> Result<(), TargetProblem> {
    use atomic::{NAME_MAX, PATH_MAX, TEMP_NAME_EXTRA};
    let name = path.file_name().map_or(0, std::ffi::OsStr::len);
    if name + TEMP_NAME_EXTRA > NAME_MAX {
        return Err(TargetProblem::TooLong {
            what: "file name",
            len: name,
            max: NAME_MAX - TEMP_NAME_EXTRA,
            limit: "NAME_MAX (255)",
        });
    }
    let len = path.as_os_str().len();
    let temp = atomic::parent_dir(path).as_os_str().len() + 1 + name + TEMP_NAME_EXTRA;
    if temp >= PATH_MAX {
        return Err(TargetProblem::TooLong {
            what: "path",
            len,
            max: len - (temp - (PATH_MAX - 1)),
            limit: "PATH_MAX (4096, with its closing NUL)",
        });
    }
    Ok(())
}

/// Checks that `path` could be written, without writing anything: tools
/// call it before they act, so a bad `--textfile`/`--output` is reported
/// up front rather than after a restart ran or a producer's work was done.
pub fn check_target(path: &Path) -> Result<(), TargetProblem> {
    use rustix::fs::{Access, access};
    too_long(path)?;
    if path.as_os_str().as_encoded_bytes().ends_with(b"/") || path.is_dir() {
        return Err(TargetProblem::IsDirectory);
    }
    if let Some(kind) = not_regular(path) {
        return Err(TargetProblem::NotRegular { kind });
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

    #[test]
    fn a_path_with_no_room_for_the_temp_name_is_refused_naming_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let fits = dir.path().join(format!("{}.prom", "n".repeat(238)));
        assert!(check_target(&fits).is_ok());
        write(&fits, GOOD).unwrap();
        let long = dir.path().join(format!("{}.prom", "n".repeat(239)));
        let text = check_target(&long).unwrap_err().explain("-t", &long);
        assert!(text.contains("file name is 244 bytes, too long"), "{text}");
        assert!(text.contains("243 bytes under NAME_MAX (255)"), "{text}");
        assert!(text.contains("… ("), "the path is not cut short: {text}");
        let deep = PathBuf::from(format!("{}/x.prom", "d/".repeat(2045)));
        let text = check_target(&deep).unwrap_err().explain("-t", &deep);
        assert!(text.contains("under PATH_MAX"), "{text}");
    }

    #[test]
    fn a_fifo_or_a_symlink_to_one_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("x.prom");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let link = dir.path().join("link.prom");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        for path in [&fifo, &link] {
            let problem = check_target(path).unwrap_err();
            assert!(
                problem.explain("--textfile", path).contains("is a FIFO"),
                "{problem:?}"
            );
            let err = write(path, GOOD).unwrap_err();
            assert!(err.to_string().contains("FIFO"), "{err}");
        }
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(
            &fs::metadata(&fifo).unwrap().file_type()
        ));
        assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
    }

    #[test]
    fn a_symlink_to_a_regular_file_is_replaced_and_its_target_kept() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.prom");
        fs::write(&target, "old").unwrap();
        let link = dir.path().join("x.prom");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write(&link, GOOD).unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "old");
        assert_eq!(fs::read_to_string(&link).unwrap(), GOOD);
    }
}
