//! The contract every selfheal binary keeps (DESIGN.md "Exit codes"): a usage
//! error exits 3, never 2, so a typo in a timer unit cannot look CRITICAL and
//! trigger a restart; `--help` teaches and exits 0; `--version` works.

use selfheal_test_support::{Cmd, TOOLS, bin};

#[test]
fn unknown_flag_exits_3_for_every_binary() {
    for name in TOOLS {
        Cmd::new(bin(name))
            .arg("--no-such-flag")
            .run()
            .expect_code(3)
            .stderr_has("--no-such-flag");
    }
}

#[test]
fn bad_flag_value_exits_3_for_every_binary() {
    for name in TOOLS {
        Cmd::new(bin(name))
            .args(["--format", "yaml"])
            .run()
            .expect_code(3)
            .stderr_has("yaml");
    }
}

#[test]
fn help_explains_exit_codes_and_shows_an_example() {
    for name in TOOLS {
        Cmd::new(bin(name))
            .arg("--help")
            .run()
            .expect_code(0)
            .stdout_has("Exit codes")
            .stdout_has("Example")
            .stdout_has(&format!("{name} "));
    }
}

#[test]
fn version_prints_the_name_and_version() {
    for name in TOOLS {
        Cmd::new(bin(name))
            .arg("--version")
            .run()
            .expect_code(0)
            .stdout_has(&format!("{name} {}", env!("CARGO_PKG_VERSION")));
    }
}

#[test]
fn tools_not_built_yet_say_so_and_exit_unknown() {
    let (labels, tools) = (["OLLAMA", "GPU", "STALL", "PORT"], &TOOLS[..4]);
    for (label, name) in labels.iter().zip(tools) {
        Cmd::new(bin(name))
            .run()
            .expect_code(3)
            .stdout_has(&format!("{label} UNKNOWN - not implemented yet"));
        let run = Cmd::new(bin(name))
            .args(["--format", "json"])
            .run()
            .expect_code(3);
        let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
        assert_eq!(
            (json["tool"].as_str(), json["status"].as_str()),
            (Some(*name), Some("unknown"))
        );
    }
}
