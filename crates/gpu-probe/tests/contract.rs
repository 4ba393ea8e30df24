//! The command-line contract every selfheal binary keeps.

use selfheal_test_support::contract;

const BIN: &str = env!("CARGO_BIN_EXE_gpu-probe");

#[test]
fn usage_errors_exit_3_and_help_teaches() {
    contract::assert_cli_contract(BIN, "gpu-probe", env!("CARGO_PKG_VERSION"));
}
