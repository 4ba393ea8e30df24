//! The per-name state store: one JSON file per watched name under the state
//! directory, read-modify-written under an exclusive lock, replaced atomically.
//!
//! The lock is taken on `<name>.lock`, not on `<name>.json` itself: the JSON
//! file is replaced by rename, so a lock on its inode would be held on a file
//! that no longer has a name while a second writer locks the new one.
//! A state file that does not parse is renamed `<name>.json.corrupt-<unix>`
//! (never over an earlier one) and reported; the caller then starts from
//! empty state, knowingly.
//!
//! State directories may be writable by a less privileged user, so no file
//! in one is opened through a symlink, and only regular files are read:
//! a planted link or FIFO is refused with a message naming it.

use crate::atomic::{self, with_path};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use crate::state_dir::{NoStateDir, SYSTEM_DIR, default_dir};

/// Names become file names: keep them to a safe alphabet that still covers
/// systemd unit names (`trader@BTC.service`, and the `\xNN` escapes of
/// instances such as `restart-guard@foo\x2dbar.service`'s `%i`) and hosts
/// (`gpu-1:11434`). A refused name is shown escaped and cut short.
pub fn validate_name(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "._-@:+\\".contains(c);
    if name.is_empty()
        || name.len() > MAX_NAME
        || name.starts_with('.')
        || !name.chars().all(ok_char)
        || !escapes_are_systemds(name)
    {
        return Err(format!(
            "invalid name '{}': use 1-{MAX_NAME} characters from A-Z a-z 0-9 . _ - @ : + and systemd's \\xNN escapes, not starting with '.'",
            crate::report::clip(name, 64)
        ));
    }
    Ok(())
}

/// Longest name, in bytes: `<name>.json.corrupt-<unix>-N` and temp names
/// must still fit in a file name (255 bytes).
const MAX_NAME: usize = 200;

/// Whether every `\` starts an escape as `systemd-escape` writes it: `\x`
/// and two hex digits.
fn escapes_are_systemds(name: &str) -> bool {
    name.split('\\').skip(1).all(|after| {
        let bytes = after.as_bytes();
        bytes.len() >= 3 && bytes[0] == b'x' && bytes[1..3].iter().all(u8::is_ascii_hexdigit)
    })
}

pub struct StateStore {
    dir: PathBuf,
}

/// How long to wait when another process holds a name's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockWait {
    /// Fail at once with [`LockError::Busy`].
    No,
    /// Poll until the lock is free or the time is up.
    Upto(Duration),
    /// Block until the lock is free.
    Forever,
}

#[derive(Debug)]
pub enum LockError {
    /// Another process holds the lock.
    Busy,
    Io(io::Error),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Busy => f.write_str("another process holds the lock"),
            LockError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for LockError {}

impl StateStore {
    /// Opens (creating if needed) the state directory.
    pub fn open(dir: &Path) -> io::Result<StateStore> {
        fs::create_dir_all(dir).map_err(|e| {
            with_path(
                &e,
                "cannot create state directory (pass --state-dir to use another)",
                dir,
            )
        })?;
        Ok(StateStore {
            dir: dir.to_path_buf(),
        })
    }

    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    #[must_use]
    pub fn state_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// Takes the exclusive lock for `name`; the state is read and written
    /// through the returned guard, and the lock is released when it drops.
    pub fn lock(&self, name: &str, wait: LockWait) -> Result<StateLock, LockError> {
        validate_name(name)
            .map_err(|e| LockError::Io(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
        let lock_path = self.dir.join(format!("{name}.lock"));
        let file = atomic::open_regular(
            &lock_path,
            OpenOptions::new().create(true).truncate(false).write(true),
        )
        .map_err(LockError::Io)?;
        acquire(&file, wait).map_err(|e| match e {
            LockError::Io(io) => LockError::Io(with_path(&io, "cannot lock", &lock_path)),
            busy @ LockError::Busy => busy,
        })?;
        self.remove_stale_temp_files(name);
        Ok(StateLock {
            _file: file,
            path: self.state_path(name),
        })
    }

    /// A writer killed between creating its temp file and renaming it leaves
    /// the temp file behind. Only the lock holder writes a name's state, so
    /// under the lock every such file is stale.
    fn remove_stale_temp_files(&self, name: &str) {
        let target = format!("{name}.json");
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            if atomic::is_temp_of(&file_name.to_string_lossy(), &target) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Every name with a state file, sorted.
    pub fn names(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| with_path(&e, "cannot list", &self.dir))? {
            let file_name = entry?.file_name();
            let file_name = file_name.to_string_lossy();
            if let Some(name) = file_name.strip_suffix(".json")
                && validate_name(name).is_ok()
            {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Reads a name's state without locking, for reports. The file is always
    /// whole (it is replaced by rename), so no lock is needed to read it.
    pub fn peek<T: DeserializeOwned>(&self, name: &str) -> io::Result<Option<T>> {
        validate_name(name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let path = self.state_path(name);
        match read_state_file(&path)? {
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("state file {} is corrupt: {e}", path.display()),
                )
            }),
            None => Ok(None),
        }
    }
}

/// Largest state file read: state is small; a huge file is not ours.
const MAX_STATE_BYTES: u64 = 64 << 20;

/// The bytes of a state file, `None` if there is none; refuses symlinks,
/// non-regular files and files too large to be state.
fn read_state_file(path: &Path) -> io::Result<Option<Vec<u8>>> {
    use std::io::Read as _;
    let file = match atomic::open_regular(path, OpenOptions::new().read(true)) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    file.take(MAX_STATE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| with_path(&e, "cannot read state file", path))?;
    if bytes.len() as u64 > MAX_STATE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "state file {} is larger than {} MiB: not a selfheal state file; move it away",
                path.display(),
                MAX_STATE_BYTES >> 20
            ),
        ));
    }
    Ok(Some(bytes))
}

