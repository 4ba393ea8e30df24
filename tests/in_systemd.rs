//! The shipped units run in a real systemd (a throwaway container per test,
//! see nspawn.rs), not only through `systemd-analyze verify`: the Ollama
//! timer heals a frozen simulator, the gateway drop-in frees a port an
//! orphan holds, `restart-loops@` flags a crash loop, and
//! `restart-guard@` restarts a unit systemd gave up on. Thresholds are
//! shortened with drop-ins, as a user would; the shipped files are copied
//! unchanged.

mod nspawn;

use nspawn::Container;
use std::time::Duration;

const SIM_UNIT: &str = "\
[Unit]
Description=ollama-sim standing in for ollama serve
[Service]
ExecStart=/usr/local/bin/ollama-sim --port 11434 --preload llama3.2:1b
Restart=on-failure
";

/// Seconds instead of minutes: freeze declared after 4 s, checks every 2 s.
const FAST_CHECK: &str = "\
[Service]
Environment=OLLAMA_FROZEN_CHECK_FREEZE_AFTER=4s
";
const FAST_HEAL: &str = "\
[Service]
Environment=RESTART_GUARD_SETTLE=2s RESTART_GUARD_COOLDOWN=5s
";
const FAST_TIMER: &str = "\
[Timer]
OnBootSec=
OnUnitActiveSec=
OnActiveSec=1s
OnUnitActiveSec=2s
";

#[test]
fn ollama_timer_restarts_a_frozen_server_through_restart_guard() {
    let Some(c) = Container::boot("ollama") else {
        return;
    };
    c.install_contrib();
    c.write("/etc/systemd/system/ollama.service", SIM_UNIT);
    c.write(
        "/etc/systemd/system/ollama-check.service.d/fast.conf",
        FAST_CHECK,
    );
    c.write(
        "/etc/systemd/system/ollama-heal.service.d/fast.conf",
        FAST_HEAL,
    );
    c.write(
        "/etc/systemd/system/ollama-check.timer.d/fast.conf",
        FAST_TIMER,
    );
    c.systemctl(&["daemon-reload"]).expect_code(0);
    c.systemctl(&["start", "ollama.service"]).expect_code(0);
    c.systemctl(&["start", "ollama-check.timer"]).expect_code(0);
    let textfile = "/var/lib/prometheus/node-exporter/ollama.prom";
    c.wait_for(
        "the timer's first check passes",
        Duration::from_secs(30),
        || {
            c.journal(&["ollama-check.service"])
                .contains("ollama-frozen-check exit 0: ok")
        },
    );
    assert!(
        c.read(textfile)
            .contains("selfheal_ollama_frozen_check_up{name=\"127.0.0.1-11434\"} 1"),
        "no metrics in {textfile}:\n{}",
        c.read(textfile)
    );

    let frozen = c.property("ollama.service", "MainPID");
    c.systemctl(&[
        "kill",
        "--kill-who=main",
        "--signal=SIGSTOP",
        "ollama.service",
    ])
    .expect_code(0);
    c.wait_for(
        "restart-guard restarts and verifies ollama.service",
        Duration::from_secs(60),
        || {
            c.journal(&["ollama-heal.service"])
                .contains("restarted ollama.service and verified it came back")
        },
    );
    let journal = c.journal(&["ollama-check.service"]);
    let suspected = journal
        .find("exit 1: frozen: suspected")
        .unwrap_or_else(|| panic!("no WARNING before the freeze was declared:\n{journal}"));
    let declared = journal.find("exit 2: frozen").unwrap();
    assert!(
        suspected < declared,
        "declared before suspected:\n{journal}"
    );
    let restarted = c.property("ollama.service", "MainPID");
    assert_ne!(restarted, frozen, "ollama.service kept its frozen process");
    assert!(
        !c.sh(&format!("test -d /proc/{frozen}")).status.success(),
        "the frozen server {frozen} is still there"
    );
    c.run(&["/usr/local/bin/ollama-frozen-check"])
        .expect_code(0)
        .stdout_has("OLLAMA OK");
    let audit = c.read("/var/lib/selfheal/restart-guard.audit.jsonl");
    assert!(
        audit.contains("\"name\":\"ollama.service\"")
            && audit.contains("\"decision\":\"verified\""),
        "no audit line for the restart:\n{audit}"
    );
}

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
fn ollama_timer_kills_only_a_wedged_runner() {
    let Some(c) = Container::boot("runner") else {
        return;
    };
    c.install_contrib();
    c.write(
        "/etc/systemd/system/ollama.service",
        &SIM_UNIT.replace(
            "--preload llama3.2:1b",
            "--preload llama3.2:1b --fault wedged-runner",
        ),
    );
    c.write(
        "/etc/systemd/system/ollama-check.service.d/fast.conf",
        &format!("{FAST_CHECK}Environment=OLLAMA_FROZEN_CHECK_E2E_EVERY=1s OLLAMA_FROZEN_CHECK_TIMEOUT=5s\n"),
    );
    c.write(
        "/etc/systemd/system/ollama-heal.service.d/fast.conf",
        FAST_HEAL,
    );
    c.write(
        "/etc/systemd/system/ollama-check.timer.d/fast.conf",
        FAST_TIMER,
    );
    c.systemctl(&["daemon-reload"]).expect_code(0);
    c.systemctl(&["start", "ollama.service"]).expect_code(0);
    let server = c.property("ollama.service", "MainPID");
    let runner = c
        .run(&["pgrep", "-P", &server, "-x", "llama-server"])
        .expect_code(0)
        .stdout
        .trim()
        .to_owned();
    c.systemctl(&["start", "ollama-check.timer"]).expect_code(0);
    let audit = "/var/lib/selfheal/restart-guard.audit.jsonl";
    c.wait_for(
        "restart-guard kills the wedged runner",
        Duration::from_secs(60),
        || {
            c.read(audit).contains(&format!(
                "\"command\":[\"/bin/kill\",\"-KILL\",\"{runner}\"]"
            ))
        },
    );
    assert!(
        c.read(audit).contains("\"name\":\"ollama.service-runner\""),
        "{}",
        c.read(audit)
    );
    assert!(
        !c.sh(&format!("test -d /proc/{runner}")).status.success(),
        "the wedged runner {runner} still runs"
    );
    assert_eq!(
        c.property("ollama.service", "MainPID"),
        server,
        "the server was restarted, not just its runner killed"
    );
    assert!(
        !c.journal(&["ollama-heal.service"])
            .contains("selfheal-restart-unit"),
        "the server was restarted"
    );
}

