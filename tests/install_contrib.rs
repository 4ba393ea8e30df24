//! scripts/install takes contrib/ by glob, whatever the compositions are
//! called: here it runs from a copy of the tree whose contrib/ holds one of
//! each kind (unit, timer, template, drop-in directory, sudoers rule, polkit
//! rule, a README that is not a unit) and must put each where its consumer
//! reads it, and refuse a sudoers rule visudo rejects before installing
//! anything at all. Upgrades and a timers-to-cron switch remove what the
//! tree or the choice no longer ships.

use selfheal_test_support::{Cmd, Run, TempDir, bin, require, tempdir};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// A helper script as contrib/bin ships them: the tools from $SELFHEAL_BIN.
const HELPER: &str =
    "#!/bin/sh\nbin=${SELFHEAL_BIN:-/usr/local/bin}\nexec \"$bin/restart-guard\" --version\n";
const CRON: &str = "PATH=/usr/local/bin:/usr/bin:/bin\n* * * * * root gpu-probe\n";

const SUDOERS: &str = "selfheal ALL=(root) NOPASSWD: /usr/bin/systemctl restart ollama.service\n";

/// A copy of scripts/ and the crate manifests, with a contrib/ of our own.
fn tree_with_contrib(sudoers: &str) -> TempDir {
    let tree = tempdir().unwrap();
    let lib = fs::read_dir(repo().join("scripts/lib")).unwrap();
    let libs = lib.map(|e| Path::new("scripts/lib").join(e.unwrap().file_name()));
    for script in libs.chain([PathBuf::from("scripts/install")]) {
        let copy = tree.path().join(&script);
        fs::create_dir_all(copy.parent().unwrap()).unwrap();
        fs::copy(repo().join(&script), &copy).unwrap();
    }
    for entry in fs::read_dir(repo().join("crates")).unwrap() {
        let manifest = entry.unwrap().path().join("Cargo.toml");
        let name = manifest.parent().unwrap().file_name().unwrap();
        write(
            &tree.path().join("crates").join(name).join("Cargo.toml"),
            &fs::read_to_string(&manifest).unwrap(),
        );
    }
    let contrib = tree.path().join("contrib");
    let exec = "[Service]\nExecStart=/usr/local/bin/restart-guard status\n";
    write(&contrib.join("systemd/probe.service"), exec);
    write(
        &contrib.join("systemd/probe.timer"),
        "[Timer]\nOnBootSec=1min\n",
    );
    write(&contrib.join("systemd/stall@.service"), exec);
    write(
        &contrib.join("systemd/stall@.timer"),
        "[Timer]\nOnBootSec=1min\n",
    );
    write(&contrib.join("systemd/ai.slice"), "[Slice]\nMemoryMax=8G\n");
    write(&contrib.join("systemd/gateway.service.d/reap.conf"), exec);
    write(&contrib.join("systemd/README.md"), "not a unit\n");
    write(&contrib.join("cron/selfheal.cron"), CRON);
    write(&contrib.join("bin/selfheal-helper"), HELPER);
    fs::set_permissions(
        contrib.join("bin/selfheal-helper"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    write(
        &contrib.join("bin/notes.txt"),
        "not executable: not installed\n",
    );
    write(
        &contrib.join("systemd/helper.service"),
        "[Service]\nExecStart=/usr/local/bin/selfheal-helper\nExecStartPost=/usr/local/bin/ollama ps\n",
    );
    write(&contrib.join("sudoers/selfheal.sudoers"), sudoers);
    write(
        &contrib.join("polkit/50-selfheal.rules"),
        "polkit.addRule(function () {});\n",
    );
    tree
}

fn install(tree: &Path, root: &Path) -> Run {
    let build = bin("selfheal-docgen").parent().unwrap().to_path_buf();
    Cmd::new(tree.join("scripts/install"))
        .arg("--root")
        .arg(root)
        .args(["--prefix", "/opt/sh", "--timers", "--bin-dir"])
        .arg(build)
        .run()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn every_kind_of_contrib_file_lands_where_its_consumer_reads_it() {
    require("visudo", "sudo");
    let tree = tree_with_contrib(SUDOERS);
    let root = tempdir().unwrap();
    let run = install(tree.path(), root.path()).expect_code(0);
    let etc = root.path().join("etc");
    for unit in [
        "probe.service",
        "probe.timer",
        "stall@.service",
        "stall@.timer",
        "ai.slice",
    ] {
        assert_eq!(
            mode(&etc.join("systemd/system").join(unit)),
            0o644,
            "{unit}"
        );
    }
    let dropin =
        fs::read_to_string(etc.join("systemd/system/gateway.service.d/reap.conf")).unwrap();
    assert!(
        dropin.contains("ExecStart=/opt/sh/bin/restart-guard status"),
        "{dropin}"
    );
    assert!(
        !etc.join("systemd/system/README.md").exists(),
        "a README is not a unit"
    );
    // Our helper moves with --prefix; Ollama's own binary stays where it is.
    let helper = fs::read_to_string(etc.join("systemd/system/helper.service")).unwrap();
    assert!(
        helper.contains("ExecStart=/opt/sh/bin/selfheal-helper\n"),
        "{helper}"
    );
    assert!(
        helper.contains("ExecStartPost=/usr/local/bin/ollama ps"),
        "{helper}"
    );
    let installed = root.path().join("opt/sh/bin/selfheal-helper");
    assert_eq!(mode(&installed), 0o755);
    assert!(!root.path().join("opt/sh/bin/notes.txt").exists());
    let script = fs::read_to_string(&installed).unwrap();
    assert!(
        script.contains("bin=${SELFHEAL_BIN:-/opt/sh/bin}"),
        "{script}"
    );
    // Staged, /opt/sh/bin is inside the root: point it there to run it.
    Cmd::new(&installed)
        .env("SELFHEAL_BIN", root.path().join("opt/sh/bin"))
        .run()
        .expect_code(0)
        .stdout_has("restart-guard");
    // sudo skips /etc/sudoers.d files with a dot in their name.
    let rule = etc.join("sudoers.d/selfheal");
    assert_eq!(mode(&rule), 0o440);
    assert_eq!(fs::read_to_string(&rule).unwrap(), SUDOERS);
    assert_eq!(mode(&etc.join("polkit-1/rules.d/50-selfheal.rules")), 0o644);
    assert!(
        !etc.join("cron.d").exists(),
        "--timers also installed cron jobs"
    );
    assert!(
        run.stdout
            .contains("staging root: timers installed, not enabled"),
        "{run}"
    );

    Cmd::new(tree.path().join("scripts/install"))
        .arg("--root")
        .arg(root.path())
        .args(["--prefix", "/opt/sh", "--uninstall"])
        .run()
        .expect_code(0);
    assert_eq!(
        fs::read_dir(root.path()).unwrap().count(),
        0,
        "uninstall left files"
    );
}

#[test]
fn a_sudoers_rule_visudo_rejects_stops_the_install_before_any_change() {
    require("visudo", "sudo");
    let tree = tree_with_contrib("selfheal ALL=(root) NOPASSWD systemctl\n");
    let root = tempdir().unwrap();
    install(tree.path(), root.path())
        .expect_code(3)
        .stderr_has("contrib/sudoers/selfheal.sudoers fails visudo -cf: nothing was installed");
    assert_eq!(
        fs::read_dir(root.path()).unwrap().count(),
        0,
        "files were installed"
    );
}

#[test]
fn an_install_that_fails_halfway_lists_what_it_put_so_uninstall_removes_it() {
    require("visudo", "sudo");
    let tree = tree_with_contrib(SUDOERS);
    let root = tempdir().unwrap();
    // A file where the polkit rules directory should be: mkdir fails there,
    // after the tools, pages and units are already in place.
    write(&root.path().join("etc/polkit-1/rules.d"), "in the way\n");
    install(tree.path(), root.path())
        .expect_code(3)
        .stderr_has("failed: what was put so far is listed in /opt/sh/share/selfheal/manifest");
    assert!(root.path().join("opt/sh/bin/restart-guard").is_file());
    Cmd::new(tree.path().join("scripts/install"))
        .arg("--root")
        .arg(root.path())
        .args(["--prefix", "/opt/sh", "--uninstall"])
        .run()
        .expect_code(0);
    let left: Vec<_> = fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["etc"], "uninstall left more than the blocking file");
    assert!(!root.path().join("etc/systemd").exists());
}

#[test]
fn cron_jobs_find_the_tools_under_the_prefix() {
    let tree = tree_with_contrib(SUDOERS);
    let root = tempdir().unwrap();
    Cmd::new(tree.path().join("scripts/install"))
        .arg("--root")
        .arg(root.path())
        .args(["--prefix", "/opt/sh", "--cron", "--bin-dir"])
        .arg(bin("selfheal-docgen").parent().unwrap())
        .run()
        .expect_code(0);
    // cron skips /etc/cron.d files with a dot in their name.
    let job = fs::read_to_string(root.path().join("etc/cron.d/selfheal")).unwrap();
    assert!(
        job.starts_with("PATH=/opt/sh/bin:/usr/local/bin:/usr/bin:/bin\n"),
        "{job}"
    );
}

#[test]
fn switching_from_timers_to_cron_leaves_no_unit_or_directory_behind() {
    let tree = tree_with_contrib(SUDOERS);
    let root = tempdir().unwrap();
    let build = bin("selfheal-docgen").parent().unwrap().to_path_buf();
    let install = |scheduler: &str| {
        Cmd::new(tree.path().join("scripts/install"))
            .arg("--root")
            .arg(root.path())
            .args(["--prefix", "/opt/sh", scheduler, "--bin-dir"])
            .arg(&build)
            .run()
            .expect_code(0)
    };
    install("--timers");
    assert!(
        root.path()
            .join("etc/systemd/system/gateway.service.d")
            .is_dir()
    );
    install("--cron").stdout_has("remove /etc/systemd/system/probe.timer (no longer shipped)");
    assert!(
        !root.path().join("etc/systemd").exists(),
        "units or their directories stayed"
    );
    assert!(root.path().join("etc/cron.d/selfheal").is_file());
    install("--cron").stdout_has("nothing changed");
}

#[test]
fn an_upgrade_removes_what_the_tree_no_longer_ships() {
    let tree = tree_with_contrib(SUDOERS);
    let root = tempdir().unwrap();
    install(tree.path(), root.path()).expect_code(0);
    // As if an earlier version had installed a tool this tree no longer has.
    let old = root.path().join("opt/sh/bin/retired-tool");
    fs::write(&old, "old").unwrap();
    let manifest = root.path().join("opt/sh/share/selfheal/manifest");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(&manifest, format!("{text}f /opt/sh/bin/retired-tool\n")).unwrap();
    install(tree.path(), root.path())
        .expect_code(0)
        .stdout_has("remove /opt/sh/bin/retired-tool (no longer shipped)");
    assert!(!old.exists());
}
