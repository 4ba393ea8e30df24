//! One run, in order: is the address ours, who holds the port, what may be
//! done to each holder, do it, and is the port free now.

use crate::audit::AuditLog;
use crate::bind::{self, Bind};
use crate::discover::{self, Scan};
use crate::holder::Holder;
use crate::reap::{self, Done, Run, Verdict};
use crate::render;
use crate::settings::Settings;
use crate::tree;
use anyhow::Context;
use selfheal_core::Report;
use selfheal_core::interrupt::Interrupts;
use selfheal_core::process::Process;
use selfheal_core::state::{LockError, LockWait, StateLock, StateStore};
use serde_json::{Map, Value};
use std::time::{Duration, Instant};

/// How long the port may take to show free once its holders are gone.
const SETTLE: Duration = Duration::from_secs(2);
/// Beyond the grace, how long a run waits for another acting on the port.
const TURN_SLACK: Duration = Duration::from_secs(30);
/// `systemctl stop` gets this long.
const STOP_TIMEOUT: Duration = Duration::from_secs(90);

fn scan(s: &Settings) -> anyhow::Result<Scan> {
    let started = Instant::now();
    let (sockets, source) = discover::sockets(&s.proc_root, &s.query)
        .with_context(|| format!("cannot list the sockets on port {}", s.query.target.port))?;
    let (holders, walk) = discover::holders(&s.sources(), &sockets)
        .context("cannot walk the processes' descriptors")?;
    Ok(Scan {
        sockets,
        source,
        holders,
        walk,
        took: started.elapsed(),
    })
}

pub fn probe(s: &Settings) -> anyhow::Result<Report> {
    if let Some(addr) = s.query.target.addr {
        match bind::address_is_local(addr) {
            Bind::NotLocal => return Ok(render::not_local(s, addr)),
            // Neither "ours" nor "not ours": never guess "free".
            Bind::Failed(e) => anyhow::bail!("cannot tell whether {addr} is on this host: {e}"),
            Bind::Bound | Bind::InUse => {}
        }
    }
    let mut before = scan(s)?;
    // One acting run per port at a time; the lock held, look afresh: a run
    // that waited usually finds the port freed by the other.
    let _turn = if s.list || s.dry_run || before.sockets.is_empty() {
        None
    } else {
        let turn = take_turn(s)?;
        before = scan(s)?;
        Some(turn)
    };
    if s.list || before.sockets.is_empty() {
        let bind = s
            .bind_check
            .then(|| bind::bind_check(&s.query.target, s.query.proto));
        return Ok(render::look(s, &before, bind.as_ref()));
    }
    let mut verdicts = reap::plan(&s.proc_root, &before.holders, &s.allow, s.opts);
    let (processes, fields, why) = targets(s, &before.holders, &mut verdicts)?;
    if s.dry_run {
        let run = Run {
            before: &before,
            verdicts: &verdicts,
            targets: &why,
            done: &[],
            stops: &[],
            after: None,
            bind: None,
            audit_log: None,
        };
        return Ok(render::acted(s, &run));
    }
    let units: Vec<&Holder> = before
        .holders
        .iter()
        .zip(&verdicts)
        .filter_map(|(h, v)| matches!(v, Verdict::StopUnit(_)).then_some(h))
        .collect();
    let audit = if processes.is_empty() && units.is_empty() {
        None
    } else {
        if let Some(dir) = &s.state_dir {
            StateStore::open(dir).context("no audit log, so nothing was signalled")?;
        }
        let log = AuditLog::new(&s.audit_path);
        log.check_writable()
            .context("no audit log, so nothing was signalled")?;
        Some(log)
    };
    // Told to stop mid-grace (a unit's start timeout, Ctrl-C), the run
    // still records each target's ending and reports, instead of dying
    // between TERM and KILL with nothing said.
    let interrupts = Interrupts::watch().context("cannot watch for stop signals")?;
    let stops = stop_units(s, &units, audit.as_ref(), &interrupts)?;
    let done: Vec<Done> = reap::terminate(
        &processes,
        &fields,
        s.grace,
        audit.as_ref(),
        Some(&interrupts),
    )
    .context("cannot write the audit log")?;
    // Told to stop: one last look, no waiting for the port to settle.
    let after = if interrupts.received().is_some() {
        scan(s)?
    } else {
        settle(s, &processes, !stops.is_empty())?
    };
    let bind = s
        .bind_check
        .then(|| bind::bind_check(&s.query.target, s.query.proto));
    let run = Run {
        before: &before,
        verdicts: &verdicts,
        targets: &why,
        done: &done,
        stops: &stops,
        after: Some(&after),
        bind: bind.as_ref(),
        audit_log: audit.as_ref().map(|a| a.path().display().to_string()),
    };
    Ok(render::acted(s, &run))
}

