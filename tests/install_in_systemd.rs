//! scripts/install on a fresh machine with a real systemd (a throwaway
//! container, see nspawn.rs) really schedules the loops: the timers are
//! enabled with a next elapse, the user exists, a unit they start runs the
//! installed binary and succeeds, a second run changes nothing; then
//! `--uninstall --purge` leaves nothing behind: no prefix, no units, no
//! user or group, no timers, and /etc, /opt and /var/lib as they were; so
//! does a plain `--uninstall`, a reinstall and `--purge` later.

#[allow(dead_code)] // each test binary uses a part of it
mod nspawn;

use nspawn::Container;
use selfheal_test_support::{Run, bin};
use std::path::{Path, PathBuf};

const PREFIX: &str = "/opt/selfheal-test";
const TIMERS: [&str; 2] = ["ollama-check.timer", "restart-guard-status.timer"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// The folder holding this build's binaries (target/debug).
fn build_dir() -> PathBuf {
    bin("selfheal-docgen")
        .canonicalize()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf()
}

fn install(c: &Container, extra: &[&str]) -> Run {
    let script = repo().join("scripts/install");
    let bin_dir = build_dir();
    let mut argv = vec![
        script.to_str().unwrap(),
        "--prefix",
        PREFIX,
        "--bin-dir",
        bin_dir.to_str().unwrap(),
    ];
    argv.extend_from_slice(extra);
    c.run(&argv)
}

/// `systemctl list-timers` for `timer`: the line, or "" when it is not listed.
fn listed_timer(c: &Container, timer: &str) -> String {
    c.systemctl(&["list-timers", "--all", "--no-legend", timer])
        .stdout
        .trim()
        .to_owned()
}

/// Units named for selfheal in /etc/systemd/system, links in `*.wants` too.
fn selfheal_units(c: &Container) -> String {
    let names = TIMERS.map(|t| t.trim_end_matches(".timer"));
    let pattern = format!(
        "{}|gpu-metrics|restart-guard|restart-loops|selfheal",
        names.join("|")
    );
    c.sh(&format!(
        "find /etc/systemd/system | grep -E '{pattern}' || true"
    ))
    .stdout
}

/// A container with the repo bound read-only, and its tree before install.
fn boot_fresh(name: &str) -> Option<(Container, Vec<String>)> {
    let (repo, build) = (repo(), build_dir());
    let mut binds = vec![repo.as_path()];
    if !build.starts_with(&repo) {
        binds.push(build.as_path());
    }
    let c = Container::boot_with(name, &binds)?;
    let before = tree(&c);
    assert!(
        before.iter().any(|l| l.ends_with("  /etc/passwd")),
        "no checksum of /etc/passwd in the listing: {before:#?}"
    );
    Some((c, before))
}

#[test]
fn install_schedules_the_timers_and_uninstall_purge_leaves_nothing() {
    let Some((c, before)) = boot_fresh("install") else {
        return;
    };
    let first = install(&c, &[]).expect_code(0);
    assert_scheduled(&c, &first);
    c.run(&["getent", "passwd", "selfheal"]).expect_code(0);
    runs_the_installed_binary(&c);

    install(&c, &[])
        .expect_code(0)
        .stdout_has("nothing changed");

    install(&c, &["--uninstall", "--purge"]).expect_code(0);
    assert_nothing_left(&c, &before);
}

/// A plain `--uninstall` keeps the user and the state for a reinstall,
/// which schedules again; `--purge` afterwards, with no manifest left,
/// still removes the user, the group and the state.
#[test]
fn uninstall_keeps_state_for_a_reinstall_and_purge_later_removes_it() {
    let Some((c, before)) = boot_fresh("reinstall") else {
        return;
    };
    install(&c, &[]).expect_code(0);
    runs_the_installed_binary(&c);
    install(&c, &["--uninstall"])
        .expect_code(0)
        .stdout_has("kept /var/lib/prometheus/node-exporter");
    c.run(&["getent", "passwd", "selfheal"]).expect_code(0);
    for timer in TIMERS {
        let line = listed_timer(&c, timer);
        assert!(line.is_empty(), "{timer} still listed: {line}");
    }
    let again = install(&c, &[]).expect_code(0);
    assert_scheduled(&c, &again);
    install(&c, &["--uninstall"]).expect_code(0);
    install(&c, &["--uninstall", "--purge"]).expect_code(0);
    assert_nothing_left(&c, &before);
}

/// Each timer is named `scheduled:` by the install, enabled, active, and
/// has a next elapse in `systemctl list-timers`.
fn assert_scheduled(c: &Container, first: &Run) {
    for timer in TIMERS {
        let scheduled = first
            .stdout
            .lines()
            .find(|l| l.starts_with("scheduled:") && l.contains(timer));
        assert!(
            scheduled.is_some(),
            "no `scheduled:` line for {timer}\n{first}"
        );
        let line = listed_timer(c, timer);
        // The first column is the next elapse; "-" or "n/a" when none.
        let next = line.split_whitespace().next().unwrap_or("");
        assert!(
            !line.is_empty() && next != "-" && next != "n/a",
            "{timer} has no next elapse in list-timers: {line:?}"
        );
        assert_eq!(c.property(timer, "ActiveState"), "active", "{timer}");
        assert_eq!(c.property(timer, "UnitFileState"), "enabled", "{timer}");
    }
}

fn assert_nothing_left(c: &Container, before: &[String]) {
    assert!(
        !c.sh(&format!("test -e {PREFIX}")).status.success(),
        "{PREFIX} is still there:\n{}",
        c.sh(&format!("find {PREFIX}")).stdout
    );
    let left = selfheal_units(c);
    assert!(
        left.is_empty(),
        "units left in /etc/systemd/system:\n{left}"
    );
    assert_eq!(
        c.run(&["getent", "passwd", "selfheal"]).code(),
        2,
        "user left"
    );
    assert_eq!(
        c.run(&["getent", "group", "selfheal"]).code(),
        2,
        "group left"
    );
    assert!(
        !c.sh("test -e /var/lib/selfheal").status.success(),
        "/var/lib/selfheal is still there"
    );
    for timer in TIMERS {
        let line = listed_timer(c, timer);
        assert!(line.is_empty(), "{timer} still listed: {line}");
    }
    let after = tree(c);
    let gone = changed(before, &after);
    let left = changed(&after, before);
    assert!(
        gone.is_empty() && left.is_empty(),
        "the install and uninstall changed the machine:\ngone or changed: {gone:#?}\nleft: {left:#?}"
    );
}

/// What the unit a timer starts runs is the binary under the prefix (the
/// container also has the build's binaries at /usr/local/bin), and it works.
fn runs_the_installed_binary(c: &Container) {
    let unit = "restart-guard-status.service";
    let exec = c.property(unit, "ExecStart");
    assert!(
        exec.contains(&format!("path={PREFIX}/bin/restart-guard ")),
        "{unit} does not run the installed binary: {exec}"
    );
    c.systemctl(&["start", unit]).expect_code(0);
    assert_eq!(c.property(unit, "Result"), "success", "{unit}");
    let textfile = c.read("/var/lib/prometheus/node-exporter/restart_guard.prom");
    assert!(
        textfile.contains("# HELP selfheal_restart_guard_"),
        "{unit} wrote no metrics:\n{textfile}"
    );
}

/// Every path in the container's /etc, /opt and /var/lib, with a checksum
/// of each file: all but systemd's own records in /var/lib/systemd and the
/// backups useradd and userdel keep (/etc/passwd- and the like).
fn tree(c: &Container) -> Vec<String> {
    let skip = "-path /var/lib/systemd -prune -o -path '/etc/*-' -prune -o";
    c.sh(&format!(
        "{{ find /etc /opt /var/lib {skip} -printf '%p %M %u:%g\\n'; \
         find /etc /opt /var/lib {skip} -type f -exec md5sum {{}} +; }} | sort"
    ))
    .expect_code(0)
    .stdout
    .lines()
    .map(str::to_owned)
    .collect()
}

fn changed(from: &[String], to: &[String]) -> Vec<String> {
    from.iter().filter(|p| !to.contains(p)).cloned().collect()
}
