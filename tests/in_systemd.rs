//! The shipped heal loops run in a real systemd (a throwaway container per
//! test, see nspawn.rs), not only through `systemd-analyze verify`: the
//! Ollama check heals a frozen simulator and a wedged runner, the stall
//! template restarts a hung agent. Thresholds are shortened with drop-ins,
//! as a user would; the shipped files are copied unchanged.

#[allow(dead_code)] // each test binary uses a part of it
mod nspawn;

use nspawn::{Container, SIM_UNIT};
use std::time::Duration;

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

/// The shipped units with `ollama_unit` as ollama.service, the check's
/// drop-in `check_dropin` and the fast heal and timer drop-ins; starts the
/// server (the test starts the timer when it is ready).
fn start_fast_ollama(c: &Container, ollama_unit: &str, check_dropin: &str) {
    c.install_contrib();
    c.write("/etc/systemd/system/ollama.service", ollama_unit);
    c.write(
        "/etc/systemd/system/ollama-check.service.d/fast.conf",
        check_dropin,
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
}

#[test]
fn ollama_timer_restarts_a_frozen_server_through_restart_guard() {
    let Some(c) = Container::boot("ollama") else {
        return;
    };
    start_fast_ollama(&c, SIM_UNIT, FAST_CHECK);
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

#[test]
fn ollama_timer_kills_only_a_wedged_runner() {
    let Some(c) = Container::boot("runner") else {
        return;
    };
    start_fast_ollama(
        &c,
        &SIM_UNIT.replace(
            "--preload llama3.2:1b",
            "--preload llama3.2:1b --fault wedged-runner",
        ),
        &format!(
            "{FAST_CHECK}Environment=OLLAMA_FROZEN_CHECK_E2E_EVERY=1s OLLAMA_FROZEN_CHECK_TIMEOUT=5s\n"
        ),
    );
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
