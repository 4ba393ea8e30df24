//! The sentences a person reads: who holds the port, what was done to
//! whom, and why something was left alone.

use crate::discover::Scan;
use crate::holder::Holder;
use crate::reap::{Run, Verdict, ending_name};
use crate::settings::Settings;
use selfheal_core::Status;
use selfheal_core::duration::human;
use selfheal_core::process::Ending;
use std::fmt::Write as _;

/// How many holders a summary names before "and N more".
const NAMED: usize = 3;

/// `tcp port 8080`, `udp 127.0.0.1:53`, `tcp [::1]:8080`.
#[must_use]
pub fn port(s: &Settings) -> String {
    let proto = s.query.proto.as_str();
    match s.query.target.addr {
        None => format!("{proto} port {}", s.query.target.port),
        Some(_) => format!("{proto} {}", s.query.target),
    }
}

/// `pid 4242 (postgres, user postgres, unit postgresql.service, orphan)`.
#[must_use]
pub fn holder(h: &Holder) -> String {
    let mut parts = vec![h.comm.clone(), format!("user {}", h.user)];
    if let Some(unit) = &h.unit {
        parts.push(format!("unit {}", unit.name));
    }
    if h.orphan {
        parts.push("orphan".into());
    }
    match h.state {
        'T' | 't' => parts.push("stopped".into()),
        'D' => parts.push("in uninterruptible sleep".into()),
        _ => {}
    }
    format!("pid {} ({})", h.pid, parts.join(", "))
}

#[must_use]
pub fn holders(list: &[Holder]) -> String {
    let named: Vec<String> = list.iter().take(NAMED).map(holder).collect();
    let mut text = named.join(", ");
    if list.len() > NAMED {
        let _ = write!(text, " and {} more", list.len() - NAMED);
    }
    text
}

/// Sockets, but nobody we can see holding them.
#[must_use]
pub fn invisible(what: &str, scan: &Scan) -> (Status, String) {
    let count = scan.sockets.len();
    if scan.walk.unreadable > 0 && !rustix::process::geteuid().is_root() {
        return (
            Status::Unknown,
            format!(
                "{what} is held ({count} socket(s)), but {} processes' descriptors are unreadable: run as root to see the holder",
                scan.walk.unreadable
            ),
        );
    }
    let unreadable = if scan.walk.unreadable_pids.is_empty() {
        String::new()
    } else {
        format!(
            ", or by a process whose descriptors are unreadable (pid {:?})",
            scan.walk.unreadable_pids
        )
    };
    (
        Status::Critical,
        format!(
            "{what} is held ({count} socket(s)) by no visible process: held from another PID namespace or container sharing this network{unreadable}"
        ),
    )
}

/// What was, or would be, done to one holder, and why: (`action`, reason).
#[must_use]
pub fn verdict(verdict: &Verdict, run: &Run<'_>) -> (&'static str, String) {
    match verdict {
        Verdict::Signal(_) => ("signal", "allowed".into()),
        Verdict::Target(i) if run.after.is_none() => ("would-signal", run.targets[*i].clone()),
        Verdict::Target(i) => (
            "signalled",
            run.done
                .get(*i)
                .map_or_else(String::new, |d| ending_name(d.ending)),
        ),
        Verdict::StopUnit(unit) => ("stop-unit", format!("systemctl stop {unit}")),
        Verdict::NotAllowed(filter) => ("left-alone", format!("{filter} does not allow it")),
        Verdict::Supervised(by) => (
            "left-alone",
            format!(
                "{by} supervises it and would restart it: use --stop-unit or --kill-supervised"
            ),
        ),
        Verdict::Refused(refusal) => ("refused", refusal.to_string()),
    }
}

/// Why holder `h` was not signalled, as the end of a sentence about it.
fn left_alone(h: &Holder, verdict: &Verdict) -> Option<String> {
    let who = holder(h);
    match verdict {
        Verdict::NotAllowed(filter) => Some(format!("{who}, which {filter} does not allow")),
        Verdict::Supervised(by) => Some(format!(
            "{who}, which {by} would restart (use --stop-unit or --kill-supervised)"
        )),
        Verdict::Refused(refusal) => Some(format!("{who}, which is not signalled: {refusal}")),
        _ => None,
    }
}