#[test]
fn stall_template_restarts_an_agent_that_hangs_while_alive() {
    let Some(c) = Container::boot("stall") else {
        return;
    };
    c.install_contrib();
    // An agent that beats every 0.2 s until told to hang (alive, no progress).
    c.write(
        "/etc/systemd/system/agent-BTC.service",
        "[Service]\nExecStart=/bin/sh -c 'rm -f /run/agent-stuck; \
         while :; do [ -e /run/agent-stuck ] || touch /run/agent-BTC.beat; sleep 0.2; done'\n",
    );
    c.write(
        "/etc/selfheal/stall/agent-BTC.env",
        "STALL_PROBE_FILE=/run/agent-BTC.beat\nSTALL_PROBE_WARN=1s\nSTALL_PROBE_CRIT=2s\n\
         RESTART_GUARD_SETTLE=1s\n",
    );
    c.write(
        "/etc/systemd/system/selfheal-stall@agent-BTC.timer.d/fast.conf",
        FAST_TIMER,
    );
    c.systemctl(&["daemon-reload"]).expect_code(0);
    c.systemctl(&["start", "agent-BTC.service"]).expect_code(0);
    c.systemctl(&["start", "selfheal-stall@agent-BTC.timer"])
        .expect_code(0);
    c.wait_for(
        "the first stall check passes",
        Duration::from_secs(20),
        || {
            c.journal(&["selfheal-stall@agent-BTC.service"])
                .contains("STALL OK")
        },
    );
    let hung = c.property("agent-BTC.service", "MainPID");
    c.write("/run/agent-stuck", "");
    c.wait_for(
        "the hung agent is restarted",
        Duration::from_secs(40),
        || {
            c.journal(&["selfheal-stall-restart@agent-BTC.service"])
                .contains("restarted agent-BTC.service and verified")
        },
    );
    assert_ne!(c.property("agent-BTC.service", "MainPID"), hung);
    let probe = c.journal(&["selfheal-stall@agent-BTC.service"]);
    assert!(
        probe.contains("STALL WARNING") && probe.contains("STALL CRITICAL"),
        "no WARNING before the CRITICAL that acted:\n{probe}"
    );
}
