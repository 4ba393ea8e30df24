//! Shared by the integration tests: run the real binary against a temp
//! state directory and read back what it wrote.

#![allow(dead_code)] // each test file uses a different subset

use selfheal_test_support::{Cmd, Run, clean_command, tempdir};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_restart-guard");

/// `restart-guard` with its state in DIR (through the environment, so the
/// same helper serves the default form and the subcommands).
pub fn guard(dir: &Path) -> Cmd {
    Cmd::new(BIN).env("SELFHEAL_STATE_DIR", dir)
}

/// The same as a plain `Command`, for tests that spawn many at once or kill.
pub fn raw(dir: &Path, args: &[&str]) -> Command {
    let mut command = clean_command(BIN);
    command
        .env("SELFHEAL_STATE_DIR", dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A CMD that appends one line to `file` (counting its runs).
pub fn counter(file: &Path) -> [String; 3] {
    [
        "sh".into(),
        "-c".into(),
        format!("echo run >> '{}'", file.display()),
    ]
}

/// Lines in a file (0 when it does not exist).
pub fn lines(file: &Path) -> usize {
    std::fs::read_to_string(file).map_or(0, |t| t.lines().count())
}

/// Every audit line, parsed; panics on a line that does not parse.
pub fn audit(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("restart-guard.audit.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad audit line {l:?}: {e}")))
        .collect()
}

/// Decisions in the audit log, in order.
pub fn decisions(dir: &Path) -> Vec<String> {
    audit(dir)
        .iter()
        .map(|r| r["decision"].as_str().unwrap().to_owned())
        .collect()
}

/// The name's state file, parsed.
pub fn state(dir: &Path, name: &str) -> Value {
    let text = std::fs::read_to_string(state_path(dir, name)).expect("state file");
    serde_json::from_str(&text).expect("state parses")
}

/// Where the name's state file lives.
pub fn state_path(dir: &Path, name: &str) -> std::path::PathBuf {
    dir.join("restart-guard").join(format!("{name}.json"))
}

/// Whether the tests run as root (who may switch user, mount, mknod).
pub fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// Every entry under `dir`, recursively, as sorted relative paths (empty
/// when it does not exist): what a run left behind.
pub fn tree(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(at) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else {
            continue;
        };
        for entry in entries.map(Result::unwrap) {
            let path = entry.path();
            found.push(path.strip_prefix(dir).unwrap().display().to_string());
            if entry.file_type().unwrap().is_dir() {
                todo.push(path);
            }
        }
    }
    found.sort();
    found
}

/// restart-guard as an unprivileged user, without HOME or XDG_STATE_HOME
/// unless `env` sets them: as root, through setpriv as nobody; as anyone
/// else, as that user.
pub fn as_user(env: &[(&str, &Path)], args: &[&str]) -> Run {
    let mut cmd = if is_root() {
        Cmd::new("setpriv").args(["--reuid", "nobody", "--regid", "nogroup", "--clear-groups"])
    } else {
        Cmd::new("setsid").arg("-w")
    };
    cmd = cmd.args(["env", "-u", "HOME", "-u", "XDG_STATE_HOME"]);
    for (key, value) in env {
        cmd = cmd.arg(format!("{key}={}", value.display()));
    }
    cmd.arg(BIN).args(args).run()
}

/// A temp dir anyone can write.
pub fn writable_dir() -> selfheal_test_support::TempDir {
    let dir = tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}
