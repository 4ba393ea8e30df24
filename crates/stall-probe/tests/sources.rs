//! `age` from a file, an HTTP JSON endpoint and a systemd unit (through a
//! fake systemctl: PID 1 is not systemd on the build machines), and
//! `--consecutive` across runs.

mod common;

use common::{json, probe, python_ready};
use selfheal_test_support::http::{HttpServer, Reply};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn a_file_by_mtime_or_by_the_time_inside() {
    let dir = selfheal_test_support::tempdir().unwrap();
    let beat = dir.path().join("heartbeat");
    std::fs::write(&beat, format!("{}\n", unix_now() - 120.0)).unwrap();
    let file = |content: &str| {
        probe().args(["age", "--file"]).arg(&beat).args([
            "--content",
            content,
            "--warn",
            "1m",
            "--crit",
            "5m",
        ])
    };
    file("mtime").run().expect_code(0);
    file("unix")
        .run()
        .expect_code(1)
        .stdout_has("last progress 2m");
    std::fs::write(&beat, "2020-01-01T00:00:00Z\n").unwrap();
    file("rfc3339")
        .run()
        .expect_code(2)
        .stdout_has(">= crit 5m");
    file("unix")
        .run()
        .expect_code(3)
        .stdout_has("'2020-01-01T00:00:00Z' is not Unix seconds");
    // A writer whose clock runs a day ahead must not look fresh for ever.
    std::fs::write(&beat, format!("{}\n", unix_now() + 86_399.5)).unwrap();
    file("unix")
        .run()
        .expect_code(1)
        .stdout_has("h59m59s in the future");
    probe()
        .args(["age", "--file"])
        .arg(dir.path().join("missing"))
        .args(["--crit", "5m"])
        .run()
        .expect_code(3)
        .stdout_has("No such file");
}

#[test]
fn critical_only_after_consecutive_runs() {
    let dir = selfheal_test_support::tempdir().unwrap();
    let beat = dir.path().join("beat");
    std::fs::write(&beat, "1000\n").unwrap();
    let run = || {
        probe()
            .args([
                "age",
                "--content",
                "unix",
                "--crit",
                "1m",
                "--consecutive",
                "2",
                "--name",
                "agent-BTC",
                "--file",
            ])
            .arg(&beat)
            .arg("--state-dir")
            .arg(dir.path())
    };
    run()
        .run()
        .expect_code(1)
        .stdout_has("critical in 1 of 2 consecutive runs needed");
    run().run().expect_code(2);
    std::fs::write(&beat, format!("{}\n", unix_now())).unwrap();
    run().run().expect_code(0);
    std::fs::write(&beat, "1000\n").unwrap();
    run().run().expect_code(1);
}

