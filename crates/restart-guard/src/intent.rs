//! The one durable record written before CMD starts: `<name>.intent` in
//! the state folder holds the latest attempt begun (its number, time, pid
//! and reason), overwritten in place and `fdatasync`ed.
//!
//! Why a file of its own: the state file is replaced by rename, which is
//! durable only after an fsync of the new file and one of its directory
//! (two journal commits). Overwriting a block that exists, at the same
//! size, changes no metadata: its `fdatasync` writes one block and flushes,
//! with no journal commit. The state file is then saved without a sync;
//! a load that finds it older than the intent record catches up from the
//! record and the audit log (`cmd/guard.rs`).
//!
//! A power loss during the write can tear the record (some sectors new,
//! some old: the mix may even parse). A checksum line after the JSON finds
//! that; a torn record means no CMD ran (CMD starts only after the sync
//! returned), so it is read as no record.

use crate::history::{History, Pending};
use crate::policy::{self, Policy};
use selfheal_core::atomic::{open_regular, parent_dir, sync_dir, with_path};
use selfheal_core::state::StateStore;
use serde::{Deserialize, Serialize};
use std::fs::OpenOptions;
use std::io::{self, Read as _};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The record's fixed size: a reason of 1000 characters, each escaped to
/// six bytes, still fits; padding with spaces keeps the size constant, so
/// an overwrite changes no metadata.
const SIZE: usize = 8192;

/// The attempt numbered `seq`, about to start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    pub seq: u64,
    pub pending: Pending,
}

impl Intent {
    /// Counts the attempt in `history`: in the window, in the backoff
    /// streak, pending until its outcome is recorded.
    pub fn apply(self, history: &mut History, policy: &Policy) {
        policy::record_attempt(history, &self.pending.started, policy);
        // A restart ends an exhaustion: the next one escalates afresh.
        history.escalated_at = None;
        history.pending = Some(self.pending);
        history.seq = self.seq;
    }
}

/// `<dir>/<name>.intent`, beside the name's state file.
#[must_use]
pub fn path(store: &StateStore, name: &str) -> PathBuf {
    store.dir().join(format!("{name}.intent"))
}

/// Writes `intent` over the previous record; returns once it is on disk.
pub fn write(path: &Path, intent: &Intent) -> io::Result<()> {
    let json = serde_json::to_vec(intent).map_err(io::Error::other)?;
    let mut record = json.clone();
    record.extend_from_slice(format!("\n{:016x}\n", checksum(&json)).as_bytes());
    if record.len() > SIZE {
        return Err(io::Error::other(format!(
            "intent record of {} bytes does not fit in {SIZE}",
            record.len()
        )));
    }
    record.resize(SIZE, b' ');
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).mode(0o644);
    let file = open_regular(path, &mut options)?;
    let created = file.metadata()?.len() == 0;
    let context = |e: io::Error| with_path(&e, "cannot write", path);
    file.write_all_at(&record, 0).map_err(context)?;
    file.sync_data().map_err(context)?;
    if created {
        // Once per name: the new file's entry, and its folder's, on disk.
        let dir = parent_dir(path);
        sync_dir(&dir)?;
        sync_dir(&parent_dir(&dir))?;
    }
    Ok(())
}

/// The latest intent, `None` when there is none or it was torn.
pub fn read(path: &Path) -> io::Result<Option<Intent>> {
    let file = match open_regular(path, OpenOptions::new().read(true)) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::with_capacity(SIZE);
    file.take(SIZE as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| with_path(&e, "cannot read", path))?;
    Ok(verified(&bytes).and_then(|json| serde_json::from_slice(json).ok()))
}

/// The JSON of a record whose checksum line matches it.
fn verified(record: &[u8]) -> Option<&[u8]> {
    let end = record.iter().position(|&b| b == b'\n')?;
    let (json, rest) = (&record[..end], &record[end + 1..]);
    let hex = std::str::from_utf8(rest.get(..16)?).ok()?;
    (u64::from_str_radix(hex, 16).ok()? == checksum(json)).then_some(json)
}

/// FNV-1a, 64 bits: enough to tell a torn record from a whole one.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use selfheal_core::clock::Stamp;

    fn intent(seq: u64, reason: &str) -> Intent {
        let started = Stamp {
            unix: 2_000_000_000.0,
            boot_id: "b".into(),
            uptime: 10.0,
        };
        Intent {
            seq,
            pending: Pending {
                started,
                pid: 7,
                reason: reason.into(),
            },
        }
    }

    #[test]
    fn the_latest_record_is_read_back_at_a_constant_size() {
        let dir = selfheal_test_support::tempdir().unwrap();
        let path = dir.path().join("svc.intent");
        assert_eq!(read(&path).unwrap(), None);
        write(&path, &intent(1, &"\u{1}".repeat(1003))).unwrap();
        write(&path, &intent(2, "short")).unwrap();
        assert_eq!(read(&path).unwrap(), Some(intent(2, "short")));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), SIZE as u64);
    }

    #[test]
    fn a_torn_record_reads_as_none() {
        let dir = selfheal_test_support::tempdir().unwrap();
        let path = dir.path().join("svc.intent");
        write(&path, &intent(1, "a long reason, longer than the tear")).unwrap();
        // The first sector of a new record landed, the rest is the old one.
        let new = serde_json::to_vec(&intent(2, "x")).unwrap();
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.write_all_at(&new[..new.len() - 3], 0).unwrap();
        assert_eq!(read(&path).unwrap(), None);
    }

    #[test]
    fn a_symlink_is_refused() {
        let dir = selfheal_test_support::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "keep").unwrap();
        let path = dir.path().join("svc.intent");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        assert!(write(&path, &intent(1, "r")).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    }
}
