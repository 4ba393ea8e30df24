//! The report of a run: the one-line verdict, a line per holder, the JSON
//! details and the metrics.
//!
//! JSON `details`: `target`, `proto`, `scope`, `source` (`netlink|proc`),
//! `sockets` [{local, remote, state, inode, uid, v6only}], `holders` [{pid,
//! ppid, user, uid, comm, cmdline, exe, starttime, started, state, unit,
//! orphan, supervisor, action, ending, signals}], `remaining` (holders after
//! acting), `scan` {processes, unreadable, unreadable_pids, seconds},
//! `free`, `bind_check`, `dry_run`, `audit_log`.

use crate::TOOL;
use crate::bind::Bind;
use crate::describe as text;
use crate::discover::Scan;
use crate::holder::Holder;
use crate::reap::{Done, Run, Verdict};
use crate::settings::Settings;
use selfheal_core::metrics::{MetricFamily, MetricKind, Unit};
use selfheal_core::{Check, Report, Status};
use serde_json::{Value, json};
use std::net::IpAddr;

/// The address is not on this host: nothing here can hold or free it.
#[must_use]
pub fn not_local(s: &Settings, addr: IpAddr) -> Report {
    let mut report = base(s);
    let summary =
        format!("{addr} is not assigned on this host: another host or container may own it");
    report.check(Check::new("address", Status::Critical, summary.clone()));
    report.summary = summary;
    report.details.insert("address_local".into(), false.into());
    metrics(s, &mut report, None, None, &[]);
    report
}

/// `--list`, or nothing to act on.
#[must_use]
pub fn look(s: &Settings, scan: &Scan, bind: Option<&Bind>) -> Report {
    let mut report = base(s);
    let what = text::port(s);
    let (status, summary) = if scan.sockets.is_empty() {
        free_or_bind_problem(&what, bind)
    } else if scan.holders.is_empty() {
        text::invisible(&what, scan)
    } else {
        (
            Status::Critical,
            format!("{what} is held by {}", text::holders(&scan.holders)),
        )
    };
    report.check(Check::new("port", status, summary.clone()));
    report.summary = summary;
    add_scan(&mut report, scan, &[]);
    report
        .details
        .insert("free".into(), (status == Status::Ok).into());
    add_bind(&mut report, bind);
    metrics(s, &mut report, Some(scan), Some(scan), &[]);
    report
}

fn free_or_bind_problem(what: &str, bind: Option<&Bind>) -> (Status, String) {
    match bind {
        None => (Status::Ok, format!("{what} is free")),
        Some(Bind::Bound) => (
            Status::Ok,
            format!("{what} is free (bound and released it)"),
        ),
        Some(Bind::InUse) => (
            Status::Critical,
            format!(
                "{what} shows no socket here but cannot be bound (address in use): held from another network namespace or container"
            ),
        ),
        Some(Bind::NotLocal) => (
            Status::Critical,
            format!("{what} cannot be bound: the address is not assigned on this host"),
        ),
        Some(Bind::Failed(e)) => (Status::Unknown, format!("cannot bind-check {what}: {e}")),
    }
}

/// After acting (or, in a dry run, instead of acting).
#[must_use]
pub fn acted(s: &Settings, run: &Run<'_>) -> Report {
    let mut report = base(s);
    let what = text::port(s);
    let Some(after) = run.after else {
        let summary = text::dry_run(s, run);
        report.check(Check::new("port", Status::Critical, summary.clone()));
        report.summary = summary;
        add_scan(&mut report, run.before, &holder_actions(run));
        metrics(s, &mut report, Some(run.before), Some(run.before), &[]);
        return report;
    };
    let (status, summary) = if after.sockets.is_empty() {
        let (status, free) = free_or_bind_problem(&what, run.bind);
        (status, text::with_actions(free, run))
    } else {
        text::still_held(&what, run, after)
    };
    report.check(Check::new("port", status, summary.clone()));
    report.summary = summary;
    add_scan(&mut report, run.before, &holder_actions(run));
    let remaining: Vec<Value> = after.holders.iter().map(|h| holder_json(h, None)).collect();
    report.details.insert("remaining".into(), remaining.into());
    report
        .details
        .insert("free".into(), (status == Status::Ok).into());
    report
        .details
        .insert("audit_log".into(), run.audit_log.clone().into());
    add_bind(&mut report, run.bind);
    metrics(s, &mut report, Some(run.before), Some(after), run.done);
    report
}

/// What was done (or would be) to each holder, as JSON.
fn holder_actions(run: &Run<'_>) -> Vec<Value> {
    run.verdicts
        .iter()
        .map(|verdict| {
            let (action, reason) = text::verdict(verdict, run);
            let mut value = json!({ "action": action, "reason": reason });
            if let Verdict::Target(i) = verdict
                && let Some(done) = run.done.get(*i)
            {
                value["ending"] = crate::reap::ending_name(done.ending).into();
                value["signals"] = json!(done.signals);
            }
            value
        })
        .collect()
}

