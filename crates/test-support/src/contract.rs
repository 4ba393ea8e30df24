//! The command-line contract every selfheal binary keeps (README "Exit
//! codes"), checked against the real binary by each tool's own test: a usage
//! error exits 3, never 2, so a typo in a timer unit cannot look CRITICAL and
//! trigger a restart; `--help` teaches and exits 0; `--version` works.

use crate::Cmd;

/// Checks usage errors, `--help` and `--version` of the binary at `bin`.
#[track_caller]
pub fn assert_cli_contract(bin: &str, name: &str, version: &str) {
    Cmd::new(bin)
        .arg("--no-such-flag")
        .run()
        .expect_code(3)
        .stderr_has("--no-such-flag");
    Cmd::new(bin)
        .args(["--format", "yaml"])
        .run()
        .expect_code(3)
        .stderr_has("yaml");
    Cmd::new(bin)
        .arg("--help")
        .run()
        .expect_code(0)
        .stdout_has("Exit codes")
        .stdout_has("Example")
        .stdout_has(&format!("{name} "));
    Cmd::new(bin)
        .arg("--version")
        .run()
        .expect_code(0)
        .stdout_has(&format!("{name} {version}"));
}
