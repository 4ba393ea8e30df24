//! One run: lock the name's history, probe the layers, judge, run the
//! freeze clock, save the history, and hand the result to the renderer.

use crate::cli::Cli;
use crate::evidence::{Answer, E2eEnd, Evidence, RunnerCheck};
use crate::finding::{Context, Finding, Limits};
use crate::history::{History, Signals};
use crate::judge;
use crate::probe::{self, Settings};
use crate::render::{self, Outcome};
use crate::verdict::{Remedy, RemedyKind, Verdict};
use crate::{TOOL, logs};
use anyhow::{Context as _, anyhow};
use selfheal_core::Report;
use selfheal_core::clock::Stamp;
use selfheal_core::state::{LockError, LockWait};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

pub fn run(cli: &Cli) -> anyhow::Result<Report> {
    let started = Instant::now();
    let target = cli.target().map_err(|e| anyhow!(e))?;
    let name = cli.name.clone().unwrap_or_else(|| target.state_name());
    let store = TOOL.state_store(&cli.state)?;
    let wait = LockWait::Upto((cli.timeout / 4).min(Duration::from_secs(5)));
    let lock = store.lock(&name, wait).map_err(|e| match e {
        LockError::Busy => {
            anyhow!("another check of {name} is running (its lock is held); this one stands down")
        }
        LockError::Io(io) => anyhow!(io),
    })?;
    let mut report = TOOL.report();
    let mut hist: History = lock
        .load()
        .context("reading the history")?
        .or_default_warning(&mut report);
    let now = Stamp::now();
    let settings = Settings {
        proc_root: target.is_loopback().then(|| cli.proc_root.clone()),
        target,
        hops: cli.hops().map_err(|e| anyhow!(e))?,
        nvml_lib: (!cli.no_gpu).then(|| cli.nvml_lib.clone()),
        deadline: started + cli.timeout,
    };
    let ev = gather(cli, &settings, &mut hist, &now, &mut report);
    let finding = decide(cli, &ev, &mut hist, &now);
    crate::stop::begin_writing()?;
    lock.save(&hist).context("saving the history")?;
    Ok(render::report(
        report,
        &Outcome {
            ev: &ev,
            finding: &finding,
            hist: &hist,
            now: &now,
            name: &name,
        },
    ))
}

/// Everything the layers can tell within the deadline.
fn gather(
    cli: &Cli,
    s: &Settings,
    hist: &mut History,
    now: &Stamp,
    report: &mut Report,
) -> Evidence {
    let first_read = Instant::now();
    let mut ev = probe::cheap_layers(s);
    let gpu_started = Instant::now();
    ev.gpu = probe::gpu_read(s, &ev);
    if ev.gpu.is_some() {
        let took = gpu_started.elapsed().as_secs_f64();
        ev.durations.insert("gpu", (took * 1e6).round() / 1e6);
    }
    if let Some(source) = cli.log_source() {
        let logs_started = Instant::now();
        match logs::tail(
            &source,
            Duration::from_secs(5).min(s.deadline.saturating_duration_since(Instant::now())),
        ) {
            Ok(text) => ev.log_signs = logs::scan(&text),
            Err(why) => report.warn(format!("log not read: {why}")),
        }
        ev.durations
            .insert("logs", logs_started.elapsed().as_secs_f64());
    }
    let ps_ok = ev.ps.as_ref().is_some_and(|p| p.light.answer == Answer::Ok);
    let loading = ev.runners.iter().any(RunnerCheck::loading);
    let due = History::due(hist.last_e2e.as_ref(), now, cli.e2e_every);
    let wrong = looks_wrong(&ev, hist, now.unix);
    if !ps_ok {
        ev.e2e_skipped = Some("end-to-end skipped: /api/ps unavailable".into());
    } else if loading {
        ev.e2e_skipped = Some("end-to-end deferred: a runner is loading".into());
    } else if due || wrong.is_some() {
        crate::probe_e2e::e2e_all(s, &mut ev, &mut hist.embedding_models);
        hist.last_e2e = Some(now.clone());
    } else {
        ev.e2e_skipped = Some(format!(
            "end-to-end not due (every {})",
            selfheal_core::duration::human(cli.e2e_every)
        ));
    }
    if let Some(model) = &cli.load_probe
        && ps_ok
        && !ev.models().iter().any(|m| &m.name == model)
        && History::due(hist.last_load_probe.as_ref(), now, cli.e2e_every)
    {
        ev.load_probe = Some(crate::probe_e2e::load_probe(s, model));
        hist.last_load_probe = Some(now.clone());
    }
    let unsure = ev.e2e.iter().any(|p| p.end != E2eEnd::Ok)
        || ev.load_probe.is_some()
        || (wrong.is_some() && ev.e2e.is_empty());
    if ps_ok && unsure {
        probe::settle(s, &mut ev, first_read);
    }
    ev
}

