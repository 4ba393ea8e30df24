//! The command-line contract every selfheal binary keeps.

use selfheal_test_support::contract;

const BIN: &str = env!("CARGO_BIN_EXE_ollama-frozen-check");

#[test]
fn usage_errors_exit_3_and_help_teaches() {
    contract::assert_cli_contract(BIN, "ollama-frozen-check", env!("CARGO_PKG_VERSION"));
}
