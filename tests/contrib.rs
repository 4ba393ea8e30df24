//! The shipped compositions in `contrib/` are code: every systemd unit must
//! pass `systemd-analyze verify` with no output at all (it exits 0 on unknown
//! keys and bad values, so any line is a failure), every timer must name a
//! service that exists, and every selfheal flag a unit or cron line uses must
//! exist in that binary's `--help`.

use selfheal_test_support::{Cmd, TOOLS, bin, require, tempdir};
use std::fs;
use std::path::{Path, PathBuf};

fn contrib(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../contrib")
        .join(sub)
}

/// Files in contrib/SUB with one of `extensions` (any file when empty).
fn files(sub: &str, extensions: &[&str]) -> Vec<PathBuf> {
    let mut found = files_in(&contrib(sub));
    found.retain(|p| {
        extensions.is_empty()
            || p.extension()
                .is_some_and(|e| extensions.iter().any(|x| e == *x))
    });
    found
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    found.retain(|p| p.is_file());
    found.sort();
    found
}

fn units() -> Vec<PathBuf> {
    files("systemd", &["service", "timer", "slice", "path", "socket"])
}

/// The drop-in folders (`gateway.service.d/`) and the unit each extends.
fn drop_in_dirs() -> Vec<(PathBuf, String)> {
    let mut found: Vec<(PathBuf, String)> = fs::read_dir(contrib("systemd"))
        .unwrap()
        .filter_map(|e| {
            let path = e.ok()?.path();
            let unit = path.file_name()?.to_str()?.strip_suffix(".d")?.to_owned();
            path.is_dir().then_some((path, unit))
        })
        .collect();
    found.sort();
    found
}

/// The executables the units name, as an install puts them: the tools of
/// this build and the contrib scripts, at `/usr/local/bin/<name>`.
fn installed_executables() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = TOOLS.iter().map(|t| bin(t)).collect();
    found.extend(files("bin", &[]));
    found
}

/// A root holding systemd's own units, the executables at the paths the
/// units name, and the contrib units in /etc/systemd/system, with a
/// stand-in for each unit a drop-in extends.
fn install_root(root: &Path) -> Vec<PathBuf> {
    let usr_bin = root.join("usr/local/bin");
    fs::create_dir_all(&usr_bin).unwrap();
    for exe in installed_executables() {
        let to = usr_bin.join(exe.file_name().unwrap());
        if fs::hard_link(&exe, &to).is_err() {
            fs::copy(&exe, &to).unwrap();
        }
    }
    copy_tree(
        Path::new("/usr/lib/systemd/system"),
        &root.join("usr/lib/systemd/system"),
    );
    let etc = root.join("etc/systemd/system");
    copy_tree(&contrib("systemd"), &etc);
    let mut targets: Vec<PathBuf> = units()
        .iter()
        .map(|u| etc.join(u.file_name().unwrap()))
        .collect();
    for (_, unit) in drop_in_dirs() {
        let stand_in = etc.join(&unit);
        fs::write(
            &stand_in,
            "[Service]\nExecStart=/usr/local/bin/port-reaper --list 1\n",
        )
        .unwrap();
        targets.push(stand_in);
    }
    targets
}

