use selfheal_test_support::Cmd;

const BIN: &str = env!("CARGO_BIN_EXE_gpu-probe");

#[test]
fn says_plainly_that_it_is_not_implemented_and_exits_unknown() {
    Cmd::new(BIN)
        .run()
        .expect_code(3)
        .stdout_has("GPU UNKNOWN - not implemented yet");
    let run = Cmd::new(BIN)
        .args(["--format", "json"])
        .run()
        .expect_code(3);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(json["status"], "unknown");
    assert_eq!(json["tool"], "gpu-probe");
}
