//! Where state is read, said out loud: a run as an ordinary user (nobody)
//! names the directory it looked in, warns about root's state it does not
//! show, and without a home is told to give --state-dir instead of falling
//! back to root's directory and "Permission denied".

mod common;

use common::{as_user, writable_dir};
use selfheal_test_support::tempdir;
use std::os::unix::fs::PermissionsExt;

/// Root's state directory, stood in for by a temp dir with state for `svc`
/// in its restart-guard folder of the given mode.
fn system_dir(mode: u32) -> selfheal_test_support::TempDir {
    let dir = tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ours = dir.path().join("restart-guard");
    std::fs::create_dir(&ours).unwrap();
    std::fs::write(
        ours.join("svc.json"),
        r#"{"attempts":{"boots":[],"at":[]}}"#,
    )
    .unwrap();
    std::fs::set_permissions(&ours, std::fs::Permissions::from_mode(mode)).unwrap();
    dir
}

#[test]
fn a_user_without_home_is_told_to_give_a_state_dir() {
    let system = system_dir(0o755);
    let ran = writable_dir();
    let marker = ran.path().join("ran");
    let env = [("SELFHEAL_SYSTEM_STATE_DIR", system.path())];
    for args in [
        &["status"][..],
        &["audit"],
        &["reset", "svc"],
        &["--name", "svc", "--", "touch", marker.to_str().unwrap()],
    ] {
        let run = as_user(&env, args)
            .expect_code(3)
            .stderr_has("none of --state-dir, SELFHEAL_STATE_DIR, STATE_DIRECTORY, XDG_STATE_HOME or HOME is set")
            .stderr_has("give --state-dir DIR");
        assert_eq!(
            run.stdout, "",
            "{args:?}: a usage error prints nothing on stdout"
        );
        assert!(!run.stderr.contains("Permission denied"), "{}", run.stderr);
    }
    assert!(!marker.exists(), "CMD ran without a state directory");
    let mine = writable_dir();
    as_user(
        &env,
        &["--state-dir", mine.path().to_str().unwrap(), "status"],
    )
    .expect_code(0);
}

#[test]
fn nothing_recorded_names_the_directory_and_roots_unreadable_state_is_pointed_out() {
    let system = system_dir(0o000);
    let home = writable_dir();
    let env = [
        ("SELFHEAL_SYSTEM_STATE_DIR", system.path()),
        ("XDG_STATE_HOME", home.path()),
    ];
    let looked = home.path().join("selfheal/restart-guard");
    let shown = system.path().join("restart-guard");
    as_user(&env, &["status"])
        .expect_code(0)
        .stdout_has(&format!(
            "RESTART OK - no restarts recorded yet in {}",
            looked.display()
        ))
        .stderr_has(&format!("cannot read {}", shown.display()))
        .stderr_has(&format!("this run read {}", looked.display()));
    as_user(&env, &["status", "svc"])
        .expect_code(0)
        .stdout_has(&format!(
            "no restarts recorded for svc in {}",
            looked.display()
        ));
}

#[test]
fn roots_readable_state_elsewhere_is_pointed_out() {
    let system = system_dir(0o755);
    let home = writable_dir();
    let env = [
        ("SELFHEAL_SYSTEM_STATE_DIR", system.path()),
        ("XDG_STATE_HOME", home.path()),
    ];
    as_user(&env, &["status"])
        .expect_code(0)
        .stderr_has(&format!(
            "{} holds state too",
            system.path().join("restart-guard").display()
        ))
        .stderr_has(&format!("give --state-dir {}", system.path().display()));
}
