//! The notifiers in contrib/notify, run as restart-guard runs them (the
//! situation in SELFHEAL_* variables, the event as the argument) against a
//! loopback HTTP server: delivered, the secret read from its file reaches
//! the server but never a process's argv; a failed delivery exits non-zero.

use selfheal_test_support::http::{HttpServer, Reply, Request};
use selfheal_test_support::{Cmd, Run, TempDir, require, tempdir};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../contrib/notify")
        .join(name)
}

/// A secret no other process on the machine has in its argv.
fn secret(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{what}{}x{nanos}", std::process::id())
}

/// What the server saw of the machine while a request was open: whether a
/// curl was running (the look was not blind), and which processes had a
/// secret in their argv.
#[derive(Default, Debug)]
struct Seen {
    curl_running: bool,
    secret_in_argv: Vec<String>,
}

fn look_at_processes(secrets: &[String], seen: &Mutex<Seen>) {
    let mut seen = seen.lock().unwrap();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let dir = entry.path();
        let comm = fs::read_to_string(dir.join("comm")).unwrap_or_default();
        let argv = fs::read(dir.join("cmdline")).unwrap_or_default();
        let argv = String::from_utf8_lossy(&argv).replace('\0', " ");
        seen.curl_running |= comm.trim() == "curl";
        if secrets.iter().any(|s| argv.contains(s.as_str())) {
            seen.secret_in_argv.push(argv);
        }
    }
}

/// A server answering `status`, looking at the process list on each request.
fn server(status: u16, secrets: &[String]) -> (HttpServer, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (watch, secrets) = (seen.clone(), secrets.to_vec());
    let server = HttpServer::start(move |_: &Request| {
        look_at_processes(&secrets, &watch);
        let mut reply = Reply::json("ok");
        reply.status = status;
        reply
    });
    (server, seen)
}

