//! The command-line contract every selfheal binary keeps, and port-reaper's
//! own usage errors (exit 3, never 2, and nothing signalled).

use selfheal_test_support::{Cmd, contract};

const BIN: &str = env!("CARGO_BIN_EXE_port-reaper");

#[test]
fn usage_errors_exit_3_and_help_teaches() {
    contract::assert_cli_contract(BIN, "port-reaper", env!("CARGO_PKG_VERSION"));
}

#[test]
fn killing_without_an_allow_filter_is_a_usage_error() {
    Cmd::new(BIN)
        .arg("8080")
        .run()
        .expect_code(3)
        .stderr_has("refusing to signal without an allow-filter")
        .stderr_has("--list");
}

#[test]
fn bad_targets_and_values_say_what_is_wrong() {
    for (args, needle) in [
        (vec!["--list", "0"], "1-65535"),
        (vec!["--list", "70000"], "not a port"),
        (vec!["--list", "::1:80"], "brackets"),
        (vec!["--list", "localhost:80"], "not resolved"),
        (vec!["--only-comm", "(", "80"], "--only-comm"),
        (
            vec!["--only-user", "no-such-user-here", "80"],
            "no such user",
        ),
        (vec!["--only-exe", "node", "80"], "absolute path"),
        // `--only-comm "$APP"` with APP unset must not mean "any holder".
        (vec!["--only-comm", "", "80"], "--only-comm is empty"),
        (vec!["--only-unit", "", "80"], "--only-unit is empty"),
        (vec!["--list", "[::1]"], "no port"),
        // Unbindable without a zone: it used to read as "free".
        (vec!["--list", "[fe80::1]:80"], "link-local"),
        (vec!["--any", "--grace", "5", "80"], "5"),
        (
            vec!["--any", "--stop-unit", "--kill-supervised", "80"],
            "--kill-supervised",
        ),
    ] {
        Cmd::new(BIN)
            .args(&args)
            .run()
            .expect_code(3)
            .stderr_has(needle);
    }
}