/// Why a cheaper layer looks wrong enough to run layer 4 now.
fn looks_wrong(ev: &Evidence, hist: &History, now: f64) -> Option<String> {
    if hist.suspect.is_some() || hist.unhealthy_since.is_some() {
        return Some("the last run was not healthy".into());
    }
    if let Some(m) = ev
        .models()
        .iter()
        .find(|m| m.remaining(now).is_some_and(|r| r < 0.0))
    {
        return Some(format!(
            "{} is past its expiry (a request is attached)",
            m.name
        ));
    }
    if let Some(r) = ev
        .runners
        .iter()
        .find(|r| r.slots_hung || r.health_error.is_some())
    {
        return Some(format!("runner {} does not answer", r.pid));
    }
    (ev.runners.len() != ev.models().len()).then(|| "runner processes and /api/ps disagree".into())
}

/// Models our own probe completed on this run: their expiry moved because of us.
fn probed_ok(ev: &Evidence) -> BTreeSet<&str> {
    ev.e2e
        .iter()
        .filter(|p| p.end == E2eEnd::Ok)
        .map(|p| p.model.as_str())
        .collect()
}

/// The progress signals at the end of this run.
fn signals(ev: &Evidence) -> Signals {
    let ours = probed_ok(ev);
    let mut out = Signals::default();
    let ps = ev
        .ps_after
        .as_ref()
        .or(ev.ps.as_ref())
        .filter(|p| p.light.answer == Answer::Ok);
    for m in ps.map_or(&[][..], |p| p.models.as_slice()) {
        if !ours.contains(m.name.as_str()) {
            out.expires.insert(m.name.clone(), m.expires_at.clone());
        }
    }
    for r in &ev.runners {
        if let Some(slots) = r
            .slots_after
            .as_ref()
            .or(r.slots.as_ref())
            .filter(|s| s.processing > 0)
        {
            out.decoded.insert(r.pid, slots.decoded);
        }
        if let Some(crate::api::Health::Loading { progress: Some(p) }) = r.health {
            out.loading.insert(r.pid, (p * 1000.0) as u64);
        }
    }
    if let Some(gpu) = ev.gpu_after.as_ref().or(ev.gpu.as_ref()) {
        out.gpu_util = gpu.runner_utilization();
    }
    out
}

/// Progress seen within this run (two reads a second apart), or since the last run.
fn progress(ev: &Evidence, now: &Signals, before: &Signals) -> Option<String> {
    if let Some(p) = ev.e2e.iter().find(|p| p.end == E2eEnd::Streaming) {
        return Some(format!("tokens stream from {}", p.model));
    }
    let ours = probed_ok(ev);
    if let (Some(a), Some(b)) = (&ev.ps, &ev.ps_after) {
        for m in &b.models {
            let moved = a
                .models
                .iter()
                .any(|o| o.name == m.name && o.expires_at != m.expires_at);
            if moved && !ours.contains(m.name.as_str()) {
                return Some(format!(
                    "a request on {} completed during the check",
                    m.name
                ));
            }
        }
    }
    if let Some(r) = ev.runners.iter().find(|r| {
        r.decoded_during_run() > 0 && r.slots_after.as_ref().is_some_and(|s| s.processing > 0)
    }) {
        return Some(format!(
            "runner {} decoded {} tokens during the check",
            r.pid,
            r.decoded_during_run()
        ));
    }
    if let (Some(first), Some(last)) = (&ev.gpu, &ev.gpu_after) {
        let util = |g: &crate::gpu::GpuView| Signals {
            gpu_util: g.runner_utilization(),
            ..Signals::default()
        };
        if let Some(moved) = util(last).moved_since(&util(first)) {
            return Some(format!("{moved} during the check"));
        }
    }
    now.moved_since(before)
}

