//! Crash-safe file replacement: the old content or the new, never a mix.
//!
//! The temp file is created exclusively (`O_CREAT|O_EXCL`, so a planted
//! symlink is refused) with a random name in the target's own directory, so
//! the rename cannot cross filesystems. Its name starts with `.` and ends in
//! `.tmp`: node_exporter reads every `*.prom`, dotfiles included, so a temp
//! file must never end in `.prom`.

use std::fs::{self, File, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

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
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".tmp")
        .permissions(Permissions::from_mode(mode))
        .tempfile_in(&dir)
        .map_err(|e| with_path(&e, "cannot create a temp file in", &dir))?;
    // The umask may have narrowed the mode given at creation.
    temp.as_file()
        .set_permissions(Permissions::from_mode(mode))
        .map_err(|e| with_path(&e, "cannot set permissions on", temp.path()))?;
    fill(temp.as_file_mut()).map_err(|e| with_path(&e, "cannot write", temp.path()))?;
    temp.as_file()
        .sync_all()
        .map_err(|e| with_path(&e, "cannot fsync", temp.path()))?;
    temp.persist(path)
        .map_err(|e| with_path(&e.error, "cannot rename a temp file over", path))?;
    sync_dir(&dir)
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

/// Reads a whole file, with the path in the error.
pub fn read_to_string(path: &Path) -> io::Result<String> {
    fs::read_to_string(path).map_err(|e| with_path(&e, "cannot read", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.prom");
        write_atomic(&target, b"old\n", 0o644).unwrap();
        write_atomic(&target, b"new\n", 0o644).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new\n");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("x.prom")]);
        let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }

    #[test]
    fn failing_fill_keeps_old_file_and_removes_temp() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.prom");
        write_atomic(&target, b"old\n", 0o644).unwrap();
        let err = write_atomic_with(&target, 0o644, |f| {
            f.write_all(b"partial")?;
            Err(io::Error::other("producer died"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("producer died"), "{err}");
        assert_eq!(fs::read(&target).unwrap(), b"old\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_directory_names_the_path() {
        let err = write_atomic(Path::new("/nonexistent-selfheal/x.prom"), b"x", 0o644).unwrap_err();
        assert!(err.to_string().contains("/nonexistent-selfheal"), "{err}");
    }
}
