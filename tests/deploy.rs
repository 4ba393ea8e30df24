//! The fleet examples in `contrib/`: the Ansible playbook passes
//! `ansible-playbook --syntax-check` and, run twice against this host into a
//! throwaway root, installs once and then reports nothing changed; the Docker
//! Compose healthcheck's exact command maps ollama-frozen-check's verdicts
//! to Docker's healthy (0) and unhealthy (1) against the Ollama simulator.
//! (No Docker engine runs here: the command is run the way its shell would.)

use selfheal_test_support::ollama_sim::OllamaSim;
use selfheal_test_support::{Cmd, Run, bin, require, tempdir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn contrib(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../contrib")
        .join(path)
}

const ANSIBLE: &str = "run scripts/test (it installs ansible-core) or `pip install ansible-core`";

#[test]
fn the_playbook_passes_ansible_syntax_check() {
    require("ansible-playbook", ANSIBLE);
    let run = Cmd::new("ansible-playbook")
        .arg("--syntax-check")
        .arg(contrib("ansible/selfheal.yml"))
        .run()
        .expect_code(0);
    assert!(!run.stderr.contains("ERROR"), "{run}");
}

fn play(src: &Path, root: &Path, archive: &Path) -> Run {
    let python = Cmd::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .run()
        .expect_code(0);
    let build = bin("selfheal-docgen").parent().unwrap().to_path_buf();
    let vars = serde_json::json!({
        "ansible_python_interpreter": python.stdout.trim(),
        "ansible_become": false,
        "selfheal_src": src,
        "selfheal_archive": archive,
        "selfheal_install_args": ["--root", root, "--prefix", "/usr", "--bin-dir", build],
    });
    Cmd::new("ansible-playbook")
        .args(["-i", "localhost,", "-c", "local"])
        .arg(contrib("ansible/selfheal.yml"))
        .arg("-e")
        .arg(vars.to_string())
        .env("ANSIBLE_NOCOLOR", "1")
        .run()
        .expect_code(0)
}

fn recap_changed(run: &Run) -> u32 {
    let recap = run
        .stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("localhost "));
    recap
        .and_then(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("changed="))
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no PLAY RECAP for localhost\n{run}"))
}

/// The play packs the committed tree (git archive HEAD) and runs the
/// scripts/install inside it: uncommitted edits to the script are not tested here.
#[test]
fn the_playbook_installs_once_then_reports_nothing_changed() {
    require("ansible-playbook", ANSIBLE);
    let dir = tempdir().unwrap();
    let (src, root) = (dir.path().join("src"), dir.path().join("root"));
    std::fs::create_dir(&root).unwrap();
    let archive = dir.path().join("selfheal.tar.gz");
    let first = play(&src, &root, &archive);
    assert!(first.stdout.contains("changed: [localhost]"), "{first}");
    assert!(recap_changed(&first) >= 1, "{first}");
    assert!(
        src.join("scripts/install").is_file(),
        "the tree was not unpacked"
    );
    assert!(
        root.join("usr/bin/restart-guard").is_file(),
        "nothing was installed"
    );
    let second = play(&src, &root, &archive);
    assert_eq!(
        recap_changed(&second),
        0,
        "a second run changed something\n{second}"
    );
    // A host whose copy is of another commit gets a fresh tree: nothing an
    // older version shipped lingers for install's contrib/ globs to pick up.
    let stale = src.join("contrib/systemd/dropped.service");
    std::fs::write(&stale, "[Service]\n").unwrap();
    std::fs::remove_file(dir.path().join("src.tar.gz")).unwrap();
    play(&src, &root, &archive);
    assert!(
        !stale.exists(),
        "a file of the old tree survived the upgrade"
    );
    assert!(src.join("scripts/install").is_file());
}

/// The compose file as data (PyYAML, which ansible-core brings along).
fn compose() -> Value {
    let run = Cmd::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(contrib("docker/compose.yml"))
        .run()
        .expect_code(0);
    serde_json::from_str(&run.stdout).unwrap()
}

/// The healthcheck's shell command as the container's shell gets it
/// (compose turns `$$` into `$`), and the binary path it runs.
fn healthcheck_command() -> (String, String) {
    let ollama = &compose()["services"]["ollama"];
    assert!(
        ollama["image"]
            .as_str()
            .unwrap()
            .starts_with("ollama/ollama")
    );
    let test = ollama["healthcheck"]["test"].as_array().unwrap();
    assert_eq!(test[0], "CMD-SHELL", "{test:?}");
    let raw = test[1].as_str().unwrap();
    assert!(
        !raw.replace("$$", "").contains('$'),
        "compose would interpolate: {raw}"
    );
    let command = raw.replace("$$", "$");
    let binary = command
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches(';');
    let mounts: Vec<&str> = ollama["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        mounts.iter().any(|m| m.ends_with(&format!(":{binary}:ro"))),
        "{binary} is not mounted read-only: {mounts:?}"
    );
    (command.clone(), binary.to_owned())
}

/// Runs the healthcheck command with this build's binary against `url`.
fn health(url: &str, state: &Path) -> Run {
    let (command, binary) = healthcheck_command();
    let here = command.replace(&binary, bin("ollama-frozen-check").to_str().unwrap());
    Cmd::new("/bin/sh")
        .args(["-c", &here])
        .env("OLLAMA_FROZEN_CHECK_URL", url)
        .env("OLLAMA_FROZEN_CHECK_FREEZE_AFTER", "2s")
        .env("OLLAMA_FROZEN_CHECK_TIMEOUT", "4s")
        .env("SELFHEAL_STATE_DIR", state)
        .run()
}

#[test]
fn the_compose_healthcheck_is_healthy_on_ok_warning_and_unknown_only() {
    let sim = OllamaSim::start(&["--preload", "llama3.2:1b"]);
    let state = tempdir().unwrap();
    health(&sim.url(), state.path())
        .expect_code(0)
        .stdout_has("OK");

    let pid = sim.pid().to_string();
    Cmd::new("kill").args(["-STOP", &pid]).run().expect_code(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut warned = false;
    let last = loop {
        let run = health(&sim.url(), state.path());
        if run.stdout.contains("WARNING") {
            assert_eq!(
                run.code(),
                0,
                "a WARNING marked the container unhealthy\n{run}"
            );
            warned = true;
        }
        if run.stdout.contains("CRITICAL") || Instant::now() > deadline {
            break run;
        }
    };
    Cmd::new("kill").args(["-CONT", &pid]).run().expect_code(0);
    assert!(warned, "the freeze was never a WARNING first");
    last.expect_code(1).stdout_has("frozen");

    // UNKNOWN (it cannot tell, here a bad URL) must not restart anything.
    health("ftp://nowhere", state.path())
        .expect_code(0)
        .stderr_has("unknown scheme \"ftp\"");
}

#[test]
fn a_server_that_is_down_is_unhealthy() {
    let sim = OllamaSim::start(&["--preload", "llama3.2:1b"]);
    sim.set_fault("refuse");
    let state = tempdir().unwrap();
    health(&sim.url(), state.path())
        .expect_code(1)
        .stdout_has("CRITICAL");
}