/// The dry run's summary.
#[must_use]
pub fn dry_run(s: &Settings, run: &Run<'_>) -> String {
    let what = port(s);
    let mut parts = Vec::new();
    if !run.targets.is_empty() {
        parts.push(format!(
            "dry run: would send TERM to {}, then KILL after {} to any left",
            run.targets.join(", "),
            human(s.grace)
        ));
    }
    for (h, v) in run.before.holders.iter().zip(run.verdicts) {
        if let Verdict::StopUnit(unit) = v {
            parts.push(format!("dry run: would stop {unit} for pid {}", h.pid));
        }
    }
    let left = left_alone_list(run);
    if !left.is_empty() {
        parts.push(format!("{what} is held by {}", left.join("; ")));
    }
    if parts.is_empty() {
        parts.push(format!(
            "{what} is held by no process this run could signal"
        ));
    }
    parts.join("; ")
}

fn left_alone_list(run: &Run<'_>) -> Vec<String> {
    run.before
        .holders
        .iter()
        .zip(run.verdicts)
        .filter_map(|(h, v)| left_alone(h, v))
        .collect()
}

/// `{free}: pid 4242 (node) exited after TERM; ...`.
#[must_use]
pub fn with_actions(free: String, run: &Run<'_>) -> String {
    let actions = actions(run);
    if actions.is_empty() {
        free
    } else {
        format!("{free}: {}", actions.join("; "))
    }
}

fn actions(run: &Run<'_>) -> Vec<String> {
    let mut out: Vec<String> = run
        .stops
        .iter()
        .map(|r| r.clone().unwrap_or_else(|e| e))
        .collect();
    for (who, done) in run.targets.iter().zip(run.done) {
        out.push(match done.ending {
            Ending::Exited => format!("{who} exited after TERM"),
            Ending::Killed => format!("{who} was killed (SIGKILL) after the grace"),
            Ending::Survived { state } => {
                format!("{who} survived SIGKILL (state {state}: stuck in the kernel)")
            }
            Ending::Interrupted if done.signals.is_empty() => {
                format!("{who} was not signalled: port-reaper was told to stop first")
            }
            Ending::Interrupted => format!(
                "{who} was still running after TERM when port-reaper was told to stop (no KILL sent)"
            ),
        });
    }
    out
}

/// The port is still held after acting: say by whom and why.
#[must_use]
pub fn still_held(what: &str, run: &Run<'_>, after: &Scan) -> (Status, String) {
    if let Some(error) = run.done.iter().find_map(|d| d.error.as_ref()) {
        return (
            Status::Unknown,
            format!(
                "{what} is still held: no permission to signal ({error}): run as root or as the holder's user"
            ),
        );
    }
    let mut parts = left_alone_list(run);
    let before: Vec<i32> = run.before.holders.iter().map(|h| h.pid).collect();
    let new: Vec<&Holder> = after
        .holders
        .iter()
        .filter(|h| !before.contains(&h.pid))
        .collect();
    if !new.is_empty() {
        let named: Vec<String> = new.iter().map(|h| holder(h)).collect();
        parts.push(format!(
            "now also {} (restarted by a supervisor?)",
            named.join(", ")
        ));
    }
    if after.holders.is_empty() {
        return invisible(what, after);
    }
    let mut summary = format!(
        "{what} is held by {}",
        if parts.is_empty() {
            holders(&after.holders)
        } else {
            parts.join("; ")
        }
    );
    let done = actions(run);
    if !done.is_empty() {
        let _ = write!(summary, " ({})", done.join("; "));
    }
    (Status::Critical, summary)
}

/// One detail line per holder for the text output.
#[must_use]
pub fn detail_line(h: &Holder) -> String {
    let started = h
        .started_unix
        .map_or_else(|| "?".into(), selfheal_core::clock::rfc3339);
    format!(
        "pid={} ppid={} user={} comm={} state={} unit={} orphan={} supervisor={} started={} exe={} cmd={}",
        h.pid,
        h.ppid,
        h.user,
        h.comm,
        h.state,
        h.unit.as_ref().map_or("-", |u| u.name.as_str()),
        if h.orphan { "yes" } else { "no" },
        h.supervisor.as_deref().unwrap_or("-").replace(' ', "_"),
        started,
        h.exe.as_deref().unwrap_or("?"),
        one_line(&h.cmdline),
    )
}

/// A command line may hold newlines and escapes: keep the detail line one line.
fn one_line(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}
