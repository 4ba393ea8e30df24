//! A careless or hostile user: credentials in URLs, garbage in
//! OLLAMA_HOST, FIFOs, devices and symlinks where files are expected, and
//! SIGTERM at any moment of a run.

mod common;

use common::{BIN, Checker, sim, wait_for};
use selfheal_test_support::Cmd;
use selfheal_test_support::http::{HttpServer, Reply};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const SECRET: &str = "s3cret-pw";

/// Every file name under `dir`, recursively, relative to it.
fn names(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() {
            out.extend(
                names(&entry.path())
                    .into_iter()
                    .map(|n| format!("{name}/{n}")),
            );
        }
        out.push(name);
    }
    out
}

fn no_secret(run: &selfheal_test_support::Run) {
    assert!(
        !run.stdout.contains(SECRET) && !run.stderr.contains(SECRET),
        "the password is shown\n{run}"
    );
}

#[test]
fn credentials_in_a_url_are_sent_as_basic_auth_and_never_shown() {
    let upstream = sim(&["--preload", "llama3.2:1b"]);
    let proxy = HttpServer::start(|_| Reply::json(r#"{"version":"0.33.0"}"#));
    let hop = proxy
        .url()
        .replace("http://", &format!("http://user:{SECRET}@"));
    let check = Checker::new(&upstream.url());
    for format in ["json", "text"] {
        let run = Cmd::new(BIN)
            .args(["--url", &upstream.url(), "--no-gpu", "--format", format])
            .args(["--hop", &format!("proxy={hop}"), "--state-dir"])
            .arg(check.state.path())
            .run()
            .expect_code(0);
        no_secret(&run);
    }
    let requests = proxy.requests();
    assert!(!requests.is_empty());
    for r in &requests {
        // base64("user:s3cret-pw")
        assert_eq!(
            r.header("authorization"),
            Some("Basic dXNlcjpzM2NyZXQtcHc=")
        );
    }
    // The server's own URL from OLLAMA_HOST, credentials and all.
    let with_auth = upstream
        .url()
        .replace("http://", &format!("http://user:{SECRET}@"));
    let run = Cmd::new(BIN)
        .env("OLLAMA_HOST", &with_auth)
        .args(["--no-gpu", "--format", "json", "--state-dir"])
        .arg(check.state.path())
        .run()
        .expect_code(0);
    no_secret(&run);
    let port = upstream.port();
    assert!(
        names(check.state.path())
            .iter()
            .all(|n| !n.contains(SECRET))
    );
    assert!(
        names(check.state.path()).contains(&format!("ollama-frozen-check/127.0.0.1-{port}.json"))
    );
}

#[test]
fn a_wrong_url_with_credentials_is_a_usage_error_that_hides_them() {
    let bad = format!("http://user:{SECRET}@127.0.0.1:notaport");
    let runs = [
        Cmd::new(BIN).args(["--url", &bad]).run(),
        Cmd::new(BIN).args(["--hop", &bad]).run(),
        Cmd::new(BIN).args(["--hop", &format!("p={bad}")]).run(),
        Cmd::new(BIN).env("OLLAMA_HOST", &bad).run(),
    ];
    for run in runs {
        no_secret(&run.expect_code(3));
    }
}

#[test]
fn garbage_in_ollama_host_is_a_usage_error_not_another_address() {
    let not_utf8 = OsString::from_vec(b"127.0.0.1:\xff\xfe".to_vec());
    let run = Cmd::new(BIN)
        .env("OLLAMA_HOST", &not_utf8)
        .run()
        .expect_code(3);
    assert!(run.stderr.contains("UTF-8"), "{run}");
    let huge = "a".repeat(100_000);
    for value in [
        huge.as_str(),
        "h\u{1}\u{1b}[31m:1",
        "host name:1",
        "127.0.0.1:1/\u{7}",
    ] {
        let run = Cmd::new(BIN).env("OLLAMA_HOST", value).run().expect_code(3);
        assert!(run.stderr.len() < 1000, "a short message\n{run}");
        assert!(!run.stderr.contains('\u{1b}'), "{run}");
    }
    let long_path = format!("http://127.0.0.1:1/{}", "p".repeat(100_000));
    let run = Cmd::new(BIN)
        .args(["--url", &long_path])
        .run()
        .expect_code(3);
    assert!(run.stderr.len() < 1000, "{run}");
}

#[test]
fn fifos_devices_and_directories_at_flag_paths_never_hang_the_check() {
    let server = sim(&["--preload", "llama3.2:1b"]);
    let check = Checker::new(&server.url());
    let dir = selfheal_test_support::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    for lib in [&fifo, Path::new("/dev/null"), dir.path(), &link] {
        let started = Instant::now();
        let run = Cmd::new(BIN)
            .arg("--nvml-lib")
            .arg(lib)
            .run()
            .expect_code(3);
        assert!(run.stderr.contains("not a regular file"), "{run}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    for log in [&fifo, Path::new("/dev/null"), &link] {
        let log = log.to_str().unwrap();
        let run = check.cmd(&["--log-file", log]).run().expect_code(0);
        assert!(run.stderr.contains("log not read"), "{run}");
    }
    for textfile in [&fifo, Path::new("/dev/null")] {
        let textfile = textfile.to_str().unwrap();
        check.cmd(&["--textfile", textfile]).run().expect_code(3);
    }
}

#[test]
fn fifos_and_symlinks_in_the_state_directory_are_refused() {
    let server = sim(&["--preload", "llama3.2:1b"]);
    let name = format!("127.0.0.1-{}", server.port());
    for file in [format!("{name}.json"), format!("{name}.lock")] {
        for planted in ["fifo", "symlink"] {
            let check = Checker::new(&server.url());
            let dir = check.state.path().join("ollama-frozen-check");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(&file);
            let victim = check.state.path().join("victim");
            if planted == "fifo" {
                assert!(
                    Command::new("mkfifo")
                        .arg(&path)
                        .status()
                        .unwrap()
                        .success()
                );
            } else {
                std::os::unix::fs::symlink(&victim, &path).unwrap();
            }
            let run = check.cmd(&["--timeout", "5s"]).run().expect_code(3);
            assert!(!victim.exists(), "{planted} at {file} followed\n{run}");
            let said = if planted == "fifo" {
                "is not a regular file (a FIFO)"
            } else {
                "is a symlink"
            };
            assert!(
                run.stdout.contains(&file) && run.stdout.contains(said),
                "the message names the file and what is wrong\n{run}"
            );
        }
    }
}

/// The check's process, told to stop once `ready` holds.
fn terminated(cmd: Cmd, ready: impl Fn() -> bool) -> (std::process::ExitStatus, Duration) {
    let mut guard = cmd.spawn();
    wait_for("the check to get going", Duration::from_secs(10), &ready);
    let pid = rustix::process::Pid::from_raw(guard.id().cast_signed()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let told = Instant::now();
    loop {
        if let Some(status) = guard.child().try_wait().unwrap() {
            return (status, told.elapsed());
        }
        assert!(told.elapsed() < Duration::from_secs(10), "still running");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_while_the_server_never_answers_ends_at_once_and_writes_nothing() {
    let silent = sim(&["--fault", "accept-no-answer"]);
    let check = Checker::new(&silent.url());
    check.run(&["--timeout", "1s", "--startup-grace", "0s"]);
    let dir = check.state.path().join("ollama-frozen-check");
    let state = dir.join(format!("127.0.0.1-{}.json", silent.port()));
    let before = std::fs::read(&state).unwrap();
    let cmd = check.cmd(&["--timeout", "30s", "--startup-grace", "0s"]);
    let (status, took) = terminated(cmd, || common::held(&dir));
    assert_eq!(status.signal(), Some(15), "{status:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(std::fs::read(&state).unwrap(), before, "state untouched");
    assert_eq!(names(&dir).len(), 2, "{:?}", names(&dir));
}

#[test]
fn sigterm_at_any_moment_leaves_no_temp_file_and_a_whole_state() {
    let server = sim(&["--preload", "llama3.2:1b", "--keep-alive", "-1"]);
    let check = Checker::new(&server.url());
    let out = selfheal_test_support::tempdir().unwrap();
    let textfile = out.path().join("ollama.prom");
    let args = [
        "--e2e-every",
        "0s",
        "--textfile",
        textfile.to_str().unwrap(),
    ];
    let started = Instant::now();
    check.cmd(&args).run().expect_code(0);
    // The files are written at the end of a run: aim around it.
    let run_time = started.elapsed();
    for i in 0..100u32 {
        let mut child = check.cmd(&args).spawn();
        std::thread::sleep(run_time.mul_f64(0.5 + f64::from(i) / 150.0));
        let pid = rustix::process::Pid::from_raw(child.id().cast_signed()).unwrap();
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let _ = child.child().wait();
    }
    let leftovers: Vec<String> = names(out.path())
        .into_iter()
        .chain(names(check.state.path()))
        .filter(|n| Path::new(n).extension().is_some_and(|e| e == "tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    check.run(&[]).2.expect_code(0);
}

#[test]
fn sigterm_during_the_journal_read_stops_journalctl_first() {
    let server = sim(&["--preload", "llama3.2:1b"]);
    let check = Checker::new(&server.url());
    let bin = selfheal_test_support::tempdir().unwrap();
    let pid_file = bin.path().join("journalctl.pid");
    let script = format!(
        "#!/bin/sh\necho $$ > {}\nexec sleep 60\n",
        pid_file.display()
    );
    let journalctl = bin.path().join("journalctl");
    std::fs::write(&journalctl, script).unwrap();
    std::fs::set_permissions(
        &journalctl,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    let cmd = check.cmd(&["--journal-unit", "ollama"]).env("PATH", path);
    let (status, _) = terminated(cmd, || {
        std::fs::read_to_string(&pid_file).is_ok_and(|t| t.ends_with('\n'))
    });
    assert_eq!(status.signal(), Some(15), "{status:?}");
    let child = std::fs::read_to_string(&pid_file).unwrap();
    let stat = format!("/proc/{}/stat", child.trim());
    assert!(
        std::fs::read_to_string(&stat).is_err(),
        "journalctl {} outlived the check",
        child.trim()
    );
}
