//! Deciding, per holder, what this run may do, and doing it: TERM, grace,
//! KILL through pidfds (selfheal-core's process control), or `systemctl
//! stop` for a supervised holder when asked; every action audited.

use crate::allow::Allow;
use crate::audit::AuditLog;
use crate::bind::Bind;
use crate::discover::Scan;
use crate::holder::Holder;
use selfheal_core::command::{self, Spec};
use selfheal_core::interrupt::{self, Interrupts};
use selfheal_core::process::{self, Ending, Process, Refusal};
use serde_json::{Map, Value, json};
use std::path::Path;
use std::time::Duration;

/// What a run does with one holder.
#[derive(Debug)]
pub enum Verdict {
    Signal(Process),
    /// Signalled as the run's target number N (see `Done`).
    Target(usize),
    /// `systemctl stop` its unit (`--stop-unit`).
    StopUnit(String),
    /// Not ours to signal: which filter said no.
    NotAllowed(String),
    /// A supervisor would restart it: which one.
    Supervised(String),
    /// Never signalled (PID 1, ourselves, an ancestor, a kernel thread) or
    /// already gone or recycled.
    Refused(Refusal),
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub kill_supervised: bool,
    pub stop_unit: bool,
}

/// The verdict for each holder, in order.
#[must_use]
pub fn plan(proc_root: &Path, holders: &[Holder], allow: &Allow, opts: Options) -> Vec<Verdict> {
    holders
        .iter()
        .map(|h| verdict(proc_root, h, allow, opts))
        .collect()
}

fn verdict(proc_root: &Path, holder: &Holder, allow: &Allow, opts: Options) -> Verdict {
    if let Some(filter) = allow.refusal(holder) {
        return Verdict::NotAllowed(filter);
    }
    if let Some(supervisor) = &holder.supervisor
        && !opts.kill_supervised
    {
        return match &holder.unit {
            Some(unit) if opts.stop_unit && unit.is_service() => {
                Verdict::StopUnit(unit.name.clone())
            }
            _ => Verdict::Supervised(supervisor.clone()),
        };
    }
    match Process::open_target(proc_root, holder.pid, Some(holder.starttime)) {
        Ok(process) => Verdict::Signal(process),
        Err(refusal) => Verdict::Refused(refusal),
    }
}

/// Everything an acting run did, for its report.
pub struct Run<'a> {
    pub before: &'a Scan,
    pub verdicts: &'a [Verdict],
    /// Who each signalled target is (`pid 4242 (node)`), by target number.
    pub targets: &'a [String],
    pub done: &'a [Done],
    pub stops: &'a [Result<String, String>],
    /// The look after acting; `None` in a dry run.
    pub after: Option<&'a Scan>,
    pub bind: Option<&'a Bind>,
    pub audit_log: Option<String>,
}

/// What happened to one signalled process.
#[derive(Debug, Clone)]
pub struct Done {
    pub pid: i32,
    pub ending: Ending,
    pub signals: Vec<&'static str>,
    /// A signal the kernel refused (EPERM), which is a permission problem.
    pub error: Option<String>,
}

