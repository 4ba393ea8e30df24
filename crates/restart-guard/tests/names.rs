//! Names as systemd and hostile callers hand them over: the `\xNN`
//! escapes of `restart-guard@.service` instances are accepted; control
//! characters and 5,000-character names never reach the one-line output
//! raw; an attempt whose guard was killed shows as orphaned, not in
//! progress; a --textfile with no room for its temp name is refused
//! before CMD.

mod common;

use common::{counter, guard, lines, raw};
use selfheal_test_support::tempdir;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// What `%i` of `restart-guard@foo-bar.service` expands to.
const ESCAPED: &str = r"foo\x2dbar.service";

/// A stand-in systemctl that knows every unit, restarted 7 times.
fn systemctl(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("systemctl");
    std::fs::write(
        &path,
        "#!/bin/sh\necho NRestarts=7\necho LoadState=loaded\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn systemd_escaped_unit_names_are_accepted_everywhere() {
    let dir = tempdir().unwrap();
    guard(dir.path())
        .args(["--name", ESCAPED, "--format", "prom", "--", "true"])
        .run()
        .expect_code(0)
        .stdout_has(r#"name="foo\\x2dbar.service""#);
    assert!(common::state_path(dir.path(), ESCAPED).exists());
    guard(dir.path())
        .args(["status", ESCAPED])
        .run()
        .expect_code(0)
        .stdout_has(r"foo\x2dbar.service: 1/3 restarts");
    guard(dir.path())
        .env("SELFHEAL_SYSTEMCTL", systemctl(dir.path()))
        .args(["loops", "--unit", ESCAPED])
        .run()
        .expect_code(0)
        .stdout_has(r"foo\x2dbar.service: first sample, NRestarts=7");
    guard(dir.path())
        .args(["reset", ESCAPED])
        .run()
        .expect_code(0);
}

#[test]
fn hostile_names_are_escaped_and_cut_in_the_one_line_output() {
    let dir = tempdir().unwrap();
    let count = dir.path().join("count");
    let hostile = format!("svc\nRESTART OK - all fine {}", "x".repeat(5000));
    let systemctl = systemctl(dir.path());
    let runs = [
        guard(dir.path())
            .args(["--name", &hostile, "--"])
            .args(counter(&count))
            .run(),
        guard(dir.path()).args(["status", &hostile]).run(),
        guard(dir.path()).args(["reset", &hostile]).run(),
        guard(dir.path())
            .env("SELFHEAL_SYSTEMCTL", &systemctl)
            .args(["loops", "--unit", &hostile])
            .run(),
    ];
    for run in runs {
        let run = run.expect_code(3);
        let out = format!("{}{}", run.stdout, run.stderr);
        assert_eq!(out.lines().count(), 1, "{run}");
        assert!(
            out.contains(r"invalid name 'svc\nRESTART OK - all fine xx"),
            "{run}"
        );
        assert!(out.contains("… (5026 characters)"), "{run}");
        assert!(out.len() < 400, "{run}");
    }
    assert_eq!(lines(&count), 0);
}

#[test]
fn an_attempt_whose_guard_was_killed_is_orphaned_not_in_progress() {
    let dir = tempdir().unwrap();
    let pidfile = dir.path().join("cmd.pid");
    let script = format!("echo $$ > '{}'; exec sleep 60", pidfile.display());
    let mut killed = raw(dir.path(), &["--name", "svc", "--", "sh", "-c", &script])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let cmd_pid = loop {
        if let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "CMD never started");
        std::thread::sleep(Duration::from_millis(10));
    };
    guard(dir.path())
        .args(["status", "svc"])
        .run()
        .expect_code(1)
        .stdout_has("a restart is in progress");
    killed.kill().unwrap();
    killed.wait().unwrap();
    // CMD has a process group of its own and outlived the guard: ours to end.
    let _ = std::process::Command::new("kill")
        .arg(cmd_pid.to_string())
        .status();
    let run = guard(dir.path())
        .args(["status", "svc"])
        .run()
        .expect_code(1)
        .stdout_has("an attempt begun ")
        .stdout_has(&format!(
            " ago is orphaned (restart-guard pid {} ended before recording its outcome",
            killed.id()
        ));
    assert!(!run.stdout.contains("in progress"), "{run}");
    guard(dir.path())
        .args(["status", "--format", "json"])
        .run()
        .stdout_has(r#""in_progress":false"#)
        .stdout_has(r#""orphaned":true"#);
}

#[test]
fn a_textfile_with_no_room_for_its_temp_name_is_refused_before_cmd() {
    let dir = tempdir().unwrap();
    let count = dir.path().join("count");
    let textfile = dir.path().join(format!("{}.prom", "t".repeat(245)));
    guard(dir.path())
        .args(["--name", "svc", "--textfile"])
        .arg(&textfile)
        .arg("--")
        .args(counter(&count))
        .run()
        .expect_code(3)
        .stdout_has("its file name is 250 bytes, too long to write through a temp file")
        .stdout_has("at most 243 bytes under NAME_MAX (255)");
    assert_eq!(lines(&count), 0);
}
