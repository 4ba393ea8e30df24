//! The command line: usage errors exit 3 with a message that says what to
//! write, `--help` teaches, and the first stdout line carries the port.

use selfheal_test_support::Cmd;

const BIN: &str = env!("CARGO_BIN_EXE_ollama-sim");

#[test]
fn usage_errors_exit_3() {
    Cmd::new(BIN)
        .arg("--no-such-flag")
        .run()
        .expect_code(3)
        .stderr_has("--no-such-flag");
    Cmd::new(BIN)
        .args(["--fault", "frozen"])
        .run()
        .expect_code(3)
        .stderr_has("unknown fault 'frozen'")
        .stderr_has("wedged-runner");
    Cmd::new(BIN)
        .args(["--load-time", "200"])
        .run()
        .expect_code(3)
        .stderr_has("200s");
    Cmd::new(BIN)
        .args(["--preload", "nope"])
        .run()
        .expect_code(3)
        .stderr_has("--preload nope: no such model")
        .stderr_has("llama3.2:1b");
    Cmd::new(BIN)
        .args(["--model", ""])
        .run()
        .expect_code(3)
        .stderr_has("NAME[:SIZE_VRAM_BYTES]");
}

#[test]
fn help_and_version() {
    Cmd::new(BIN)
        .arg("--help")
        .run()
        .expect_code(0)
        .stdout_has("Exit codes")
        .stdout_has("Examples")
        .stdout_has("ollama-sim --preload llama3.2:1b")
        .stdout_has("scheduler-deadlock");
    Cmd::new(BIN)
        .arg("--version")
        .run()
        .expect_code(0)
        .stdout_has("ollama-sim 0.1.0");
}

#[test]
fn help_examples_fit_80_columns() {
    let run = Cmd::new(BIN).arg("--help").run();
    for line in run.stdout.lines() {
        assert!(line.len() <= 80, "{} columns: {line}", line.len());
    }
}

#[test]
fn models_given_on_the_command_line_replace_the_defaults() {
    let sim = selfheal_test_support::ollama_sim::OllamaSim::start_bin(
        std::path::Path::new(BIN),
        &[
            "--model",
            "qwen2.5:7b:4700000000",
            "--model",
            "bge-m3:embedding",
            "--preload",
            "qwen2.5:7b",
        ],
    );
    let tags = sim
        .request("GET", "/api/tags", None, std::time::Duration::from_secs(5))
        .unwrap()
        .json();
    let names: Vec<&str> = tags["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["qwen2.5:7b", "bge-m3:latest"]);
    let ps = sim
        .request("GET", "/api/ps", None, std::time::Duration::from_secs(5))
        .unwrap()
        .json();
    assert_eq!(ps["models"][0]["size_vram"], 4_700_000_000_u64);
}