fn status_server() -> HttpServer {
    HttpServer::start(
        |request| match request.path.split('?').next().unwrap_or_default() {
            "/status" => Reply::json(format!(
                r#"{{"worker": {{"last_tick": {}, "idle_seconds": 42}}, "at": "2020-01-01T00:00:00Z"}}"#,
                unix_now() - 5.0
            )),
            "/slow" => Reply::json("{}").after(Duration::from_secs(20)),
            "/huge" => Reply::json(format!(r#"{{"pad": "{}"}}"#, "x".repeat(2 << 20))),
            "/html" => Reply::json("<html>"),
            _ => Reply {
                status: 500,
                body: "oops".into(),
                delay: Duration::ZERO,
            },
        },
    )
}

#[test]
fn a_time_or_an_age_inside_json() {
    let server = status_server();
    let http = |path: &str, pointer: &str| {
        probe().args([
            "age",
            "--http",
            &format!("{}{path}", server.url()),
            "--json-pointer",
            pointer,
            "--warn",
            "30s",
            "--crit",
            "1h",
        ])
    };
    http("/status", "/worker/last_tick")
        .run()
        .expect_code(0)
        .stdout_has("/worker/last_tick of http://");
    http("/status", "/worker/idle_seconds")
        .args(["--json-value", "age"])
        .run()
        .expect_code(1);
    http("/status", "/at").run().expect_code(2);
    // A token in the query string is a secret too: in no output, label or file.
    let dir = selfheal_test_support::tempdir().unwrap();
    let textfile = dir.path().join("stall.prom");
    for format in ["text", "json", "prom"] {
        let run = http("/status?token=hunter2", "/worker/last_tick")
            .args(["--format", format, "--textfile"])
            .arg(&textfile)
            .run()
            .expect_code(0)
            .stdout_has("token=***");
        assert!(!run.stdout.contains("hunter2"), "{run}");
        assert!(!run.stderr.contains("hunter2"), "{run}");
        let written = std::fs::read_to_string(&textfile).unwrap();
        assert!(!written.contains("hunter2"), "{written}");
    }
    http("/status", "/nope")
        .run()
        .expect_code(3)
        .stdout_has("no value at --json-pointer /nope");
    http("/html", "/x")
        .run()
        .expect_code(3)
        .stdout_has("not JSON");
    http("/error", "/x")
        .run()
        .expect_code(3)
        .stdout_has("HTTP 500");
}

#[test]
fn a_slow_or_huge_answer_is_bounded() {
    let server = status_server();
    let started = Instant::now();
    probe()
        .args([
            "age",
            "--http",
            &format!("{}/slow", server.url()),
            "--json-pointer",
            "/x",
            "--crit",
            "1m",
            "--http-timeout",
            "500ms",
        ])
        .run()
        .expect_code(3)
        .stdout_has("--http http://");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    probe()
        .args([
            "age",
            "--http",
            &format!("{}/huge", server.url()),
            "--json-pointer",
            "/x",
            "--crit",
            "1m",
        ])
        .run()
        .expect_code(3)
        .stdout_has("larger than 1048576 bytes");
}

/// A fake systemctl answering `show` from a file the test writes.
fn fake_systemctl(dir: &Path, show: &str) -> PathBuf {
    let answer = dir.join("show.txt");
    std::fs::write(&answer, show).unwrap();
    let path = dir.join("systemctl");
    std::fs::write(&path, format!("#!/bin/sh\ncat '{}'\n", answer.display())).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_unit_is_checked_layer_by_layer() {
    let dir = selfheal_test_support::tempdir().unwrap();
    let worker = python_ready("import time; print('ready', flush=True); time.sleep(600)");
    let active = format!(
        "LoadState=loaded\nActiveState=active\nSubState=running\nMainPID={}\nNRestarts=2\n",
        worker.id()
    );
    let unit = |show: &str| {
        probe()
            .args([
                "age",
                "--unit",
                "trader@BTC.service",
                "--crit",
                "1h",
                "--format",
                "json",
                "--systemctl",
            ])
            .arg(fake_systemctl(dir.path(), show))
            .arg("--state-dir")
            .arg(dir.path())
    };
    let run = unit(&active).run().expect_code(0);
    let report = json(&run);
    let checks: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["unit", "progress:trader@BTC.service"], "{run}");
    assert!(
        run.stdout
            .contains("\"name\":\"selfheal_stall_probe_unit_restarts\""),
        "{run}"
    );
    let failed = "LoadState=loaded\nActiveState=failed\nSubState=failed\nMainPID=0\nNRestarts=5\n";
    unit(failed)
        .run()
        .expect_code(2)
        .stdout_has("unit trader@BTC.service is failed/failed, not active");
    unit(&active.replace(&format!("MainPID={}", worker.id()), "MainPID=0"))
        .run()
        .expect_code(2)
        .stdout_has("no main process");
}

#[test]
fn trend_follows_the_main_process_of_a_unit() {
    let dir = selfheal_test_support::tempdir().unwrap();
    let worker = python_ready("import time; print('ready', flush=True); time.sleep(600)");
    let show = format!(
        "LoadState=loaded\nActiveState=active\nSubState=running\nMainPID={}\nNRestarts=0\n",
        worker.id()
    );
    let trend = |show: &str| {
        probe()
            .args([
                "trend",
                "--unit",
                "ollama.service",
                "--sample-for",
                "600ms",
                "--interval",
                "200ms",
                "--systemctl",
            ])
            .arg(fake_systemctl(dir.path(), show))
            .arg("--state-dir")
            .arg(dir.path())
            .run()
    };
    trend(&show)
        .expect_code(0)
        .stdout_has("STALL OK - ollama.service: stable");
    trend("LoadState=loaded\nActiveState=activating\nSubState=auto-restart\nMainPID=0\n")
        .expect_code(2)
        .stdout_has("unit ollama.service is activating/auto-restart, not active");
}

#[test]
fn without_systemd_a_unit_is_unknown_and_says_what_to_use() {
    probe()
        .args([
            "age",
            "--unit",
            "x.service",
            "--crit",
            "1h",
            "--systemctl",
            "/nonexistent/systemctl",
            "--state-dir",
        ])
        .arg(selfheal_test_support::tempdir().unwrap().path())
        .run()
        .expect_code(3)
        .stdout_has("--unit needs systemd; watch the process itself with --pid or --process");
}

#[test]
fn metrics_pass_promtool() {
    selfheal_test_support::require("promtool", "prometheus");
    let dir = selfheal_test_support::tempdir().unwrap();
    let beat = dir.path().join("beat");
    std::fs::write(&beat, "x").unwrap();
    let textfile = dir.path().join("stall.prom");
    let run = probe()
        .args([
            "age", "--warn", "1m", "--crit", "5m", "--format", "prom", "--file",
        ])
        .arg(&beat)
        .arg("--textfile")
        .arg(&textfile)
        .run()
        .expect_code(0);
    let worker = python_ready("import time; print('ready', flush=True); time.sleep(600)");
    let trend = probe()
        .args([
            "trend",
            "--pid",
            &worker.id().to_string(),
            "--sample-for",
            "400ms",
            "--interval",
            "100ms",
            "--format",
            "prom",
            "--state-dir",
        ])
        .arg(dir.path())
        .run()
        .expect_code(0);
    for text in [
        run.stdout.as_str(),
        &std::fs::read_to_string(&textfile).unwrap(),
        &trend.stdout,
    ] {
        let out = selfheal_test_support::Cmd::new("promtool")
            .args(["check", "metrics"])
            .stdin(text)
            .run();
        assert_eq!(out.code(), 0, "{out}\n{text}");
    }
    assert!(
        json(
            &probe()
                .args(["age", "--crit", "5m", "--format", "json", "--file"])
                .arg(&beat)
                .run()
        )["metrics"]
            .is_array()
    );
}
