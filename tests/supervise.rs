//! contrib/no-systemd/selfheal-supervise against a real service that
//! crashes and leaves an orphan holding its port (the gateway incident, on a
//! machine where systemd cannot kill the cgroup): the supervisor must free
//! the port through port-reaper, restart through restart-guard, run once per
//! name, and take the service down with it when stopped.

use selfheal_test_support::{ChildGuard, Cmd, bin, tempdir};
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// First run: listen, fork an orphan that keeps the socket, crash. Later
/// runs: listen and serve. Every process ends when the test's deadline
/// passes, so a failed test leaves nothing for long.
const SERVICE: &str = r#"
import os, socket, sys, time
port, state = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.bind(("127.0.0.1", port))
s.listen()
first = os.path.join(state, "first-run")
if not os.path.exists(first):
    open(first, "w").close()
    child = os.fork()
    if child == 0:
        os.setsid()
        time.sleep(120)
        os._exit(0)
    open(os.path.join(state, "orphan"), "w").write(str(child))
    sys.exit(1)
open(os.path.join(state, "serving"), "w").write(str(os.getpid()))
parent = os.getppid()
for _ in range(1200):
    if os.getppid() != parent:
        break
    time.sleep(0.1)
"#;

fn supervise_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib/no-systemd/selfheal-supervise")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn supervisor(state: &Path, port: u16) -> Cmd {
    let bin_dir = bin("restart-guard").parent().unwrap().to_path_buf();
    Cmd::new("sh")
        .arg(supervise_script())
        .args(["--port", &format!("127.0.0.1:{port}"), "--allow", "^python"])
        .args(["--name", "crashy", "--", "python3"])
        .arg(state.join("service.py"))
        .arg(port.to_string())
        .arg(state)
        .env("SELFHEAL_BIN", bin_dir)
        .env("SELFHEAL_STATE_DIR", state)
        .env("SELFHEAL_SUPERVISE_LOCK_DIR", state)
        .env("SELFHEAL_SUPERVISE_HOLD", "1")
        .env("RESTART_GUARD_COOLDOWN", "1s")
        .env("PORT_REAPER_GRACE", "2s")
}

fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Gone, or a zombie nobody reaped yet: either way it holds nothing.
fn gone(pid: &str) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z'))
    })
}

fn holders(port: u16) -> String {
    Cmd::new(bin("port-reaper"))
        .args(["--list", "--format", "json", &format!("127.0.0.1:{port}")])
        .run()
        .stdout
}

#[test]
fn supervisor_frees_the_port_from_the_orphan_and_restarts_the_service() {
    let state = tempdir().unwrap();
    fs::write(state.path().join("service.py"), SERVICE).unwrap();
    let port = free_port();
    let mut running: ChildGuard = supervisor(state.path(), port).spawn();

    let serving = state.path().join("serving");
    wait_for(
        "the service runs again after its crash",
        Duration::from_secs(60),
        || serving.exists(),
    );
    let orphan = fs::read_to_string(state.path().join("orphan")).unwrap();
    let second = fs::read_to_string(&serving).unwrap();
    wait_for("the orphan is gone", Duration::from_secs(10), || {
        gone(&orphan)
    });
    wait_for(
        "the second run holds the port",
        Duration::from_secs(10),
        || holders(port).contains(&format!("\"pid\":{second}")),
    );
    let audit = fs::read_to_string(state.path().join("restart-guard.audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"name\":\"supervise-crashy\"") && audit.contains("exited with status 1"),
        "no guarded restart in the audit log:\n{audit}"
    );

    supervisor(state.path(), port)
        .run()
        .expect_code(1)
        .stdout_has("another supervisor of crashy");

    Cmd::new("kill")
        .args(["-TERM", &running.id().to_string()])
        .run()
        .expect_code(0);
    let status = running.child().wait().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "the supervisor did not stop cleanly"
    );
    wait_for(
        "the service stops with its supervisor",
        Duration::from_secs(10),
        || gone(&second),
    );
}