fn decide(cli: &Cli, ev: &Evidence, hist: &mut History, now: &Stamp) -> Finding {
    // Keyed by the blob's file name (sha256-...): one model whatever its directory.
    let births: Vec<(u32, String)> = ev
        .runners
        .iter()
        .map(|r| {
            let blob = r.model_blob.rsplit('/').next().unwrap_or(&r.model_blob);
            (r.pid, blob.to_owned())
        })
        .collect();
    let thrashing = hist.note_runners(now, &births);
    let signals = signals(ev);
    let progress = progress(ev, &signals, &hist.signals);
    if let Some(unit) = ev
        .processes
        .as_ref()
        .and_then(|v| v.server.as_ref())
        .and_then(|s| s.unit.clone().map(|u| (u, s.user_unit)))
    {
        hist.unit = Some(unit);
    }
    hist.gpu_seen |= ev.models().iter().any(|m| m.size_vram > 0)
        || ev.runners.iter().any(|r| {
            ev.gpu
                .as_ref()
                .and_then(|g| g.vram_of(r.pid))
                .is_some_and(|b| b > 0)
        });
    let limits = Limits {
        freeze_after: cli.freeze_after,
        startup_grace: cli.startup_grace,
        load_timeout: cli.load_timeout,
        slow_after: cli.slow_after,
        expect_gpu: cli.expect_gpu,
    };
    let loading_for = loading_for(ev, hist, now);
    let cx = Context {
        ev,
        limits: &limits,
        now: now.unix,
        progress,
        thrashing,
        loading_for,
        gpu_seen: hist.gpu_seen,
        unit: hist.unit.clone(),
    };
    let mut finding = judge::judge(&cx);
    hops(&mut finding, ev);
    freeze_clock(&mut finding, hist, now, cli.freeze_after);
    hist.signals = signals;
    if finding.verdict.healthy() {
        hist.unhealthy_since = None;
        hist.last_success_unix = Some(now.unix);
    } else if hist.unhealthy_since.is_none() {
        hist.unhealthy_since = Some(now.clone());
    }
    finding
}

fn loading_for(ev: &Evidence, hist: &mut History, now: &Stamp) -> Option<Duration> {
    if !ev.runners.iter().any(RunnerCheck::loading) {
        hist.loading_since = None;
        return None;
    }
    let since = hist.loading_since.get_or_insert_with(|| now.clone());
    Some(now.elapsed_since(since))
}

/// A hop that fails while the server itself is healthy is the finding.
fn hops(finding: &mut Finding, ev: &Evidence) {
    let failing: Vec<String> = ev
        .hops
        .iter()
        .filter(|h| h.light.answer != Answer::Ok)
        .map(|h| format!("{} {} {}", h.name, h.address, hop_failure(&h.light)))
        .collect();
    if failing.is_empty() {
        return;
    }
    let upstream = ev.url.trim_start_matches("http://");
    if finding.verdict.healthy() {
        *finding = Finding {
            verdict: Verdict::Down,
            summary: format!("{}; upstream {upstream} healthy", failing.join("; ")),
            remedy: Remedy::new(
                RemedyKind::ReportOnly,
                "fix the hop (proxy, address, firewall): the server itself is fine",
            ),
            stuck: false,
            pending: None,
        };
    } else {
        let _ = write!(finding.summary, " (hops: {})", failing.join("; "));
    }
}

fn hop_failure(light: &crate::evidence::Light) -> String {
    let error = light.error.clone().unwrap_or_default();
    match light.answer {
        Answer::Refused => "refuses".into(),
        Answer::Silent => "accepts but does not answer".into(),
        Answer::Trickle => "answers too slowly".into(),
        Answer::NotOllama => format!("answers, but not as Ollama ({error})"),
        Answer::Ok | Answer::Unreachable => format!("is unreachable ({error})"),
    }
}

/// Stuck findings become CRITICAL only after `freeze_after` without progress.
fn freeze_clock(finding: &mut Finding, hist: &mut History, now: &Stamp, freeze_after: Duration) {
    if !finding.stuck {
        hist.suspect = None;
        return;
    }
    let flat = hist.stuck(now, &finding.summary);
    if flat < freeze_after {
        finding.summary = format!(
            "suspected {}: {} (flat for {}, declared after {})",
            finding.verdict.word(),
            finding.summary,
            selfheal_core::duration::human(flat),
            selfheal_core::duration::human(freeze_after)
        );
        let eventual = std::mem::replace(
            &mut finding.remedy,
            Remedy::new(RemedyKind::None, "wait: not yet flat for --freeze-after"),
        );
        finding.pending = Some(eventual);
    } else {
        finding.summary = format!(
            "{} (no progress for {})",
            finding.summary,
            selfheal_core::duration::human(flat)
        );
    }
}
