//! The processes a probe sees: runner children named and shaped like the
//! real ones, their own endpoints, and that freezing or killing processes
//! has the effects it has on a real server.

mod common;

use common::{EMBED_MODEL, MODEL, get, post_within, process_gone, runners, sim, wait_until};
use rustix::process::{Pid, Signal, kill_process};
use selfheal_test_support::ollama_sim::request;
use serde_json::json;
use std::time::Duration;

fn signal(pid: u64, sig: Signal) {
    let pid = Pid::from_raw(i32::try_from(pid).unwrap()).unwrap();
    kill_process(pid, sig).unwrap();
}

fn argv(pid: u64) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    raw.split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

fn parent(pid: u64) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit_once(')').unwrap().1;
    after.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn runners_look_like_llama_server_children() {
    let sim = sim(&["--preload", MODEL]);
    let runner = &runners(&sim)[0];
    let (pid, port) = (
        runner["pid"].as_u64().unwrap(),
        runner["port"].as_u64().unwrap(),
    );
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap(),
        "llama-server\n"
    );
    assert_eq!(parent(pid), u64::from(sim.pid()));
    let args = argv(pid);
    assert!(args[0].ends_with("/lib/ollama/llama-server"), "{args:?}");
    assert_eq!(args[1], "--model");
    assert!(args[2].contains("/blobs/sha256-"), "{args:?}");
    assert_eq!(
        (args[3].as_str(), args[4].clone()),
        ("--port", port.to_string())
    );
}

#[test]
fn runner_health_and_slots() {
    let sim = sim(&["--load-time", "2s"]);
    std::thread::scope(|scope| {
        scope.spawn(|| common::load(&sim, MODEL));
        wait_until(Duration::from_secs(5), "a runner starts", || {
            !runners(&sim).is_empty()
        });
        let port = runners(&sim)[0]["port"].as_u64().unwrap() as u16;
        wait_until(Duration::from_secs(5), "the runner listens", || {
            request(port, "GET", "/health", None, Duration::from_secs(1)).is_ok()
        });
        let loading = request(port, "GET", "/health", None, Duration::from_secs(2)).unwrap();
        assert_eq!(
            (loading.status, loading.json()),
            (503, json!({ "status": "loading model" }))
        );
        wait_until(Duration::from_secs(5), "the runner is loaded", || {
            request(port, "GET", "/health", None, Duration::from_secs(2))
                .unwrap()
                .status
                == 200
        });
        let ok = request(port, "GET", "/health", None, Duration::from_secs(2)).unwrap();
        assert_eq!(ok.json(), json!({ "status": "ok" }));
        let slots = request(port, "GET", "/slots", None, Duration::from_secs(2))
            .unwrap()
            .json();
        assert_eq!(slots[0]["n_ctx"], 4096);
        assert_eq!(slots[0]["is_processing"], false);
        assert!(slots[0]["next_token"]["n_decoded"].is_u64(), "{slots}");
    });
}

#[test]
fn old_style_runners_and_api() {
    let sim = sim(&["--runner-style", "old", "--preload", MODEL]);
    let runner = &runners(&sim)[0];
    let (pid, port) = (
        runner["pid"].as_u64().unwrap(),
        runner["port"].as_u64().unwrap() as u16,
    );
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap(),
        "ollama\n"
    );
    let args = argv(pid);
    assert!(
        args[0].ends_with("/ollama") && args[1] == "runner" && args[2] == "--model",
        "{args:?}"
    );
    let health = request(port, "GET", "/health", None, Duration::from_secs(2)).unwrap();
    assert_eq!(
        (health.status, health.json()),
        (200, json!({ "status": 0, "progress": 1.0 }))
    );
    assert_eq!(
        request(port, "GET", "/slots", None, Duration::from_secs(2))
            .unwrap()
            .status,
        404
    );
    assert_eq!(
        get(&sim, "/api/version").json(),
        json!({ "version": "0.5.4" })
    );
    let ps = common::ps(&sim);
    assert!(ps[0].get("context_length").is_none(), "{ps:?}");
    assert!(
        get(&sim, "/api/tags").json()["models"][0]
            .get("capabilities")
            .is_none()
    );
}

#[test]
fn runners_die_with_the_simulator() {
    let mut sim = sim(&["--preload", MODEL, "--preload", EMBED_MODEL]);
    let pids: Vec<u64> = runners(&sim)
        .iter()
        .map(|r| r["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids.len(), 2);
    sim.child().kill().unwrap();
    sim.child().wait().unwrap();
    wait_until(Duration::from_secs(5), "every runner is gone", || {
        pids.iter().all(|p| process_gone(*p))
    });
}

#[test]
fn a_stopped_server_accepts_but_never_answers() {
    let sim = sim(&[]);
    signal(u64::from(sim.pid()), Signal::STOP);
    let frozen = sim.request("HEAD", "/", None, Duration::from_secs(1));
    signal(u64::from(sim.pid()), Signal::CONT);
    let err = frozen.expect_err("a stopped server cannot answer");
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err}"
    );
    assert_eq!(get(&sim, "/").status, 200, "answers again once continued");
}

#[test]
fn a_stopped_runner_hangs_generate_but_not_ps() {
    let sim = sim(&["--preload", MODEL]);
    let pid = runners(&sim)[0]["pid"].as_u64().unwrap();
    signal(pid, Signal::STOP);
    let body = json!({ "model": MODEL, "prompt": "hi", "options": { "num_predict": 1 } });
    let hung = post_within(&sim, "/api/generate", &body, Duration::from_secs(2));
    assert_eq!(common::ps(&sim).len(), 1, "/api/ps still answers");
    signal(pid, Signal::CONT);
    assert!(
        hung.is_err(),
        "generate answered from a stopped runner: {hung:?}"
    );
    let r = post_within(&sim, "/api/generate", &body, Duration::from_secs(10)).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn sigterm_takes_the_runners_down_too() {
    let mut sim = sim(&["--preload", MODEL]);
    let pid = runners(&sim)[0]["pid"].as_u64().unwrap();
    signal(u64::from(sim.pid()), Signal::TERM);
    sim.child().wait().unwrap();
    wait_until(Duration::from_secs(5), "the runner is gone", || {
        process_gone(pid)
    });
}

#[test]
fn a_runner_killed_while_loading_fails_the_request_with_go_texts() {
    let sim = sim(&["--load-time", "5s"]);
    std::thread::scope(|scope| {
        let request =
            scope.spawn(|| common::post(&sim, "/api/generate", &json!({ "model": MODEL })));
        wait_until(Duration::from_secs(5), "a runner starts", || {
            !runners(&sim).is_empty()
        });
        signal(runners(&sim)[0]["pid"].as_u64().unwrap(), Signal::KILL);
        let r = request.join().unwrap();
        let expected = json!({ "error": "llama-server process has terminated: signal: killed" });
        assert_eq!((r.status, r.json()), (500, expected));
    });
    assert!(common::ps(&sim).is_empty());
}
