//! Crash-safe file replacement: the old content or the new, never a mix.
//!
//! The temp file is created exclusively (`O_CREAT|O_EXCL`, so a planted
//! symlink is refused) with a random name in the target's own directory, so
//! the rename cannot cross filesystems. Its name starts with `.` and ends in
//! `.tmp`: node_exporter reads every `*.prom`, dotfiles included, so a temp
//! file must never end in `.prom`.
//!
//! A writer holds an exclusive `flock` on its temp file until the rename:
//! [`remove_stale_temps`] takes a temp file it can lock for one whose
//! writer was killed, and never removes one that a live writer is filling.

use std::fs::{self, File, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Temp files are `.<target file name>.<6 random alphanumerics>.tmp`.
const TEMP_RANDOM_LEN: usize = 6;
const TEMP_SUFFIX: &str = ".tmp";
/// Bytes a temp name adds to its target's file name.
pub const TEMP_NAME_EXTRA: usize = 2 + TEMP_RANDOM_LEN + TEMP_SUFFIX.len();
/// Linux's longest file name (`NAME_MAX`), in bytes.
pub const NAME_MAX: usize = 255;
/// Linux's longest path (`PATH_MAX`), in bytes with its closing NUL.
pub const PATH_MAX: usize = 4096;

/// Whether `candidate` is a temp file of [`write_atomic`] for the target
/// file `target_name` — exactly, so the temp files of `a.json.json` are
/// never taken for those of `a.json`.
#[must_use]
pub fn is_temp_of(candidate: &str, target_name: &str) -> bool {
    candidate
        .strip_prefix('.')
        .and_then(|rest| rest.strip_prefix(target_name))
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(|rest| rest.strip_suffix(TEMP_SUFFIX))
        .is_some_and(|random| {
            random.len() == TEMP_RANDOM_LEN && random.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

/// Opens an existing file only if it is a regular file, never following a
/// symlink at `path` (one planted by a less privileged user in a shared
/// directory) and never blocking on a FIFO. `ENOENT` comes back as is.
pub fn open_regular(path: &Path, options: &mut fs::OpenOptions) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    let file = options
        .custom_flags(flags.bits().cast_signed())
        .open(path)
        .map_err(|e| refusal(&e, path))?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is not a regular file ({}): refusing to use it; remove it or choose another path",
                path.display(),
                kind_name(kind)
            ),
        ));
    }
    Ok(file)
}

/// ELOOP from `O_NOFOLLOW` means a symlink sits at the path; ENXIO from a
/// non-blocking open for writing, a FIFO nobody reads: say so.
fn refusal(err: &io::Error, path: &Path) -> io::Error {
    let what = match err.raw_os_error() {
        Some(e) if e == rustix::io::Errno::LOOP.raw_os_error() => {
            "is a symlink: refusing to follow it (someone may have planted it); remove it"
        }
        Some(e) if e == rustix::io::Errno::NXIO.raw_os_error() => {
            "is not a regular file (a FIFO): refusing to use it; remove it or choose another path"
        }
        _ => return with_path(err, "cannot open", path),
    };
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{} {what}", path.display()),
    )
}

fn kind_name(kind: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    match () {
        () if kind.is_dir() => "a directory",
        () if kind.is_fifo() => "a FIFO",
        () if kind.is_char_device() => "a character device",
        () if kind.is_block_device() => "a block device",
        () if kind.is_socket() => "a socket",
        () => "a special file",
    }
}

/// When a replacement is on disk, and what a crash (power loss, not a
/// killed process: the page cache survives that) can leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync the temp file, rename, fsync the directory: on disk on return,
    /// and after a crash at any instant the old content or the new.
    Atomic,
    /// Rename, no sync: other processes see the new content at once; it
    /// reaches the disk when the kernel writes it back. A crash may keep
    /// the old content, or leave an empty or partial file where a
    /// filesystem does not flush a file replaced by rename (ext4 does).
    /// Only for a state a caller can rebuild from something durable.
    Deferred,
}

/// Replaces `path` with `contents`: write a temp file, fsync it, set `mode`,
/// rename it over `path`, fsync the directory. On any error the temp file is
/// removed and `path` is untouched.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    write_atomic_with(path, mode, |file| file.write_all(contents))
}

/// Like [`write_atomic`], but `fill` streams the contents into the temp file.
pub fn write_atomic_with(
    path: &Path,
    mode: u32,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    replace(path, mode, Durability::Atomic, fill)
}

/// Replaces `path` with `contents` through a temp file, as durable as asked.
pub fn write_durably(
    path: &Path,
    contents: &[u8],
    mode: u32,
    durability: Durability,
) -> io::Result<()> {
    replace(path, mode, durability, |file| file.write_all(contents))
}

/// Like [`write_atomic`], but `abort` is asked once the temp file is on
/// disk, just before the rename: `Some(why)` removes the temp file, leaves
/// `path` as it was and returns an `Interrupted` error saying why (a tool
/// told to stop mid-write).
pub fn write_atomic_unless(
    path: &Path,
    contents: &[u8],
    mode: u32,
    abort: impl FnOnce() -> Option<String>,
) -> io::Result<()> {
    let fill = |file: &mut File| file.write_all(contents);
    let check = || match abort() {
        Some(why) => Err(io::Error::new(io::ErrorKind::Interrupted, why)),
        None => Ok(()),
    };
    replace_checked(path, mode, Durability::Atomic, fill, check)
}

