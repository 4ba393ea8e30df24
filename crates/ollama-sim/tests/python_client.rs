//! The wire format checked by Ollama's official Python client (`pip install
//! ollama`): list, ps, generate streaming and not, embed, errors, each
//! parsed into the client's own types.

mod common;

use selfheal_test_support::{Cmd, require};

#[test]
fn official_python_client_reads_every_answer() {
    require("python3", "python3");
    let sim = common::sim(&[]);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/official_client.py"
    );
    let run = Cmd::new("python3").arg(script).arg(sim.url()).run();
    assert_ne!(
        run.code(),
        97,
        "Ollama's Python client is not installed: run `pip install ollama` (scripts/test installs it)\n{run}"
    );
    run.expect_code(0).stdout_has("official client OK");
}