/// Copies a folder, symlinks as symlinks (systemd's `.wants/` links).
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (path, kind) = (entry.path(), entry.file_type().unwrap());
        let target = to.join(entry.file_name());
        if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&path).unwrap(), &target).unwrap();
        } else if kind.is_dir() {
            copy_tree(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn every_unit_and_drop_in_passes_systemd_analyze_verify_silently() {
    require("systemd-analyze", "systemd");
    assert!(!units().is_empty(), "contrib/systemd has no units");
    assert!(
        !drop_in_dirs().is_empty(),
        "contrib/systemd has no drop-ins"
    );
    // Verified as installed: under --root, every ExecStart= path must exist
    // in that root, exactly as the unit names it.
    let root = tempdir().unwrap();
    let targets = install_root(root.path());
    let run = Cmd::new("systemd-analyze")
        .arg(format!("--root={}", root.path().display()))
        .arg("verify")
        .args(&targets)
        .run();
    assert!(
        run.status.success() && run.stdout.trim().is_empty() && run.stderr.trim().is_empty(),
        "systemd-analyze verify complained\n{run}"
    );
}

#[test]
fn verify_as_used_here_catches_a_missing_binary_and_a_bad_key() {
    require("systemd-analyze", "systemd");
    let root = tempdir().unwrap();
    let targets = install_root(root.path());
    fs::remove_file(root.path().join("usr/local/bin/selfheal-ollama-heal")).unwrap();
    let drop_in = root
        .path()
        .join("etc/systemd/system/gateway.service.d/port-reaper.conf");
    let mut text = fs::read_to_string(&drop_in).unwrap();
    text.push_str("KillModee=mixed\n");
    fs::write(&drop_in, text).unwrap();
    let run = Cmd::new("systemd-analyze")
        .arg(format!("--root={}", root.path().display()))
        .arg("verify")
        .args(&targets)
        .run();
    assert!(
        run.stderr
            .contains("selfheal-ollama-heal is not executable")
            && run.stderr.contains("KillModee"),
        "verify missed a broken install\n{run}"
    );
}

#[test]
fn every_timer_names_a_service_that_ships() {
    for timer in files("systemd", &["timer"]) {
        let text = fs::read_to_string(&timer).unwrap();
        let service = text
            .lines()
            .find_map(|l| l.strip_prefix("Unit="))
            .map_or_else(
                || timer.with_extension("service"),
                |name| contrib("systemd").join(name.trim()),
            );
        assert!(
            service.exists(),
            "{} triggers missing {}",
            timer.display(),
            service.display()
        );
    }
}

/// `--flag` words that follow one of our binaries on a command line.
fn flags_used(line: &str) -> Vec<(String, String)> {
    let mut used = Vec::new();
    let mut current: Option<&str> = None;
    for word in line.split_whitespace() {
        let word = word.trim_matches(|c| c == '\'' || c == '"');
        if let Some(tool) = TOOLS
            .iter()
            .find(|t| word.ends_with(&format!("/{t}")) || word == **t)
        {
            current = Some(tool);
        } else if word == "--" {
            current = None; // what follows is the wrapped command's argv
        } else if let (Some(tool), Some(flag)) = (current, word.strip_prefix("--")) {
            let flag = flag.split('=').next().unwrap_or(flag);
            used.push((tool.to_string(), format!("--{flag}")));
        }
    }
    used
}

#[test]
fn flags_in_units_and_cron_lines_exist_in_help() {
    let mut sources = units();
    sources.extend(drop_in_dirs().iter().flat_map(|(dir, _)| files_in(dir)));
    sources.extend(files("cron", &["cron", "crontab", "sh"]));
    sources.extend(files("bin", &[]));
    sources.extend(files("no-systemd", &[]));
    let mut checked = 0;
    for source in sources {
        let text = fs::read_to_string(&source).unwrap();
        for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
            for (tool, flag) in flags_used(line) {
                let help = Cmd::new(bin(&tool))
                    .arg("--help")
                    .run()
                    .expect_code(0)
                    .stdout;
                let sub_help = subcommand_help(&tool, line);
                assert!(
                    help.contains(&flag) || sub_help.contains(&flag),
                    "{} uses {tool} {flag}, which its --help does not list",
                    source.display()
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked > 0,
        "no selfheal flags found in contrib/: the check is blind"
    );
}

/// Help of a subcommand used on the line (`restart-guard status --help`).
fn subcommand_help(tool: &str, line: &str) -> String {
    let after = line.split(tool).nth(1).unwrap_or("");
    match after.split_whitespace().next() {
        Some(sub) if !sub.starts_with('-') => {
            Cmd::new(bin(tool)).args([sub, "--help"]).run().stdout
        }
        _ => String::new(),
    }
}

#[test]
fn sudoers_drop_in_passes_visudo() {
    require("visudo", "sudo");
    for file in files("sudoers", &[]) {
        Cmd::new("visudo")
            .arg("-cf")
            .arg(&file)
            .run()
            .expect_code(0);
    }
}

/// Cron is for machines without systemd timers: a line that needs
/// systemd fails exactly there, and output must go to a log, not mail.
#[test]
fn cron_lines_need_no_systemd_and_log_to_a_file() {
    let mut jobs = 0;
    for file in files("cron", &["cron", "crontab"]) {
        let text = fs::read_to_string(&file).unwrap();
        assert!(
            text.contains("MAILTO=\"\""),
            "{} may send cron mail",
            file.display()
        );
        let is_job = |l: &&str| l.starts_with(|c: char| c == '*' || c == '@' || c.is_ascii_digit());
        for line in text.lines().filter(is_job) {
            for systemd_only in [
                "systemctl",
                " loops ",
                "journalctl",
                "selfheal-restart-unit",
            ] {
                assert!(
                    !line.contains(systemd_only),
                    "{} needs systemd: {line}",
                    file.display()
                );
            }
            assert!(
                line.contains(">>/var/log/"),
                "{}: output of this line is not logged: {line}",
                file.display()
            );
            jobs += 1;
        }
    }
    assert!(jobs > 0, "no cron lines found: the check is blind");
}
