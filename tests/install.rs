//! scripts/install into a throwaway root (`--root`, like DESTDIR) with this
//! build's binaries (`--bin-dir`): the installed tools run, the man pages
//! render without warnings, the bash completions load; a second run changes
//! nothing, `--dry-run` touches nothing, and `--uninstall` leaves the root as
//! it found it. Enabling timers needs systemd as PID 1 and is not run here.

use selfheal_test_support::{Cmd, Run, TOOLS, bin, require, tempdir};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn build_dir() -> PathBuf {
    bin("selfheal-docgen").parent().unwrap().to_path_buf()
}

/// `scripts/install --root ROOT --prefix /usr --bin-dir <this build>` + `extra`.
fn install(root: &Path, extra: &[&str]) -> Run {
    Cmd::new(repo().join("scripts/install"))
        .arg("--root")
        .arg(root)
        .args(["--prefix", "/usr", "--bin-dir"])
        .arg(build_dir())
        .args(extra)
        .run()
}

/// Every path under `root` with its mode, and for files their size and
/// modification time (a directory's changes whenever an entry comes or goes).
fn listing(root: &Path) -> BTreeMap<PathBuf, (u64, u32, i64, i64)> {
    let mut found = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                pending.push(path.clone());
            }
            let key = path.strip_prefix(root).unwrap().to_path_buf();
            let stamp = if meta.is_dir() {
                (0, 0, 0)
            } else {
                (meta.len(), meta.mtime(), meta.mtime_nsec())
            };
            found.insert(key, (stamp.0, meta.mode(), stamp.1, stamp.2));
        }
    }
    found
}

#[test]
fn install_twice_then_uninstall_leaves_the_root_as_it_was() {
    let root = tempdir().unwrap();
    // Something of the host's own beside ours: uninstall must keep it.
    fs::create_dir_all(root.path().join("usr/bin")).unwrap();
    fs::write(root.path().join("usr/bin/not-ours"), "#!/bin/sh\n").unwrap();
    let before = listing(root.path());

    install(root.path(), &[])
        .expect_code(0)
        .stdout_has("change(s) made");
    for tool in TOOLS {
        let path = root.path().join("usr/bin").join(tool);
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "{}", path.display());
        Cmd::new(&path)
            .arg("--version")
            .run()
            .expect_code(0)
            .stdout_has(tool);
    }
    let manifest = fs::read_to_string(root.path().join("usr/share/selfheal/manifest")).unwrap();
    assert!(
        manifest.contains("f /usr/bin/restart-guard\n"),
        "{manifest}"
    );
    assert!(!manifest.contains("/usr/bin/not-ours"), "{manifest}");

    let installed = listing(root.path());
    install(root.path(), &[])
        .expect_code(0)
        .stdout_has("nothing changed");
    assert_eq!(
        listing(root.path()),
        installed,
        "a second run changed files"
    );

    install(root.path(), &["--uninstall"]).expect_code(0);
    assert_eq!(
        listing(root.path()),
        before,
        "uninstall left something behind"
    );
    install(root.path(), &["--uninstall"])
        .expect_code(0)
        .stdout_has("nothing to uninstall");
}

#[test]
fn dry_run_prints_every_action_and_touches_nothing() {
    let root = tempdir().unwrap();
    let run = install(root.path(), &["--dry-run"]).expect_code(0);
    assert!(listing(root.path()).is_empty(), "--dry-run wrote files");
    let would = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("would "))
        .count();
    assert!(
        run.stdout.contains("would install /usr/bin/restart-guard")
            && run
                .stdout
                .contains("would install /usr/share/man/man1/restart-guard.1")
            && run
                .stdout
                .contains(&format!("dry run: {would} change(s) would be made")),
        "{run}"
    );

    install(root.path(), &[]).expect_code(0);
    let installed = listing(root.path());
    install(root.path(), &["--dry-run"])
        .expect_code(0)
        .stdout_has("dry run: 0 change(s)");
    let run = install(root.path(), &["--dry-run", "--uninstall"]).expect_code(0);
    assert_eq!(
        listing(root.path()),
        installed,
        "--dry-run --uninstall removed files"
    );
    assert!(
        run.stdout.contains("would remove /usr/bin/restart-guard"),
        "{run}"
    );
}

