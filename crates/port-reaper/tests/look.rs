//! Finding who holds a port: IPv6 and dual stack, UDP, connected sockets,
//! the /proc fallback, an address that is not on this host, and the
//! metrics a textfile gets.

mod support;

use selfheal_test_support::{Cmd, tempdir};
use support::{BIN, Holders, alive, json};

fn list(target: &str, extra: &[&str]) -> serde_json::Value {
    let run = Cmd::new(BIN)
        .args(["--list", "--format", "json"])
        .args(extra)
        .arg(target)
        .run();
    let report = json(&run);
    assert_eq!(
        i64::from(run.code()),
        report["exit_code"].as_i64().unwrap(),
        "{run}"
    );
    report
}

fn holder_pids(report: &serde_json::Value) -> Vec<i64> {
    let mut pids: Vec<i64> = report["details"]["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["pid"].as_i64().unwrap())
        .collect();
    pids.sort_unstable();
    pids
}

#[test]
fn a_dual_stack_listener_holds_ipv4_and_ipv6_addresses() {
    let holders = Holders::start(&["--addr", "::", "--dual-stack"]);
    let port = holders.port;
    let pid = i64::from(holders.pid());
    for target in [
        format!("{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        format!("[::]:{port}"),
    ] {
        let report = list(&target, &[]);
        assert_eq!(report["exit_code"], 2, "{target}: {report}");
        assert_eq!(holder_pids(&report), [pid], "{target}");
    }
    assert_eq!(
        list(&port.to_string(), &[])["details"]["sockets"][0]["v6only"],
        false
    );
}

#[test]
fn an_ipv6_only_listener_leaves_ipv4_free() {
    let holders = Holders::start(&["--addr", "::1"]);
    let port = holders.port;
    assert_eq!(list(&format!("[::1]:{port}"), &[])["exit_code"], 2);
    let v4 = list(&format!("127.0.0.1:{port}"), &[]);
    assert_eq!(v4["exit_code"], 0, "{v4}");
    assert_eq!(v4["summary"], format!("tcp 127.0.0.1:{port} is free"));
}

#[test]
fn udp_sockets_are_found_with_udp_only() {
    let holders = Holders::start(&["--udp"]);
    let port = holders.port.to_string();
    let udp = list(&port, &["--udp"]);
    assert_eq!(holder_pids(&udp), [i64::from(holders.pid())]);
    assert_eq!(udp["details"]["sockets"][0]["state"], "UNCONN");
    let dir = tempdir().unwrap();
    support::reaper(dir.path())
        .args(["--udp", "--only-comm", "^python3$", &port])
        .run()
        .expect_code(0);
    assert!(!alive(holders.pid()));
}

#[test]
fn all_states_adds_the_backend_of_a_connection_never_the_client() {
    let holders = Holders::start(&["--backend"]);
    let port = holders.port.to_string();
    let listener = i64::from(holders.pid());
    let backend = holders.info["backend"].as_i64().unwrap();
    let client = holders.info["client"].as_i64().unwrap();
    assert_eq!(holder_pids(&list(&port, &[])), [listener]);
    let all = holder_pids(&list(&port, &["--all-states"]));
    assert!(all.contains(&listener) && all.contains(&backend), "{all:?}");
    assert!(
        !all.contains(&client),
        "the client must never be a holder: {all:?}"
    );
}

#[test]
fn the_proc_fallback_finds_the_same_holders() {
    let holders = Holders::start(&["--addr", "::", "--dual-stack"]);
    let port = holders.port.to_string();
    let netlink = list(&port, &["--source", "netlink"]);
    let proc = list(&port, &["--source", "proc"]);
    assert_eq!(netlink["details"]["source"], "netlink");
    assert_eq!(proc["details"]["source"], "proc");
    assert_eq!(holder_pids(&netlink), holder_pids(&proc));
    assert_eq!(
        netlink["details"]["sockets"][0]["inode"],
        proc["details"]["sockets"][0]["inode"]
    );
}

#[test]
fn an_address_not_on_this_host_is_told_apart_from_a_held_port() {
    // 192.0.2.1 is TEST-NET-1: only ever bound locally (which fails), never sent to.
    Cmd::new(BIN)
        .args(["--list", "192.0.2.1:18789"])
        .run()
        .expect_code(2)
        .stdout_has("192.0.2.1 is not assigned on this host: another host or container may own it");
    let dir = tempdir().unwrap();
    support::reaper(dir.path())
        .args(["--any", "192.0.2.1:18789"])
        .run()
        .expect_code(2)
        .stdout_has("not assigned");
}

#[test]
fn a_free_port_is_ok_and_bind_check_proves_it() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let target = format!("127.0.0.1:{port}");
    Cmd::new(BIN)
        .args(["--list", "--bind-check", &target])
        .run()
        .expect_code(0)
        .stdout_has("is free (bound and released it)");
}

#[test]
fn prom_output_and_textfile_pass_promtool() {
    let holders = Holders::start(&[]);
    let dir = tempdir().unwrap();
    let textfile = dir.path().join("port.prom");
    let run = Cmd::new(BIN)
        .args(["--list", "--format", "prom", "--textfile"])
        .arg(&textfile)
        .arg(holders.port.to_string())
        .run()
        .expect_code(2)
        .stdout_has("selfheal_port_reaper_port_held{port=");
    let written = std::fs::read_to_string(&textfile).unwrap();
    assert_eq!(written, run.stdout);
    Cmd::new("promtool")
        .args(["check", "metrics"])
        .stdin(written)
        .run()
        .expect_code(0);
}

#[test]
fn a_holder_with_a_hostile_non_utf8_name_is_seen_and_freed() {
    // "a|b\nc" then the bytes 0xff 0xfe: any process may name itself so.
    let holders = Holders::start(&["--comm-hex", "617c620a63fffe"]);
    let pid = holders.pid();
    let port = holders.port.to_string();
    let run = Cmd::new(BIN).args(["--list", &port]).run().expect_code(2);
    assert_eq!(run.stdout.lines().count(), 2, "one line per holder:\n{run}");
    // `|` would end the Nagios line: it is shown as a broken bar.
    assert!(run.stdout.contains(&format!("pid {pid} (a¦b")), "{run}");
    assert!(
        run.stdout.contains("user root"),
        "status read despite the name:\n{run}"
    );
    let report = list(&port, &[]);
    assert_eq!(holder_pids(&report), [i64::from(pid)]);
    assert_eq!(
        report["details"]["holders"][0]["comm"],
        "a|b\nc\u{fffd}\u{fffd}"
    );
    let dir = tempdir().unwrap();
    support::reaper(dir.path())
        .args(["--only-comm", "^a\\|b", "--only-user", "root", &port])
        .run()
        .expect_code(0);
    support::eventually("the holder is gone", || !alive(pid));
}

#[test]
fn without_permission_to_see_the_holder_it_is_unknown_not_free() {
    let holders = Holders::start(&[]);
    let port = holders.port.to_string();
    // As nobody, root's /proc/<pid>/fd is unreadable: the socket is seen, its holder is not.
    Cmd::new("setpriv")
        .args([
            "--reuid",
            "nobody",
            "--regid",
            "nogroup",
            "--clear-groups",
            BIN,
            "--list",
            &port,
        ])
        .run()
        .expect_code(3)
        .stdout_has("descriptors are unreadable: run as root");
    Cmd::new("setpriv")
        .args([
            "--reuid",
            "nobody",
            "--regid",
            "nogroup",
            "--clear-groups",
            BIN,
            "--any",
            "--audit-log",
            "/dev/null/x",
            &port,
        ])
        .run()
        .expect_code(3);
    assert!(alive(holders.pid()));
}
