//! Temp files of atomic writes: one left by a killed writer is removed by
//! the next one, one a live writer is filling never is, and a write told
//! to stop before its rename leaves the old file and no temp file.

use selfheal_core::atomic::{self, is_temp_of};
use selfheal_test_support::names_in;
use std::fs;
use std::io::{self, Write};

#[test]
fn a_killed_writers_temp_file_is_removed_and_others_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("jobs.prom");
    fs::write(&target, "old\n").unwrap();
    // What a writer killed before its rename leaves: nobody holds its lock.
    fs::write(dir.path().join(".jobs.prom.Ab12xZ.tmp"), "killed\n").unwrap();
    // Not ours: another target's temp file, and a name that only looks close.
    for other in [".other.prom.Ab12xZ.tmp", ".jobs.prom.Ab12x.tmp"] {
        fs::write(dir.path().join(other), "x").unwrap();
    }
    assert_eq!(atomic::remove_stale_temps(&target).unwrap(), 1);
    assert_eq!(
        names_in(dir.path()),
        [
            ".jobs.prom.Ab12x.tmp",
            ".other.prom.Ab12xZ.tmp",
            "jobs.prom"
        ]
    );
    assert_eq!(fs::read(&target).unwrap(), b"old\n");
}

#[test]
fn a_live_writers_temp_file_is_never_removed() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("jobs.prom");
    atomic::write_atomic_with(&target, 0o644, |file| {
        file.write_all(b"new\n")?;
        // Another run cleaning up while this one writes: it must see the lock.
        assert_eq!(atomic::remove_stale_temps(&target).unwrap(), 0);
        let live = names_in(dir.path());
        assert!(
            live.len() == 1 && is_temp_of(&live[0], "jobs.prom"),
            "{live:?}"
        );
        Ok(())
    })
    .unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"new\n");
    assert_eq!(names_in(dir.path()), ["jobs.prom"]);
}

#[test]
fn a_write_stopped_before_its_rename_keeps_the_old_file_and_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("jobs.prom");
    fs::write(&target, "old\n").unwrap();
    let err = atomic::write_atomic_unless(&target, b"new\n", 0o644, || {
        Some("we received SIGTERM".into())
    })
    .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Interrupted);
    assert!(err.to_string().contains("SIGTERM"), "{err}");
    assert_eq!(fs::read(&target).unwrap(), b"old\n");
    assert_eq!(names_in(dir.path()), ["jobs.prom"]);
    atomic::write_atomic_unless(&target, b"new\n", 0o644, || None).unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"new\n");
}
