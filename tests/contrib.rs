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

fn files(sub: &str, extensions: &[&str]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(contrib(sub))
        .map(|entries| entries.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    found.retain(|p| {
        p.extension()
            .is_some_and(|e| extensions.iter().any(|x| e == *x))
    });
    found.sort();
    found
}

fn units() -> Vec<PathBuf> {
    files("systemd", &["service", "timer", "slice", "path", "socket"])
}

#[test]
fn every_unit_passes_systemd_analyze_verify_silently() {
    require("systemd-analyze", "systemd");
    let units = units();
    assert!(!units.is_empty(), "contrib/systemd has no units");
    // Units name /usr/local/bin/<tool>; point them at this build's binaries.
    let build_dir = bin("restart-guard").parent().unwrap().to_path_buf();
    let dir = tempdir().unwrap();
    let mut copies = Vec::new();
    for unit in &units {
        let text = fs::read_to_string(unit).unwrap();
        let text = text.replace("/usr/local/bin/", &format!("{}/", build_dir.display()));
        let copy = dir.path().join(unit.file_name().unwrap());
        fs::write(&copy, text).unwrap();
        copies.push(copy);
    }
    let run = Cmd::new("systemd-analyze")
        .arg("verify")
        .args(&copies)
        .run();
    assert!(
        run.status.success() && run.stdout.trim().is_empty() && run.stderr.trim().is_empty(),
        "systemd-analyze verify complained\n{run}"
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
    sources.extend(files("cron", &["cron", "crontab", "sh"]));
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