fn base(s: &Settings) -> Report {
    let mut report = TOOL.report();
    let q = &s.query;
    report
        .details
        .insert("target".into(), q.target.to_string().into());
    report.details.insert("port".into(), q.target.port.into());
    report
        .details
        .insert("proto".into(), q.proto.as_str().into());
    let scope = match q.scope {
        crate::socket::Scope::Listening => "listening",
        crate::socket::Scope::AllStates => "all-states",
    };
    report.details.insert("scope".into(), scope.into());
    report.details.insert("dry_run".into(), s.dry_run.into());
    report.keep_perfdata(&[
        "selfheal_port_reaper_port_held",
        "selfheal_port_reaper_holders",
        "selfheal_port_reaper_signals_sent",
        "selfheal_port_reaper_scan_duration_seconds",
    ]);
    report
}

fn add_scan(report: &mut Report, scan: &Scan, actions: &[Value]) {
    let sockets: Vec<Value> = scan
        .sockets
        .iter()
        .map(|k| {
            json!({"local": k.local.to_string(), "remote": k.remote.to_string(),
                   "state": k.state_name(), "inode": k.inode, "uid": k.uid, "v6only": k.v6only})
        })
        .collect();
    let holders: Vec<Value> = scan
        .holders
        .iter()
        .enumerate()
        .map(|(i, h)| holder_json(h, actions.get(i)))
        .collect();
    report
        .detail_lines
        .extend(scan.holders.iter().map(text::detail_line));
    report
        .details
        .insert("source".into(), scan.source.as_str().into());
    report.details.insert("sockets".into(), sockets.into());
    report.details.insert("holders".into(), holders.into());
    report.details.insert(
        "scan".into(),
        json!({"processes": scan.walk.scanned, "unreadable": scan.walk.unreadable,
               "unreadable_pids": scan.walk.unreadable_pids, "seconds": scan.took.as_secs_f64()}),
    );
}

fn holder_json(h: &Holder, action: Option<&Value>) -> Value {
    let mut value = json!({
        "pid": h.pid, "ppid": h.ppid, "user": h.user, "uid": h.uid, "comm": h.comm,
        "cmdline": h.cmdline, "exe": h.exe, "starttime": h.starttime,
        "started": h.started_unix.map(selfheal_core::clock::rfc3339),
        "state": h.state.to_string(), "unit": h.unit.as_ref().map(|u| u.name.clone()),
        "orphan": h.orphan, "supervisor": h.supervisor, "inodes": h.inodes,
    });
    if let (Some(object), Some(Value::Object(extra))) = (value.as_object_mut(), action) {
        object.extend(extra.clone());
    }
    value
}

fn add_bind(report: &mut Report, bind: Option<&Bind>) {
    let value = bind.map(|b| match b {
        Bind::Bound => "bound".to_owned(),
        Bind::InUse => "in-use".to_owned(),
        Bind::NotLocal => "not-local".to_owned(),
        Bind::Failed(e) => format!("failed: {e}"),
    });
    report.details.insert("bind_check".into(), value.into());
}

fn metrics(
    s: &Settings,
    report: &mut Report,
    before: Option<&Scan>,
    after: Option<&Scan>,
    done: &[Done],
) {
    let port = s.query.target.to_string();
    let labels = [("port", port.as_str()), ("proto", s.query.proto.as_str())];
    let gauge = |name: &str, unit: Unit, help: &str, value: f64| {
        MetricFamily::new(
            &format!("selfheal_port_reaper_{name}"),
            MetricKind::Gauge,
            unit,
            help,
        )
        .with(&labels, value)
    };
    let held = after.is_none_or(|a| !a.sockets.is_empty()) || report.status != Status::Ok;
    report.metrics.push(gauge(
        "port_held",
        Unit::Count,
        "1 if the port was still held (or unusable) when the run ended.",
        f64::from(u8::from(held)),
    ));
    if let Some(before) = before {
        report.metrics.push(gauge(
            "sockets",
            Unit::Count,
            "Sockets on the port when the run started.",
            before.sockets.len() as f64,
        ));
        report.metrics.push(gauge(
            "holders",
            Unit::Count,
            "Processes holding the port when the run started.",
            before.holders.len() as f64,
        ));
        report.metrics.push(gauge(
            "scan_duration_seconds",
            Unit::Seconds,
            "Time to find the sockets and their holders.",
            before.took.as_secs_f64(),
        ));
    }
    if let Some(after) = after {
        report.metrics.push(gauge(
            "remaining_holders",
            Unit::Count,
            "Processes holding the port when the run ended.",
            after.holders.len() as f64,
        ));
    }
    let mut signals = MetricFamily::new(
        "selfheal_port_reaper_signals_sent",
        MetricKind::Gauge,
        Unit::Count,
        "Signals this run sent, by signal.",
    );
    for signal in ["TERM", "KILL"] {
        let count = done
            .iter()
            .flat_map(|d| &d.signals)
            .filter(|&&n| n == signal)
            .count();
        signals.push(&[labels[0], labels[1], ("signal", signal)], count as f64);
    }
    report.metrics.push(signals);
}
