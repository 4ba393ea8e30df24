//! The shipped units around restarts run in a real systemd (a throwaway
//! container per test, see nspawn.rs): the gateway drop-in frees a port an
//! orphan holds, `restart-loops@` flags a crash loop, `restart-guard@`
//! restarts a unit systemd gave up on, and the polkit rule lets selfheal
//! restart exactly the named units.

#[allow(dead_code)] // each test binary uses a part of it
mod nspawn;

use nspawn::{Container, SIM_UNIT};
use std::time::Duration;

const GATEWAY_UNIT: &str = "\
[Service]
ExecStart=/usr/local/bin/node -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"127.0.0.1\", 18789)); s.listen(); time.sleep(3600)'
";

/// Starts `comm` (a copy of python3 under that name) holding port 18789
/// outside any service, as an orphan of an earlier run is; returns its pid.
fn orphan_on_gateway_port(c: &Container, comm: &str) -> String {
    let script = format!(
        "setsid systemd-run --scope --unit=orphan-{comm} /usr/local/bin/{comm} -c \
         'import socket,time; s=socket.socket(); s.bind((\"127.0.0.1\", 18789)); s.listen(); time.sleep(3600)' \
         >/dev/null 2>&1 </dev/null &"
    );
    c.sh(&script).expect_code(0);
    let mut pid = String::new();
    c.wait_for(
        "the orphan listens on 18789",
        Duration::from_secs(10),
        || {
            c.run(&["pgrep", "-x", comm])
                .stdout
                .trim()
                .clone_into(&mut pid);
            !pid.is_empty()
                && c.run(&["/usr/local/bin/port-reaper", "--list", "127.0.0.1:18789"])
                    .code()
                    == 2
        },
    );
    pid
}

#[test]
fn gateway_drop_in_frees_the_port_from_an_orphan_before_start() {
    let Some(c) = Container::boot("gateway") else {
        return;
    };
    c.install_contrib();
    c.sh("cp /usr/bin/python3 /usr/local/bin/node && cp /usr/bin/python3 /usr/local/bin/stranger")
        .expect_code(0);
    c.write("/etc/systemd/system/gateway.service", GATEWAY_UNIT);
    c.systemctl(&["daemon-reload"]).expect_code(0);

    // A holder the allow-filter does not admit is left alone: no start.
    let stranger = orphan_on_gateway_port(&c, "stranger");
    let start = c.systemctl(&["start", "gateway.service"]);
    assert_ne!(start.code(), 0, "gateway started on a held port\n{start}");
    assert!(
        c.sh(&format!("test -d /proc/{stranger}")).status.success(),
        "port-reaper killed a holder its filter does not admit"
    );
    c.systemctl(&["stop", "gateway.service", "orphan-stranger.scope"])
        .expect_code(0);

    let orphan = orphan_on_gateway_port(&c, "node");
    c.systemctl(&["start", "gateway.service"]).expect_code(0);
    c.wait_for(
        "the gateway listens on 18789",
        Duration::from_secs(10),
        || {
            let list = c.run(&[
                "/usr/local/bin/port-reaper",
                "--list",
                "--format",
                "json",
                "127.0.0.1:18789",
            ]);
            let main = c.property("gateway.service", "MainPID");
            list.code() == 2 && list.stdout.contains(&format!("\"pid\":{main}"))
        },
    );
    assert!(
        !c.sh(&format!("test -d /proc/{orphan}")).status.success(),
        "the orphan {orphan} still runs"
    );
    let audit = c.read("/var/lib/selfheal/gateway/port-reaper.audit.jsonl");
    assert!(
        audit.contains(&format!("\"pid\":{orphan}")),
        "no audit line for the orphan {orphan}:\n{audit}"
    );
}

