//! Every example in every `--help` runs as written. A user copies them
//! first; one that is a usage error, or that only works on the author's
//! machine, teaches the wrong thing. Services they name get stand-ins
//! (`systemctl`, `notify-send`, `journalctl` that succeed), state and
//! textfiles go to a temp dir, and each example must get past parsing:
//! exit 0, 1 or 2, or a report on stdout (UNKNOWN: could not tell here).

use selfheal_test_support::{TOOLS, bin, tempdir};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// The textfile directory the examples use (Debian's), redirected here.
const TEXTFILE_DIR: &str = "/var/lib/prometheus/node-exporter";

const STAND_INS: [(&str, &str); 3] = [
    (
        "systemctl",
        "case \"$1\" in show) printf 'NRestarts=0\\nLoadState=loaded\\nActiveState=active\\nSubState=running\\nMainPID=0\\n';; esac",
    ),
    ("notify-send", ":"),
    ("journalctl", ":"),
];

/// The example lines of a help text: the indented lines after a line that
/// starts with "Example", with `\` continuations joined.
fn examples(help: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_examples = false;
    let mut pending = String::new();
    for line in help.lines() {
        if line.starts_with("Example") {
            in_examples = true;
            continue;
        }
        if !in_examples {
            continue;
        }
        if !line.starts_with("  ") {
            in_examples = false;
            continue;
        }
        let text = line.trim();
        if text.starts_with('#') {
            continue;
        }
        if let Some(head) = text.strip_suffix('\\') {
            pending.push_str(head);
        } else {
            pending.push_str(text);
            found.push(std::mem::take(&mut pending));
        }
    }
    found
}

fn help(tool: &str, sub: Option<&str>) -> String {
    let mut command = Command::new(bin(tool));
    // Examples must not wrap mid-command in an 80-column terminal.
    command.args(sub).arg("--help").env("COLUMNS", "80");
    String::from_utf8(command.output().expect("run --help").stdout).expect("utf-8 help")
}

fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

fn stand_ins(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    for (name, body) in STAND_INS {
        let path = dir.join(name);
        fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn every_help_example_runs_as_written() {
    let work = tempdir().unwrap();
    let stand_in_dir = work.path().join("bin");
    stand_ins(&stand_in_dir);
    let textfiles = work.path().join("textfile");
    fs::create_dir_all(&textfiles).unwrap();
    // Examples read `< metrics.prom` from the current directory.
    let metrics = "# HELP demo_up Up.\n# TYPE demo_up gauge\ndemo_up 1\n";
    fs::write(work.path().join("metrics.prom"), metrics).unwrap();
    let build_dir = bin("restart-guard").parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}:/usr/bin:/bin",
        stand_in_dir.display(),
        build_dir.display()
    );
    let mut failures = Vec::new();
    let mut ran = 0;
    for tool in TOOLS {
        let top = help(tool, None);
        let mut texts = vec![top.clone()];
        texts.extend(subcommands(&top).iter().map(|sub| help(tool, Some(sub))));
        for example in texts.iter().flat_map(|h| examples(h)) {
            let command = example.replace(TEXTFILE_DIR, &textfiles.display().to_string());
            let out = Command::new("timeout")
                .args(["30", "sh", "-c", &command])
                .env_clear()
                .env("PATH", &path)
                .env("HOME", work.path())
                .env("SELFHEAL_STATE_DIR", work.path().join("state"))
                .current_dir(work.path())
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run sh");
            ran += 1;
            let code = out.status.code();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let usage_error =
                String::from_utf8_lossy(&out.stderr).contains("For more information, try '--help'");
            let reported = matches!(code, Some(0..=2)) || !stdout.trim().is_empty();
            if usage_error || !reported {
                failures.push(format!(
                    "{tool}: `{example}` exited {code:?}\nstdout: {stdout}\nstderr: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }
    assert!(ran >= TOOLS.len(), "found only {ran} examples");
    assert!(
        failures.is_empty(),
        "{} example(s) do not run:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn examples_are_found_with_their_continuations() {
    let help = "About.\n\nExample:\n  # a comment\n  tool --a \\\n      --b\n  tool c\n\nMore text.\n  not an example\n";
    assert_eq!(examples(help), ["tool --a --b", "tool c"]);
}
