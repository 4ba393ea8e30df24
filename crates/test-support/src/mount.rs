//! Full disks for real: a size-limited tmpfs mounted over a temp dir, and
//! unmounted when dropped. Mounting needs root (CAP_SYS_ADMIN); without it
//! a test fails unless `SELFHEAL_TESTS_WITHOUT_MOUNT=1` accepts a weaker
//! fallback, so that a skip is a choice someone made, never silent.

use std::path::Path;
use std::process::Command;
use tempfile::TempDir;

/// A tmpfs over a temp dir, unmounted on drop.
pub struct Tmpfs {
    dir: Option<TempDir>,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`64k`, `1m`); `None` when this process
    /// may not mount.
    #[must_use]
    pub fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755")])
            .arg("tmpfs")
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs { dir: Some(dir) })
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("mounted").path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            // Lazily: a process a failed test left behind may still hold it.
            let _ = Command::new("umount").arg("-l").arg(dir.path()).status();
            drop(dir);
        }
    }
}

/// Whether the fallbacks were asked for; panics with how to ask if not.
#[track_caller]
pub fn fallback_allowed(what: &str) {
    assert!(
        std::env::var_os("SELFHEAL_TESTS_WITHOUT_MOUNT").is_some_and(|v| v == "1"),
        "cannot mount a tmpfs here (run as root), so {what} is not tested; \
         set SELFHEAL_TESTS_WITHOUT_MOUNT=1 to accept the fallback"
    );
    eprintln!("FALLBACK (SELFHEAL_TESTS_WITHOUT_MOUNT=1): {what} is not tested for real");
}