/// Renames a corrupt file to `<path>.corrupt-<unix>` (then `-2`, `-3`, ...),
/// never replacing an earlier one: each corruption is evidence.
fn set_aside(path: &Path) -> io::Result<PathBuf> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for attempt in 1..=1000 {
        let suffix = if attempt == 1 {
            String::new()
        } else {
            format!("-{attempt}")
        };
        let aside = PathBuf::from(format!("{}.corrupt-{unix}{suffix}", path.display()));
        match renameat_with(CWD, path, CWD, &aside, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(aside),
            Err(rustix::io::Errno::EXIST) => {}
            Err(e) => {
                let e = io::Error::from_raw_os_error(e.raw_os_error());
                return Err(with_path(&e, "cannot set aside corrupt state file", path));
            }
        }
    }
    Err(io::Error::other(format!(
        "cannot set aside {}: 1000 corrupt copies from this second already exist",
        path.display()
    )))
}

fn acquire(file: &File, wait: LockWait) -> Result<(), LockError> {
    let deadline = match wait {
        LockWait::Forever => return file.lock().map_err(LockError::Io),
        LockWait::No => Instant::now(),
        LockWait::Upto(limit) => Instant::now() + limit,
    };
    let mut pause = Duration::from_millis(1);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::Error(e)) => return Err(LockError::Io(e)),
            Err(TryLockError::WouldBlock) if Instant::now() >= deadline => {
                return Err(LockError::Busy);
            }
            Err(TryLockError::WouldBlock) => {
                std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
                pause = (pause * 2).min(Duration::from_millis(25));
            }
        }
    }
}

/// Proof that this process holds a name's lock.
pub struct StateLock {
    _file: File,
    path: PathBuf,
}

impl StateLock {
    /// The current state, `None` when there is none yet. A file that does
    /// not parse is set aside as `*.corrupt-<unix>` and read as
    /// [`Loaded::SetAside`], whose note the caller passes on to the user.
    pub fn load<T: DeserializeOwned>(&self) -> io::Result<Loaded<T>> {
        let Some(bytes) = read_state_file(&self.path)? else {
            return Ok(Loaded::Missing);
        };
        match serde_json::from_slice(&bytes) {
            Ok(value) => Ok(Loaded::Found(value)),
            Err(parse_error) => self.set_aside(&parse_error),
        }
    }

    /// Sets the state file aside as corrupt, for a reason of the caller's
    /// (a file that parses but misses what the tool requires is corrupt too).
    pub fn set_aside<T>(&self, why: &dyn std::fmt::Display) -> io::Result<Loaded<T>> {
        let aside = set_aside(&self.path)?;
        atomic::sync_dir(&atomic::parent_dir(&self.path))?;
        let note = format!(
            "state file {} was corrupt ({why}); moved it to {} and started from empty state",
            self.path.display(),
            aside.display()
        );
        Ok(Loaded::SetAside { note })
    }

    /// Atomically replaces the state (temp file, fsync, rename, fsync dir).
    pub fn save<T: Serialize>(&self, value: &T) -> io::Result<()> {
        self.save_with(value, atomic::Durability::Atomic)
    }

    /// Replaces the state as durably as the caller needs (see
    /// [`atomic::Durability`]: the weaker kinds are for a caller that can
    /// rebuild a lost or damaged state from something durable).
    pub fn save_with<T: Serialize>(
        &self,
        value: &T,
        durability: atomic::Durability,
    ) -> io::Result<()> {
        let mut json = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
        json.push(b'\n');
        atomic::write_durably(&self.path, &json, 0o644, durability)
    }
}

/// What [`StateLock::load`] found.
#[derive(Debug)]
pub enum Loaded<T> {
    Found(T),
    Missing,
    /// The file was corrupt and has been set aside; `note` says where.
    SetAside {
        note: String,
    },
}

impl<T: Default> Loaded<T> {
    /// The state to work from, with a set-aside file's note passed on to the
    /// user as a warning of `report` (library code never prints).
    pub fn or_default_warning(self, report: &mut crate::Report) -> T {
        match self {
            Loaded::Found(value) => value,
            Loaded::Missing => T::default(),
            Loaded::SetAside { note } => {
                report.warn(note);
                T::default()
            }
        }
    }
}

impl<T> Loaded<T> {
    pub fn into_option(self) -> Option<T> {
        match self {
            Loaded::Found(v) => Some(v),
            Loaded::Missing | Loaded::SetAside { .. } => None,
        }
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