#[test]
fn every_man_page_renders_without_warnings() {
    require("groff", "groff-base");
    let root = tempdir().unwrap();
    install(root.path(), &[]).expect_code(0);
    let pages: Vec<PathBuf> = fs::read_dir(root.path().join("usr/share/man/man1"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for tool in TOOLS {
        let page = root.path().join(format!("usr/share/man/man1/{tool}.1"));
        assert!(pages.contains(&page), "no man page for {tool}");
    }
    for page in &pages {
        let run = Cmd::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(page)
            .run()
            .expect_code(0);
        assert!(
            run.stderr.is_empty(),
            "groff warns about {}\n{run}",
            page.display()
        );
        let shown = Cmd::new("man")
            .env("MANWIDTH", "80")
            .args(["--warnings", "-l"])
            .arg(page)
            .run()
            .expect_code(0);
        assert!(shown.stderr.is_empty(), "{shown}");
        assert!(
            shown.stdout.contains("NAME") && shown.stdout.contains("OPTIONS"),
            "{shown}"
        );
    }
}

#[test]
fn bash_completions_load_and_complete_flags() {
    let root = tempdir().unwrap();
    install(root.path(), &[]).expect_code(0);
    let dir = root.path().join("usr/share/bash-completion/completions");
    for tool in TOOLS {
        let script = format!(
            "source {}/{tool} && complete -p {tool} && COMP_WORDS=({tool} --vers) COMP_CWORD=1 \
             && $(complete -p {tool} | sed 's/.*-F \\([^ ]*\\).*/\\1/') {tool} --vers {tool} \
             && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            dir.display()
        );
        Cmd::new("bash")
            .args(["--norc", "-c", &script])
            .run()
            .expect_code(0)
            .stdout_has(&format!(" {tool}\n--version\n"));
    }
    for tool in TOOLS {
        assert!(
            root.path()
                .join(format!("usr/share/zsh/site-functions/_{tool}"))
                .is_file()
        );
        let fish = root
            .path()
            .join(format!("usr/share/fish/vendor_completions.d/{tool}.fish"));
        assert!(
            fs::read_to_string(fish)
                .unwrap()
                .contains(&format!("complete -c {tool}"))
        );
    }
}

/// The executables install puts in PREFIX/bin: the tools and the helper
/// scripts of contrib/bin and contrib/no-systemd.
fn ours() -> Vec<String> {
    let mut names: Vec<String> = TOOLS.iter().map(|&t| t.to_owned()).collect();
    for dir in ["contrib/bin", "contrib/no-systemd"] {
        for entry in fs::read_dir(repo().join(dir)).into_iter().flatten() {
            let path = entry.unwrap().path();
            if fs::metadata(&path).unwrap().permissions().mode() & 0o111 != 0 {
                names.push(path.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    names
}

/// Every executable of ours a shipped unit or cron line names exists where
/// install put it (contrib/ says /usr/local/bin; install rewrites that to
/// --prefix, here /usr). Returns how many it named.
fn assert_names_only_installed_binaries(root: &Path, text: &str, file: &Path) -> usize {
    let ours = ours();
    let mut named = 0;
    for word in text.split(|c: char| c.is_whitespace() || "\"'=;:".contains(c)) {
        let name = |prefix| {
            word.strip_prefix(prefix)
                .filter(|n| ours.iter().any(|o| o == n))
        };
        assert!(
            name("/usr/local/bin/").is_none(),
            "{} still names {word}",
            file.display()
        );
        if let Some(name) = name("/usr/bin/") {
            let path = root.join("usr/bin").join(name);
            assert!(
                path.is_file(),
                "{} names missing {}",
                file.display(),
                path.display()
            );
            named += 1;
        }
    }
    named
}

#[test]
fn units_name_the_installed_binaries_and_every_contrib_unit_is_installed() {
    let root = tempdir().unwrap();
    install(root.path(), &["--timers"]).expect_code(0);
    let units = root.path().join("etc/systemd/system");
    let mut named = 0;
    for entry in fs::read_dir(repo().join("contrib/systemd")).unwrap() {
        let shipped = entry.unwrap().path();
        let name = shipped.file_name().unwrap();
        let unit_or_dropins = ["service", "timer", "slice", "socket", "path", "target", "d"];
        if !shipped
            .extension()
            .is_some_and(|e| unit_or_dropins.iter().any(|u| e == *u))
        {
            continue;
        }
        let copy = units.join(name);
        assert!(copy.exists(), "{} was not installed", shipped.display());
        let files = if copy.is_dir() {
            fs::read_dir(&copy)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect()
        } else {
            vec![copy]
        };
        for file in files {
            let text = fs::read_to_string(&file).unwrap();
            named += assert_names_only_installed_binaries(root.path(), &text, &file);
        }
    }
    assert!(
        named > 0,
        "no unit names a selfheal binary: the check above saw nothing"
    );
    assert!(
        !root.path().join("etc/cron.d").exists(),
        "--timers also installed cron jobs"
    );
}

#[test]
fn cron_choice_installs_cron_jobs_cron_will_read() {
    let root = tempdir().unwrap();
    install(root.path(), &["--cron"]).expect_code(0);
    assert!(
        !root.path().join("etc/systemd").exists(),
        "--cron also installed units"
    );
    let jobs: Vec<PathBuf> = fs::read_dir(root.path().join("etc/cron.d"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!jobs.is_empty(), "no cron jobs installed");
    for job in jobs {
        let name = job.file_name().unwrap().to_string_lossy().into_owned();
        // cron skips /etc/cron.d files whose names hold anything else.
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "cron would ignore {name}"
        );
        let text = fs::read_to_string(&job).unwrap();
        assert_names_only_installed_binaries(root.path(), &text, &job);
    }
}

#[test]
fn bad_arguments_exit_3_and_say_what_was_wrong() {
    let root = tempdir().unwrap();
    install(root.path(), &["--bogus"])
        .expect_code(3)
        .stderr_has("'--bogus'");
    install(root.path(), &["--purge"])
        .expect_code(3)
        .stderr_has("--uninstall");
    Cmd::new(repo().join("scripts/install"))
        .args(["--prefix", "relative/dir", "--dry-run"])
        .run()
        .expect_code(3)
        .stderr_has("relative/dir");
    Cmd::new(repo().join("scripts/install"))
        .args(["--prefix", "/opt/self heal", "--dry-run"])
        .run()
        .expect_code(3)
        .stderr_has("'/opt/self heal'");
    assert!(listing(root.path()).is_empty());
}

#[test]
fn uninstall_keeps_state_and_purge_removes_it_with_our_metrics_only() {
    let root = tempdir().unwrap();
    install(root.path(), &[]).expect_code(0);
    let state = root.path().join("var/lib/selfheal");
    let textfiles = root.path().join("var/lib/prometheus/node-exporter");
    // What the installed loop leaves: state, its metrics, and another
    // exporter's metrics beside them.
    Cmd::new(root.path().join("usr/bin/restart-guard"))
        .arg("status")
        .arg("--state-dir")
        .arg(&state)
        .arg("--textfile")
        .arg(textfiles.join("restart_guard.prom"))
        .run()
        .expect_code(0);
    fs::write(textfiles.join("smartmon.prom"), "node_smartmon_up 1\n").unwrap();
    fs::write(state.join("restart-guard.audit.jsonl"), "{}\n").unwrap();

    install(root.path(), &["--uninstall"])
        .expect_code(0)
        .stdout_has("kept /var/lib/selfheal: it holds state (--purge removes it)");
    assert!(state.join("restart-guard.audit.jsonl").is_file());
    assert!(!root.path().join("usr/bin/restart-guard").exists());

    install(root.path(), &["--uninstall", "--purge"])
        .expect_code(0)
        .stdout_has(
            "remove /var/lib/prometheus/node-exporter/restart_guard.prom (selfheal metrics)",
        );
    assert!(!state.exists(), "--purge left the state");
    assert!(!textfiles.join("restart_guard.prom").exists());
    assert!(
        textfiles.join("smartmon.prom").is_file(),
        "--purge removed another exporter's file"
    );
}