#[test]
fn restart_loops_flags_a_crash_looping_unit() {
    let Some(c) = Container::boot("loops") else {
        return;
    };
    c.install_contrib();
    c.write(
        "/etc/systemd/system/crashy.service",
        "[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=/bin/false\nRestart=always\nRestartSec=100ms\n",
    );
    c.write(
        "/etc/systemd/system/restart-loops@crashy.service.d/fast.conf",
        "[Service]\nEnvironment=RESTART_GUARD_LOOP_MAX=5/1h\n",
    );
    c.systemctl(&["daemon-reload"]).expect_code(0);
    c.systemctl(&["start", "restart-loops@crashy.service"])
        .expect_code(0);
    c.systemctl(&["start", "crashy.service"]).expect_code(0);
    let textfile = "/var/lib/prometheus/node-exporter/restart-loops-crashy.prom";
    c.wait_for(
        "restart-loops@crashy says CRITICAL",
        Duration::from_secs(30),
        || {
            c.systemctl(&["start", "restart-loops@crashy.service"]);
            c.journal(&["restart-loops@crashy.service"])
                .contains("CRITICAL - restart loop")
        },
    );
    assert!(
        c.read(textfile)
            .contains("selfheal_restart_guard_unit_restart_loop{unit=\"crashy.service\"} 1"),
        "{textfile} does not flag the loop:\n{}",
        c.read(textfile)
    );
    c.systemctl(&["stop", "crashy.service"]).expect_code(0);
}

#[test]
fn restart_guard_at_restarts_a_unit_past_its_start_limit() {
    let Some(c) = Container::boot("limit") else {
        return;
    };
    c.install_contrib();
    c.write(
        "/etc/systemd/system/flaky.service",
        "[Unit]\nStartLimitIntervalSec=10min\nStartLimitBurst=3\n[Service]\n\
         ExecStart=/bin/sh -c 'test -e /run/flaky-broken && exit 1; exec sleep infinity'\n\
         Restart=always\nRestartSec=100ms\n",
    );
    c.write(
        "/etc/systemd/system/restart-guard@flaky.service.service.d/fast.conf",
        "[Service]\nEnvironment=RESTART_GUARD_SETTLE=1s\n",
    );
    c.write("/run/flaky-broken", "");
    c.systemctl(&["daemon-reload"]).expect_code(0);
    let _ = c.systemctl(&["start", "flaky.service"]);
    c.wait_for("flaky.service gives up", Duration::from_secs(20), || {
        c.journal(&["flaky.service"])
            .contains("Start request repeated too quickly")
    });
    c.sh("rm /run/flaky-broken").expect_code(0);
    // The trap: fixed or not, systemd refuses the plain restart.
    let plain = c.systemctl(&["restart", "flaky.service"]);
    assert_ne!(plain.code(), 0, "systemd no longer refuses\n{plain}");

    c.systemctl(&["start", "restart-guard@flaky.service.service"])
        .expect_code(0);
    assert_eq!(c.property("flaky.service", "ActiveState"), "active");
    let journal = c.journal(&["restart-guard@flaky.service.service"]);
    assert!(
        journal.contains("reset-failed before the restart")
            && journal.contains("restarted flaky.service and verified"),
        "{journal}"
    );
}

#[test]
fn polkit_rule_lets_selfheal_restart_exactly_the_named_units() {
    let Some(c) = Container::boot("polkit") else {
        return;
    };
    c.install_contrib();
    let rule = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../contrib/polkit/50-selfheal.rules"),
    )
    .unwrap();
    c.write("/etc/polkit-1/rules.d/50-selfheal.rules", &rule);
    c.write("/etc/systemd/system/ollama.service", SIM_UNIT);
    c.write(
        "/etc/systemd/system/other.service",
        "[Service]\nExecStart=/bin/sleep infinity\n",
    );
    c.systemctl(&["daemon-reload"]).expect_code(0);
    c.systemctl(&["start", "ollama.service", "other.service"])
        .expect_code(0);
    let as_selfheal = |args: &[&str]| {
        let mut argv = vec![
            "setpriv",
            "--reuid=selfheal",
            "--regid=selfheal",
            "--clear-groups",
            "systemctl",
        ];
        argv.extend_from_slice(args);
        c.run(&argv)
    };
    let before = c.property("ollama.service", "MainPID");
    as_selfheal(&["restart", "ollama.service"]).expect_code(0);
    assert_ne!(c.property("ollama.service", "MainPID"), before);
    as_selfheal(&["reset-failed", "ollama.service"]).expect_code(0);
    for denied in [
        &["stop", "ollama.service"][..],
        &["restart", "other.service"],
    ] {
        as_selfheal(denied)
            .expect_code(1)
            .stderr_has("Interactive authentication required");
    }
    assert_eq!(c.property("ollama.service", "ActiveState"), "active");
}
