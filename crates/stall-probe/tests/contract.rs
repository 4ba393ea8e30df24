//! The command-line contract every selfheal binary keeps.

use selfheal_test_support::{Cmd, contract};

const BIN: &str = env!("CARGO_BIN_EXE_stall-probe");

#[test]
fn usage_errors_exit_3_and_help_teaches() {
    contract::assert_cli_contract(BIN, "stall-probe", env!("CARGO_PKG_VERSION"));
    for sub in ["age", "trend"] {
        Cmd::new(BIN)
            .args([sub, "--help"])
            .run()
            .expect_code(0)
            .stdout_has("Exit codes")
            .stdout_has(&format!("stall-probe {sub} --"));
    }
}

#[test]
fn mistakes_found_after_parsing_are_usage_errors_too() {
    let cases: [&[&str]; 11] = [
        &["age", "--file", "/x", "--warn", "10m", "--crit", "5m"],
        &["age", "--file", "/x", "--crit", "5m", "--sample-for", "1s"],
        &[
            "age",
            "--query",
            "select 1",
            "--crit",
            "5m",
            "--consecutive",
            "2",
        ],
        &["trend", "--pid", "1", "--saturated-at", "1.5"],
        &[
            "trend",
            "--pid",
            "1",
            "--sample-for",
            "1s",
            "--interval",
            "2s",
        ],
        // 3 samples can never reach --min-samples 4: OK ("collecting") forever.
        &[
            "trend",
            "--pid",
            "1",
            "--sample-for",
            "2s",
            "--interval",
            "1s",
        ],
        &[
            "trend",
            "--pid",
            "1",
            "--sample-for",
            "20s",
            "--interval",
            "5s",
            "--min-samples",
            "6",
        ],
        // 86 million samples, all kept in memory: refused before sampling.
        &[
            "trend",
            "--pid",
            "1",
            "--sample-for",
            "1d",
            "--interval",
            "1ms",
        ],
        // 0s is not "no limit" (PostgreSQL's statement_timeout 0 is).
        &[
            "age",
            "--query",
            "select now()",
            "--crit",
            "1m",
            "--statement-timeout",
            "0s",
        ],
        &[
            "age",
            "--http",
            "http://127.0.0.1:9/",
            "--json-pointer",
            "/t",
            "--crit",
            "1m",
            "--http-timeout",
            "0s",
        ],
        // A window that keeps nothing never judges either.
        &["trend", "--pid", "1", "--window", "0s"],
    ];
    for args in cases {
        let run = Cmd::new(BIN).args(args).run().expect_code(3);
        assert!(run.stdout.is_empty(), "{run}");
        assert!(run.stderr.contains("stall-probe: --"), "{run}");
    }
    Cmd::new(BIN)
        .run()
        .expect_code(3)
        .stderr_has("stall-probe age");
    // pid 0 is no process (an empty pid file): not CRITICAL "gone", which
    // would trigger a restart.
    let zero: [&[&str]; 2] = [
        &["age", "--pid", "0", "--crit", "1m"],
        &["trend", "--pid", "0"],
    ];
    for args in zero {
        Cmd::new(BIN)
            .args(args)
            .run()
            .expect_code(3)
            .stderr_has("invalid value '0' for '--pid <PID>'");
    }
}
