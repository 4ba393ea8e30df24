//! Reading small kernel files (sysfs attributes, procfs `comm`, `cmdline`,
//! `fdinfo`) so that no tree can hold the probe or fill its memory: a FIFO
//! or device node is refused without blocking, a symlink at the file
//! itself is not followed (a fixture or container tree may be writable by
//! someone else), and at most `limit` bytes are read.

use selfheal_core::atomic::open_regular;
use std::fs::OpenOptions;
use std::io::Read;
use std::path::Path;

/// A sysfs attribute is at most one page.
pub const SYSFS_LIMIT: u64 = 4096;

/// fdinfo of a DRM client: a few hundred bytes, more with many engines.
pub const FDINFO_LIMIT: u64 = 64 * 1024;

/// Up to `limit` bytes of a regular file; `None` when it is absent,
/// unreadable or not a regular file.
#[must_use]
pub fn read_bytes(path: &Path, limit: u64) -> Option<Vec<u8>> {
    let file = open_regular(path, OpenOptions::new().read(true)).ok()?;
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// Like [`read_bytes`], as text (invalid UTF-8 replaced).
#[must_use]
pub fn read_text(path: &Path, limit: u64) -> Option<String> {
    read_bytes(path, limit).map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn reads_at_most_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        fs::write(&path, "7".repeat(10_000)).unwrap();
        assert_eq!(read_bytes(&path, 4096).unwrap().len(), 4096);
        assert_eq!(read_text(&dir.path().join("absent"), 10), None);
    }

    #[test]
    fn fifos_and_symlinks_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success(), "mkfifo");
        assert_eq!(read_bytes(&fifo, 10), None);
        let target = dir.path().join("secret");
        fs::write(&target, "s3cret").unwrap();
        let link = dir.path().join("product_name");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(read_text(&link, 10), None);
        assert_eq!(read_text(&dir.path().join("."), 10), None);
    }
}
