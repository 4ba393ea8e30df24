//! Holders in a systemd unit, made real by putting them in a cgroup named
//! like one (`system.slice/<name>.service`): left alone by default, stopped
//! through `systemctl` with --stop-unit (a stand-in here: no systemd runs on
//! the build machines), and killed when the unit is port-reaper's own, as in
//! `ExecStartPre=`.

mod support;

use selfheal_test_support::{Cmd, tempdir};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use support::{BIN, Holders, alive, audit_lines};

/// A cgroup named like a systemd service, removed on drop.
struct FakeUnit {
    name: String,
    dir: PathBuf,
    root: PathBuf,
}

impl FakeUnit {
    fn new(tag: &str) -> FakeUnit {
        // cgroup v1's name=systemd hierarchy (this build container), else v2.
        let root = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup"]
            .iter()
            .map(PathBuf::from)
            .find(|r| r.join("cgroup.procs").exists())
            .expect("no cgroup hierarchy to make a unit in");
        let name = format!("selfheal-{tag}-{}.service", std::process::id());
        let dir = root.join("system.slice").join(&name);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        FakeUnit { name, dir, root }
    }

    fn add(&self, pid: i32) {
        fs::write(self.dir.join("cgroup.procs"), pid.to_string()).unwrap();
    }
}

impl Drop for FakeUnit {
    fn drop(&mut self) {
        // Move anything left back to the root first: only an empty cgroup can go.
        let left = fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default();
        for pid in left.lines() {
            let _ = fs::write(self.root.join("cgroup.procs"), pid);
        }
        let _ = fs::remove_dir(&self.dir);
    }
}

/// A `systemctl` that logs its argv and TERMs the pid in `victim`.
fn stand_in_systemctl(dir: &Path, victim: i32) -> PathBuf {
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let script = format!(
        "#!/bin/sh\necho \"$*\" >> {}/systemctl.log\nkill -TERM {victim}\n",
        dir.display()
    );
    fs::write(bin.join("systemctl"), script).unwrap();
    fs::set_permissions(bin.join("systemctl"), fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn a_holder_in_another_service_is_left_alone_then_stopped_through_systemctl() {
    let holders = Holders::start(&[]);
    let unit = FakeUnit::new("other");
    unit.add(holders.pid());
    let dir = tempdir().unwrap();
    let port = holders.port.to_string();
    support::reaper(dir.path())
        .args(["--any", &port])
        .run()
        .expect_code(2)
        .stdout_has(&format!("unit {}", unit.name))
        .stdout_has(&format!("which systemd unit {} would restart", unit.name));
    assert!(alive(holders.pid()));
    let path = format!(
        "{}:/usr/bin:/bin",
        stand_in_systemctl(dir.path(), holders.pid()).display()
    );
    support::reaper(dir.path())
        .env("PATH", path)
        .args(["--only-unit", &unit.name, "--stop-unit", &port])
        .run()
        .expect_code(0)
        .stdout_has(&format!("stopped {}", unit.name));
    let log = fs::read_to_string(dir.path().join("systemctl.log")).unwrap();
    assert_eq!(log.trim(), format!("stop -- {}", unit.name));
    let audit = audit_lines(dir.path());
    assert_eq!(audit[0]["event"], "stop-unit");
    assert_eq!(audit[0]["unit"], unit.name.as_str());
}

#[test]
fn a_leftover_in_our_own_unit_is_ours_to_clear_as_in_exec_start_pre() {
    let holders = Holders::start(&[]);
    let unit = FakeUnit::new("own");
    unit.add(holders.pid());
    let dir = tempdir().unwrap();
    // port-reaper joins the unit's cgroup first, as ExecStartPre= runs in it.
    let join = format!(
        "echo $$ > {}/cgroup.procs && exec \"$0\" \"$@\"",
        unit.dir.display()
    );
    Cmd::new("sh")
        .args(["-c", &join, BIN, "--audit-log"])
        .arg(dir.path().join("audit.jsonl"))
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .args(["--only-unit", &unit.name, &holders.port.to_string()])
        .run()
        .expect_code(0)
        .stdout_has("exited after TERM");
    assert!(!alive(holders.pid()));
}