/// A mode-0600 file holding `text`.
fn secret_file(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    fs::write(&path, format!("{text}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// The notifier with restart-guard's variables for an exhausted budget.
fn notifier(name: &str, event: &str) -> Cmd {
    require("curl", "curl");
    Cmd::new(script(name))
        .arg(event)
        .env("SELFHEAL_NAME", "ollama.service")
        .env(
            "SELFHEAL_REASON",
            "generate timed out for 3m \"quoted\"\tand tabbed",
        )
        .env("SELFHEAL_RESTARTS_IN_WINDOW", "3")
        .env("SELFHEAL_MAX", "3")
        .env("SELFHEAL_WINDOW", "1h")
        .env("SELFHEAL_NEXT_ALLOWED", "2026-11-30T04:00:00Z")
        .env("SELFHEAL_DECISION", "held-budget")
}

#[track_caller]
fn assert_no_secret_in_argv(seen: &Mutex<Seen>, run: &Run) {
    let seen = seen.lock().unwrap();
    assert!(
        seen.curl_running,
        "curl was not seen while the request was open\n{run}"
    );
    assert!(
        seen.secret_in_argv.is_empty(),
        "a secret in argv: {seen:?}\n{run}"
    );
}

#[test]
fn slack_delivers_with_the_webhook_from_a_file_and_never_in_argv() {
    let dir = tempdir().unwrap();
    let token = secret("B0SLACK");
    let (server, seen) = server(200, std::slice::from_ref(&token));
    let url = format!("{}/services/T0/{token}", server.url());
    let webhook = secret_file(&dir, "slack-webhook-url", &url);
    let run = notifier("slack", "exhausted")
        .env("SELFHEAL_SLACK_WEBHOOK_FILE", &webhook)
        .run()
        .expect_code(0);
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{run}");
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, format!("/services/T0/{token}"));
    assert_eq!(requests[0].header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_str(&requests[0].body).expect("JSON body");
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains("ollama.service restart budget exhausted"),
        "{text}"
    );
    assert!(text.contains("3 restarts in 1h (max 3)"), "{text}");
    assert!(
        text.contains("timed out for 3m \"quoted\"\tand tabbed"),
        "{text}"
    );
    assert_no_secret_in_argv(&seen, &run);
}

#[test]
fn slack_exits_non_zero_when_delivery_fails() {
    let dir = tempdir().unwrap();
    let (server, _) = server(500, &[]);
    let webhook = secret_file(&dir, "url", &format!("{}/services/x", server.url()));
    notifier("slack", "exhausted")
        .env("SELFHEAL_SLACK_WEBHOOK_FILE", &webhook)
        .run()
        .expect_code(1)
        .stderr_has("Slack did not take the message for selfheal-ollama.service");
    // Nobody listening at all.
    let closed = secret_file(&dir, "closed", "http://127.0.0.1:1/services/x");
    notifier("slack", "exhausted")
        .env("SELFHEAL_SLACK_WEBHOOK_FILE", &closed)
        .run()
        .expect_code(1);
    // No secret file: a setup error, not a failed delivery.
    notifier("slack", "exhausted")
        .env("SELFHEAL_SLACK_WEBHOOK_FILE", dir.path().join("missing"))
        .run()
        .expect_code(3)
        .stderr_has("cannot read the secret file");
}

#[test]
fn ntfy_delivers_with_url_and_token_from_files_and_never_in_argv() {
    let dir = tempdir().unwrap();
    let (topic, token) = (secret("topic"), secret("tk_"));
    let (server, seen) = server(200, &[topic.clone(), token.clone()]);
    let url = secret_file(&dir, "ntfy-url", &format!("{}/{topic}", server.url()));
    let token_file = secret_file(&dir, "ntfy-token", &token);
    for (event, priority, title) in [
        (
            "exhausted",
            "urgent",
            "ollama.service restart budget exhausted",
        ),
        ("recovered", "default", "ollama.service recovered"),
    ] {
        let run = notifier("ntfy", event)
            .env("SELFHEAL_NTFY_URL_FILE", &url)
            .env("SELFHEAL_NTFY_TOKEN_FILE", &token_file)
            .env("SELFHEAL_DEDUP_KEY", "box1-ollama")
            .run()
            .expect_code(0);
        let request = server.requests().pop().expect("a request");
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("POST", &*format!("/{topic}"))
        );
        assert_eq!(
            request.header("authorization"),
            Some(&*format!("Bearer {token}"))
        );
        assert_eq!(request.header("priority"), Some(priority));
        assert!(
            request.header("title").unwrap().contains(title),
            "{request:?}"
        );
        assert_eq!(request.header("x-selfheal-key"), Some("box1-ollama"));
        assert!(
            request.body.contains("3 restarts in 1h (max 3)"),
            "{request:?}"
        );
        assert_no_secret_in_argv(&seen, &run);
    }
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn ntfy_exits_non_zero_when_delivery_fails() {
    let dir = tempdir().unwrap();
    let (server, _) = server(403, &[]);
    let url = secret_file(&dir, "ntfy-url", &format!("{}/topic", server.url()));
    notifier("ntfy", "exhausted")
        .env("SELFHEAL_NTFY_URL_FILE", &url)
        .run()
        .expect_code(1)
        .stderr_has("ntfy did not take the message");
    notifier("ntfy", "bogus")
        .env("SELFHEAL_NTFY_URL_FILE", &url)
        .run()
        .expect_code(3)
        .stderr_has("unknown event 'bogus'");
}

/// A PATH holding what the desktop notifier needs, and `notify-send` as
/// given (a stand-in script, or none).
fn desktop_path(dir: &TempDir, notify_send: Option<&str>) -> PathBuf {
    let bin = dir.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    for tool in ["dirname", "uname", "tr", "sed"] {
        let real = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{tool} not found"));
        std::os::unix::fs::symlink(real, bin.join(tool)).unwrap();
    }
    if let Some(body) = notify_send {
        let path = bin.join("notify-send");
        fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

#[test]
fn desktop_passes_the_notification_to_notify_send_and_reports_its_failure() {
    // No desktop session here: notify-send is a stand-in that records its
    // arguments, then one that fails as it does without a session bus.
    let dir = tempdir().unwrap();
    let log = dir.path().join("args");
    let record = format!("printf '%s\\n' \"$@\" > '{}'", log.display());
    let path = desktop_path(&dir, Some(&record));
    notifier("desktop", "exhausted")
        .env("PATH", &path)
        .run()
        .expect_code(0);
    let args = fs::read_to_string(&log).unwrap();
    assert!(args.contains("--urgency=critical\n"), "{args}");
    assert!(
        args.contains("ollama.service restart budget exhausted"),
        "{args}"
    );
    assert!(args.contains("Reason: generate timed out"), "{args}");

    let failing = tempdir().unwrap();
    let path = desktop_path(
        &failing,
        Some("echo 'Cannot connect to the session bus' >&2; exit 1"),
    );
    notifier("desktop", "recovered")
        .env("PATH", &path)
        .run()
        .expect_code(1)
        .stderr_has("is DBUS_SESSION_BUS_ADDRESS set?");

    let missing = tempdir().unwrap();
    notifier("desktop", "exhausted")
        .env("PATH", desktop_path(&missing, None))
        .run()
        .expect_code(3)
        .stderr_has("apt-get install libnotify-bin");
}