/// The lock on this proto and port, waiting up to the grace plus
/// [`TURN_SLACK`] for another run to finish.
fn take_turn(s: &Settings) -> anyhow::Result<StateLock> {
    let (proto, port) = (s.query.proto.as_str(), s.query.target.port);
    let store = StateStore::open(&s.lock_dir).context("cannot take the port's lock")?;
    match store.lock(
        &format!("{proto}-{port}"),
        LockWait::Upto(s.grace + TURN_SLACK),
    ) {
        Ok(lock) => Ok(lock),
        Err(LockError::Busy) => anyhow::bail!(
            "another port-reaper is still acting on {proto} port {port}: nothing signalled; try again once it is done"
        ),
        Err(e) => Err(anyhow::anyhow!(e).context("cannot take the port's lock")),
    }
}

type Targets = (Vec<Process>, Vec<Map<String, Value>>, Vec<String>);

/// The processes to signal: the allowed holders, and with `--tree` their
/// descendants (never PID 1, ourselves, our ancestors).
fn targets(s: &Settings, holders: &[Holder], verdicts: &mut [Verdict]) -> anyhow::Result<Targets> {
    let port = s.query.target.to_string();
    let (mut processes, mut fields, mut why) = (Vec::new(), Vec::new(), Vec::new());
    let mut roots = Vec::new();
    for (holder, verdict) in holders.iter().zip(verdicts) {
        if matches!(verdict, Verdict::Signal(_)) {
            let Verdict::Signal(process) =
                std::mem::replace(verdict, Verdict::Target(processes.len()))
            else {
                unreachable!("matched above")
            };
            let reason = format!("holds {} port {port}", s.query.proto.as_str());
            fields.push(reap::audit_fields(
                holder,
                &port,
                s.query.proto.as_str(),
                &reason,
            ));
            why.push(format!("pid {} ({})", holder.pid, holder.comm));
            processes.push(process);
            roots.push(holder.pid);
        }
    }
    if s.tree && !roots.is_empty() {
        for stat in tree::descendants(&s.proc_root, &roots).context("cannot list descendants")? {
            // A descendant that holds the port itself keeps its own verdict.
            if holders.iter().any(|h| h.pid == stat.pid) {
                continue;
            }
            if let Ok(process) = Process::open_target(&s.proc_root, stat.pid, Some(stat.starttime))
            {
                let reason = format!("descendant of a holder of port {port} (--tree)");
                let mut line = Map::new();
                line.insert("tool".into(), crate::TOOL.name.into());
                line.insert("port".into(), port.clone().into());
                line.insert("proto".into(), s.query.proto.as_str().into());
                line.insert("pid".into(), stat.pid.into());
                line.insert("starttime".into(), stat.starttime.into());
                line.insert("comm".into(), stat.comm.clone().into());
                line.insert("reason".into(), reason.into());
                fields.push(line);
                why.push(format!("pid {} ({}, descendant)", stat.pid, stat.comm));
                processes.push(process);
            }
        }
    }
    Ok((processes, fields, why))
}

fn stop_units(
    s: &Settings,
    units: &[&Holder],
    audit: Option<&AuditLog>,
    interrupts: &Interrupts,
) -> anyhow::Result<Vec<Result<String, String>>> {
    let mut results: Vec<Result<String, String>> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for holder in units {
        let Some(unit) = &holder.unit else { continue };
        if seen.contains(&unit.name.as_str()) {
            continue;
        }
        seen.push(&unit.name);
        let result = reap::stop_unit(&unit.name, unit.user, STOP_TIMEOUT, interrupts);
        if let Some(log) = audit {
            let why = format!(
                "its unit holds {} port {}",
                s.query.proto.as_str(),
                s.query.target
            );
            let mut line = reap::audit_fields(
                holder,
                &s.query.target.to_string(),
                s.query.proto.as_str(),
                &why,
            );
            line.insert("event".into(), "stop-unit".into());
            line.insert("result".into(), result.clone().unwrap_or_else(|e| e).into());
            log.append(&reap::stamped(line))
                .context("cannot write the audit log")?;
        }
        results.push(result);
    }
    Ok(results)
}

/// Looks again, waiting up to [`SETTLE`] while sockets remain and what
/// this run acted on may still be going (a stopped unit's processes, a
/// target not yet reaped): a holder it left alone is not waited for.
fn settle(s: &Settings, targets: &[Process], stopped_units: bool) -> anyhow::Result<Scan> {
    let deadline = Instant::now() + SETTLE;
    loop {
        let (sockets, _) = discover::sockets(&s.proc_root, &s.query)?;
        let pending = stopped_units || targets.iter().any(Process::is_running);
        if sockets.is_empty() || !pending || Instant::now() >= deadline {
            return scan(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
