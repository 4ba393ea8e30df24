//! Helpers for tests that spawn the real binaries: a command runner whose
//! failed assertions print the command, status, stdout and stderr; a child
//! guard that kills on `Drop`; the path of a workspace binary; a scripted
//! loopback HTTP server and a throwaway PostgreSQL cluster, both stopped on `Drop`;
//! the fake NVML library for tests without a GPU.

// Assertions return the run for chaining; dropping it after the last one is normal.
#![allow(clippy::must_use_candidate, clippy::return_self_not_must_use)]

pub mod contract;
pub mod fake_nvml;
pub mod http;
pub mod mount;
pub mod node_exporter;
pub mod ollama_sim;
pub mod postgres;

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

pub use tempfile::{TempDir, tempdir};

/// Every selfheal binary, for tests of the contract they all keep.
pub const TOOLS: [&str; 6] = [
    "ollama-frozen-check",
    "gpu-probe",
    "stall-probe",
    "port-reaper",
    "restart-guard",
    "metrics-textfile",
];

/// Path of a workspace binary, found beside the running test executable
/// (`target/<profile>/deps/test-xxxx` → `target/<profile>/<name>`).
/// Prefer `env!("CARGO_BIN_EXE_<name>")` inside the binary's own package.
#[must_use]
pub fn bin(name: &str) -> PathBuf {
    let path = profile_dir().join(name);
    assert!(
        path.exists(),
        "binary {} not found: run `cargo build --workspace` (or `cargo test --workspace`) first",
        path.display()
    );
    path
}

/// `target/<profile>`, from the running test executable's place
/// (`target/<profile>/deps/test-xxxx`).
#[must_use]
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps")
        .to_owned()
}

/// A command to run, with everything needed to explain a failure.
pub struct Cmd {
    command: Command,
    stdin: Option<Vec<u8>>,
}

/// A plain `Command` for `program` that does not inherit a developer's
/// selfheal settings, for tests that spawn many processes or kill them.
pub fn clean_command(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    for var in [
        "SELFHEAL_FORMAT",
        "SELFHEAL_TEXTFILE",
        "SELFHEAL_STATE_DIR",
        "STATE_DIRECTORY",
        "SELFHEAL_FAKE_CLOCK",
    ] {
        command.env_remove(var);
    }
    command
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Cmd {
            command: clean_command(program),
            stdin: None,
        }
    }

    #[must_use]
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    #[must_use]
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Self {
        self.command.args(args);
        self
    }

    #[must_use]
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Runs with the fake clock at `unix` seconds (same boot throughout).
    #[must_use]
    pub fn at(self, unix: f64) -> Self {
        self.env("SELFHEAL_FAKE_CLOCK", format!("unix={unix}"))
    }

    #[must_use]
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    /// Starts the command without waiting, killed when the guard drops.
    pub fn spawn(mut self) -> ChildGuard {
        self.command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        ChildGuard(Some(self.command.spawn().expect("spawn")))
    }

    /// Runs to completion and captures its output.
    pub fn run(mut self) -> Run {
        let line = describe(&self.command);
        self.command
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self
            .command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {line}: {e}"));
        if let Some(input) = self.stdin.take() {
            let mut pipe = child.stdin.take().expect("stdin piped");
            // A tool may exit before reading everything; that is its business.
            let _ = pipe.write_all(&input);
        }
        let output = child.wait_with_output().expect("wait");
        Run {
            line,
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

fn describe(command: &Command) -> String {
    let mut parts: Vec<OsString> = command
        .get_envs()
        .filter_map(|(k, v)| {
            v.map(|v| {
                let mut kv = k.to_os_string();
                kv.push("=");
                kv.push(v);
                kv
            })
        })
        .collect();
    parts.push(command.get_program().to_os_string());
    parts.extend(command.get_args().map(OsStr::to_os_string));
    parts
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A finished command.
#[derive(Debug)]
pub struct Run {
    pub line: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The exit code, or panics with the full picture if killed by a signal.
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal\n{self}"))
    }

    /// Asserts the exit code, printing everything when it differs.
    #[track_caller]
    pub fn expect_code(self, expected: i32) -> Self {
        assert_eq!(
            self.status.code(),
            Some(expected),
            "unexpected exit code\n{self}"
        );
        self
    }

    /// Asserts stdout contains `needle`.
    #[track_caller]
    pub fn stdout_has(self, needle: &str) -> Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{self}"
        );
        self
    }

    /// Asserts stderr contains `needle`.
    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{self}"
        );
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "command: {}\nstatus: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.line, self.status, self.stdout, self.stderr
        )
    }
}

/// A child process that is killed and reaped when dropped, so a failing
/// test leaves no stray processes behind.
pub struct ChildGuard(Option<Child>);

impl ChildGuard {
    #[must_use]
    pub fn id(&self) -> u32 {
        self.0.as_ref().expect("child").id()
    }

    pub fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("child")
    }

    /// Waits for the child and returns it, disarming the guard.
    pub fn into_inner(mut self) -> Child {
        self.0.take().expect("child")
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The names in `dir`, sorted: what a test expects a directory to hold
/// (no temp file left behind, nothing written).
#[must_use]
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Whether a program is on PATH (for tests that need a real peer tool).
#[must_use]
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Panics with install instructions unless `program` is on PATH: a test
/// that needs a real tool fails loudly rather than skipping silently.
#[track_caller]
pub fn require(program: &str, debian_package: &str) {
    assert!(
        on_path(program),
        "{program} is not installed: run scripts/test (it installs it) or `apt-get install {debian_package}`"
    );
}
