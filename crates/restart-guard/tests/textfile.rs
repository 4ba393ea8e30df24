//! The one text line says why when the --textfile write fails on an
//! otherwise OK run, instead of an UNKNOWN with the reason only on stderr.

mod common;

use common::{as_user, is_root, writable_dir};
use std::os::unix::fs::PermissionsExt;

#[test]
fn a_failed_textfile_write_on_an_ok_status_is_named_in_the_line() {
    assert!(
        is_root(),
        "needs root: the target must belong to another user (nobody runs the check)"
    );
    // A sticky, world-writable directory (like /tmp) passes the up-front
    // check, but nobody may not replace root's file in it.
    let dir = writable_dir();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let target = dir.path().join("restart_guard.prom");
    std::fs::write(&target, "# root's\n").unwrap();
    let state = writable_dir();
    let run = as_user(
        &[("SELFHEAL_STATE_DIR", state.path())],
        &["status", "--textfile", target.to_str().unwrap()],
    )
    .expect_code(3)
    .stdout_has(&format!(
        "RESTART UNKNOWN - no restarts recorded yet in {}/restart-guard (but the textfile {} could not be written: ",
        state.path().display(),
        target.display()
    ));
    assert!(run.stderr.contains("not written"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "# root's\n");
}