fn replace(
    path: &Path,
    mode: u32,
    durability: Durability,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    replace_checked(path, mode, durability, fill, || Ok(()))
}

fn replace_checked(
    path: &Path,
    mode: u32,
    durability: Durability,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
    before_rename: impl FnOnce() -> io::Result<()>,
) -> io::Result<()> {
    let dir = parent_dir(path);
    let file_name = path
        .file_name()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} names no file", path.display()),
            )
        })?
        .to_string_lossy();
    let mut temp = locked_temp(&dir, &file_name, mode)?;
    // The umask may have narrowed the mode given at creation.
    temp.as_file()
        .set_permissions(Permissions::from_mode(mode))
        .map_err(|e| with_path(&e, "cannot set permissions on", temp.path()))?;
    fill(temp.as_file_mut()).map_err(|e| with_path(&e, "cannot write", temp.path()))?;
    let synced = durability == Durability::Atomic;
    if synced {
        temp.as_file()
            .sync_all()
            .map_err(|e| with_path(&e, "cannot fsync", temp.path()))?;
    }
    before_rename()?;
    temp.persist(path)
        .map_err(|e| with_path(&e.error, "cannot rename a temp file over", path))?;
    if synced { sync_dir(&dir) } else { Ok(()) }
}

/// Ok when this process may create files in `dir` (`faccessat` for write
/// and search, with the effective ids), checked without creating any; a
/// missing directory is `NotFound`.
pub fn check_dir_writable(dir: &Path) -> io::Result<()> {
    use rustix::fs::{Access, AtFlags, CWD, accessat};
    accessat(
        CWD,
        dir,
        Access::WRITE_OK | Access::EXEC_OK,
        AtFlags::EACCESS,
    )
    .map_err(|errno| {
        let err = io::Error::from_raw_os_error(errno.raw_os_error());
        with_path(&err, "cannot create files in", dir)
    })
}

/// A new temp file for `file_name` in `dir`, locked by us. A cleaner may
/// lock and remove a file in the instant between its creation and our
/// lock: then we see it gone (or cannot lock it) and make another.
fn locked_temp(dir: &Path, file_name: &str, mode: u32) -> io::Result<tempfile::NamedTempFile> {
    for _ in 0..8 {
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{file_name}."))
            .rand_bytes(TEMP_RANDOM_LEN)
            .suffix(TEMP_SUFFIX)
            .permissions(Permissions::from_mode(mode))
            .tempfile_in(dir)
            .map_err(|e| with_path(&e, "cannot create a temp file in", dir))?;
        match temp.as_file().try_lock() {
            Ok(()) if still_named(&temp) => return Ok(temp),
            // A filesystem without locks: write unprotected rather than not at all.
            Err(fs::TryLockError::Error(_)) => return Ok(temp),
            Ok(()) | Err(fs::TryLockError::WouldBlock) => {}
        }
    }
    Err(io::Error::other(format!(
        "cannot keep a temp file in {}: another process removes them as they are made",
        dir.display()
    )))
}

/// Whether the temp file's name still leads to our open file.
fn still_named(temp: &tempfile::NamedTempFile) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::symlink_metadata(temp.path()), temp.as_file().metadata()) {
        (Ok(named), Ok(open)) => named.dev() == open.dev() && named.ino() == open.ino(),
        _ => false,
    }
}

/// Removes the temp files of `path` that a killed writer left behind (no
/// live writer holds their lock); returns how many. A killed writer's
/// temp file holds a whole copy of the content, megabytes for a big
/// textfile, and would otherwise stay forever.
pub fn remove_stale_temps(path: &Path) -> io::Result<usize> {
    let Some(target) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Ok(0);
    };
    let dir = parent_dir(path);
    let mut removed = 0;
    for entry in fs::read_dir(&dir).map_err(|e| with_path(&e, "cannot list", &dir))? {
        let candidate = entry?.path();
        let is_temp = candidate
            .file_name()
            .is_some_and(|n| is_temp_of(&n.to_string_lossy(), &target));
        if is_temp && remove_if_unlocked(&candidate) {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Removes `candidate` while holding its lock, so a writer cannot take it
/// between our look and the removal.
fn remove_if_unlocked(candidate: &Path) -> bool {
    let Ok(file) = open_regular(candidate, fs::OpenOptions::new().read(true)) else {
        return false;
    };
    file.try_lock().is_ok() && fs::remove_file(candidate).is_ok()
}

/// Makes a rename in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| with_path(&e, "cannot fsync directory", dir))
}

/// The directory a path lives in (`.` for a bare file name).
#[must_use]
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Prefixes an io error with what was being done and to which path, keeping
/// its kind so callers can still tell ENOSPC from EACCES.
#[must_use]
pub fn with_path(err: &io::Error, doing: &str, path: &Path) -> io::Error {
    io::Error::new(err.kind(), format!("{doing} {}: {err}", path.display()))
}

#[cfg(test)]
#[path = "atomic_tests.rs"]
mod tests;