/// Sends TERM/KILL to `processes` (`fields[i]` says who process i is and
/// why), auditing every signal and every ending. A stop signal to us
/// during the grace (`interrupts`) ends it without KILL, audited as such.
pub fn terminate(
    processes: &[Process],
    fields: &[Map<String, Value>],
    grace: Duration,
    audit: Option<&AuditLog>,
    interrupts: Option<&Interrupts>,
) -> std::io::Result<Vec<Done>> {
    let mut done: Vec<Done> = processes
        .iter()
        .map(|p| Done {
            pid: p.pid(),
            ending: Ending::Exited,
            signals: Vec::new(),
            error: None,
        })
        .collect();
    let mut audit_error = None;
    let endings = process::terminate_all_watched(processes, grace, interrupts, |sent| {
        let index = processes
            .iter()
            .position(|p| std::ptr::eq(p, sent.process))
            .expect("a signalled process is one of ours");
        let name = process::signal_name(sent.signal);
        let result = match sent.result {
            Ok(()) => "sent".to_owned(),
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::SRCH.raw_os_error()) => {
                "already gone".into()
            }
            Err(e) => {
                done[index].error = Some(format!("{name} to pid {}: {e}", sent.process.pid()));
                format!("failed: {e}")
            }
        };
        done[index].signals.push(name);
        if let Some(log) = audit {
            let mut line = fields[index].clone();
            line.insert("event".into(), "signal".into());
            line.insert("signal".into(), name.into());
            line.insert("result".into(), result.into());
            if let Err(e) = log.append(&stamped(line)) {
                audit_error.get_or_insert(e);
            }
        }
    });
    for (index, ending) in endings.into_iter().enumerate() {
        done[index].ending = ending;
        // Told to stop before any signal: nothing happened to it to record.
        if done[index].signals.is_empty() && ending == Ending::Interrupted {
            continue;
        }
        if let Some(log) = audit {
            let mut line = fields[index].clone();
            line.insert("event".into(), "ended".into());
            line.insert("ending".into(), ending_name(ending).into());
            if let Some(signal) = interrupts.and_then(Interrupts::received) {
                line.insert("stopped_by".into(), interrupt::signal_name(signal).into());
            }
            log.append(&stamped(line))?;
        }
    }
    audit_error.map_or(Ok(done), Err)
}

/// An audit line with the time it was written and who wrote it.
#[must_use]
pub fn stamped(mut line: Map<String, Value>) -> Map<String, Value> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    line.insert("time".into(), selfheal_core::clock::rfc3339(now).into());
    line.insert("unix".into(), ((now * 1000.0).round() / 1000.0).into());
    line.insert("by_pid".into(), std::process::id().into());
    line
}

/// `exited`, `killed`, `survived (state D)`, `interrupted (...)`.
#[must_use]
pub fn ending_name(ending: Ending) -> String {
    match ending {
        Ending::Exited => "exited".into(),
        Ending::Killed => "killed".into(),
        Ending::Survived { state } => format!("survived (state {state})"),
        Ending::Interrupted => {
            "interrupted (still running, no KILL: port-reaper was told to stop)".into()
        }
    }
}

/// `systemctl stop UNIT` (or `systemctl --user -M UID@ stop UNIT`), argv,
/// never a shell. Returns how it went, as a phrase.
pub fn stop_unit(
    unit: &str,
    user: Option<u32>,
    timeout: Duration,
    interrupts: &Interrupts,
) -> Result<String, String> {
    let mut argv: Vec<std::ffi::OsString> = vec!["systemctl".into()];
    if let Some(uid) = user {
        argv.extend(["--user".into(), "-M".into(), format!("{uid}@").into()]);
    }
    argv.extend(["stop".into(), "--".into(), unit.into()]);
    let mut spec = Spec::new(argv, timeout);
    spec.stdout_to_stderr = true;
    // Told to stop meanwhile, systemctl is stopped too, not waited for.
    match command::run_until_stopped(&spec, interrupts) {
        Ok(done) if done.status.is_some_and(|s| s.success()) => Ok(format!("stopped {unit}")),
        Ok(done) => Err(format!("systemctl stop {unit}: {}", done.describe())),
        Err(e) => Err(format!("systemctl stop {unit}: {e}")),
    }
}

/// The audit fields that say who a target is and why it is signalled.
#[must_use]
pub fn audit_fields(holder: &Holder, port: &str, proto: &str, why: &str) -> Map<String, Value> {
    let value = json!({
        "tool": crate::TOOL.name,
        "port": port,
        "proto": proto,
        "pid": holder.pid,
        "starttime": holder.starttime,
        "comm": holder.comm,
        "user": holder.user,
        "unit": holder.unit.as_ref().map(|u| u.name.clone()),
        "reason": why,
    });
    value.as_object().cloned().unwrap_or_default()
}
