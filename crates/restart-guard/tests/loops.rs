//! `loops` against a fake systemctl (PID 1 is not systemd on the build
//! machines) and against the real one, which must say it cannot work here.

mod common;

use common::guard;
use selfheal_test_support::{Cmd, tempdir};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A fake `systemctl` printing `NRestarts=` from a file the test updates.
fn fake_systemctl(dir: &Path) -> PathBuf {
    let path = dir.join("systemctl");
    let script = format!(
        "#!/bin/sh\n\
         [ \"$1 $2 $3 $4 $5 $6\" = 'show -p NRestarts -p LoadState --' ] || exit 64\n\
         echo \"NRestarts=$(cat '{0}/n')\"\n\
         echo \"LoadState=$(cat '{0}/load' 2>/dev/null || echo loaded)\"\n",
        dir.display()
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn sample(dir: &Path, systemctl: &Path, minute: u32, n: u64) -> Cmd {
    std::fs::write(dir.join("n"), n.to_string()).unwrap();
    guard(dir)
        .env("SELFHEAL_SYSTEMCTL", systemctl)
        .env(
            "SELFHEAL_FAKE_CLOCK",
            format!("unix={}", 2_000_000_000 + minute * 60),
        )
        .args(["loops", "--unit", "gateway.service", "--max", "50/1h"])
}

#[test]
fn the_388_an_hour_gateway_is_critical() {
    let dir = tempdir().unwrap();
    let systemctl = fake_systemctl(dir.path());
    sample(dir.path(), &systemctl, 0, 1000)
        .run()
        .expect_code(0)
        .stdout_has("first sample, NRestarts=1000");
    sample(dir.path(), &systemctl, 5, 1010).run().expect_code(0);
    sample(dir.path(), &systemctl, 10, 1030)
        .run()
        .expect_code(1)
        .stdout_has("restarting often: gateway.service restarted 30 times");
    let run = sample(dir.path(), &systemctl, 20, 1095)
        .arg("--format")
        .arg("prom")
        .run()
        .expect_code(2);
    assert!(
        run.stdout.contains(
            "selfheal_restart_guard_unit_restarts_in_window{unit=\"gateway.service\"} 95"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("selfheal_restart_guard_unit_restart_loop{unit=\"gateway.service\"} 1")
    );
    selfheal_test_support::require("promtool", "prometheus");
    Cmd::new("promtool")
        .args(["check", "metrics"])
        .stdin(run.stdout.clone())
        .run()
        .expect_code(0);
    // An hour and a half later the old samples have left the window.
    sample(dir.path(), &systemctl, 110, 1100)
        .run()
        .expect_code(0);
}

#[test]
fn a_counter_reset_by_reset_failed_is_not_a_negative_rate() {
    let dir = tempdir().unwrap();
    let systemctl = fake_systemctl(dir.path());
    sample(dir.path(), &systemctl, 0, 40).run().expect_code(0);
    sample(dir.path(), &systemctl, 10, 3)
        .run()
        .expect_code(0)
        .stdout_has("restarted 3 times in the last 1h");
}

#[test]
fn an_unknown_unit_is_unknown() {
    let dir = tempdir().unwrap();
    let systemctl = fake_systemctl(dir.path());
    std::fs::write(dir.path().join("load"), "not-found").unwrap();
    sample(dir.path(), &systemctl, 0, 0)
        .run()
        .expect_code(3)
        .stdout_has("unit gateway.service not found");
}

#[test]
fn without_systemd_it_says_so_and_exits_3() {
    let dir = tempdir().unwrap();
    guard(dir.path())
        .env("SELFHEAL_SYSTEMCTL", "/nonexistent/systemctl")
        .args(["loops", "--unit", "gateway.service"])
        .run()
        .expect_code(3)
        .stdout_has("no systemctl here");
    // The real systemctl on a machine whose PID 1 is not systemd.
    if std::fs::read_to_string("/proc/1/comm").is_ok_and(|c| c.trim() != "systemd")
        && selfheal_test_support::on_path("systemctl")
    {
        guard(dir.path())
            .args(["loops", "--unit", "gateway.service"])
            .run()
            .expect_code(3)
            .stdout_has("is systemd running?")
            .stdout_has("restart-loop detection needs systemd");
    }
}
