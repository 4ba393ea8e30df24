//! The run's result as a report: one line with the verdict and perfdata,
//! a line per layer, JSON `details` (`verdict`, `declared`, `remedy`,
//! `layers`, `history`) and the `selfheal_ollama_frozen_check_*` metrics.

use crate::evidence::{Answer, E2eEnd, Evidence};
use crate::finding::Finding;
use crate::history::History;
use crate::verdict::{Verdict, status_of};
use selfheal_core::clock::Stamp;
use selfheal_core::metrics::{MetricFamily, MetricKind, Unit};
use selfheal_core::{Check, Report, Status};
use serde_json::json;

pub struct Outcome<'a> {
    pub ev: &'a Evidence,
    pub finding: &'a Finding,
    pub hist: &'a History,
    pub now: &'a Stamp,
    pub name: &'a str,
}

const PREFIX: &str = "selfheal_ollama_frozen_check_";

#[must_use]
pub fn report(mut report: Report, out: &Outcome) -> Report {
    let f = out.finding;
    let status = if f.pending.is_some() {
        Status::Warning
    } else {
        status_of(f.verdict, f.remedy.kind)
    };
    layer_checks(&mut report, out.ev);
    report.status = status;
    report.summary = format!("{}: {}", f.verdict.word(), f.summary);
    report.detail_lines = detail_lines(out);
    report
        .details
        .insert("verdict".into(), json!(f.verdict.word()));
    report
        .details
        .insert("declared".into(), json!(f.pending.is_none()));
    report.details.insert("remedy".into(), json!(f.remedy));
    if let Some(eventual) = &f.pending {
        report
            .details
            .insert("remedy_when_declared".into(), json!(eventual));
    }
    report.details.insert("name".into(), json!(out.name));
    report.details.insert("url".into(), json!(out.ev.url));
    report.details.insert("layers".into(), json!(out.ev));
    report.details.insert("history".into(), history(out));
    report.metrics = metrics(out);
    report.keep_perfdata(&[
        "selfheal_ollama_frozen_check_up",
        "selfheal_ollama_frozen_check_models_loaded",
        "selfheal_ollama_frozen_check_unhealthy_seconds",
    ]);
    report
}

fn history(out: &Outcome) -> serde_json::Value {
    let h = out.hist;
    json!({
        "suspect_since": h.suspect.as_ref().map(|s| s.since.rfc3339()),
        "unhealthy_since": h.unhealthy_since.as_ref().map(Stamp::rfc3339),
        "last_success": h.last_success_unix.map(selfheal_core::clock::rfc3339),
        "last_e2e": h.last_e2e.as_ref().map(Stamp::rfc3339),
        "gpu_seen": h.gpu_seen,
    })
}

fn layer_checks(report: &mut Report, ev: &Evidence) {
    let fine = |ok: bool| if ok { Status::Ok } else { Status::Warning };
    let v = &ev.version.light;
    report.check(Check::new(
        "l1-http",
        fine(v.answer == Answer::Ok),
        light_text(v, ev.version.version.as_deref()),
    ));
    if let Some(ps) = &ev.ps {
        let text = if ps.light.answer == Answer::Ok {
            format!("{} model(s) in {:.3}s", ps.models.len(), ps.light.seconds)
        } else {
            light_text(&ps.light, None)
        };
        report.check(Check::new(
            "l2-ps",
            fine(ps.light.answer == Answer::Ok),
            text,
        ));
    }
    for r in &ev.runners {
        let ok = r.health_error.is_none() && !r.slots_hung;
        report.check(Check::new("l3-runner", fine(ok), runner_text(r)));
    }
    if let Some(gpu) = &ev.gpu {
        gpu_check(report, gpu, ev);
    }
    for p in &ev.e2e {
        let text = match p.end {
            E2eEnd::Ok => format!(
                "{}: {} token(s) in {:.3}s",
                p.model,
                p.generation.eval_count.max(1),
                p.seconds
            ),
            _ => format!(
                "{}: {:?} after {:.3}s: {}",
                p.model,
                p.end,
                p.seconds,
                p.error.clone().unwrap_or_default()
            ),
        };
        report.check(Check::new("l4-generate", fine(p.end == E2eEnd::Ok), text));
    }
    for h in &ev.hops {
        report.check(Check::new(
            &format!("hop-{}", h.name),
            fine(h.light.answer == Answer::Ok),
            format!("{}: {}", h.address, light_text(&h.light, None)),
        ));
    }
}

fn gpu_check(report: &mut Report, gpu: &crate::gpu::GpuView, ev: &Evidence) {
    if gpu.available() {
        let pids: Vec<u32> = ev.runners.iter().map(|r| r.pid).collect();
        let text = gpu
            .describe(&pids)
            .unwrap_or_else(|| format!("{} GPU(s), no runner holds VRAM", gpu.gpus.len()));
        report.check(Check::new("gpu", Status::Ok, text));
        return;
    }
    // No library is the normal case on a box without NVIDIA: no line.
    let text = match &gpu.nvidia {
        gpu_probe::NvidiaState::Hung { message }
        | gpu_probe::NvidiaState::VersionMismatch { message }
        | gpu_probe::NvidiaState::DriverNotLoaded { message }
        | gpu_probe::NvidiaState::Failed { message } => message.clone(),
        _ => return,
    };
    report.check(Check::new("gpu", Status::Warning, text));
}

fn light_text(l: &crate::evidence::Light, version: Option<&str>) -> String {
    match (&l.error, version) {
        (Some(e), _) => format!("{:?}: {e}", l.answer).to_lowercase(),
        (None, Some(v)) => format!("version {v} in {:.3}s", l.seconds),
        (None, None) => format!("answered in {:.3}s", l.seconds),
    }
}

fn runner_text(r: &crate::evidence::RunnerCheck) -> String {
    let health = match (&r.health, &r.health_error) {
        (Some(h), _) => serde_json::to_value(h)
            .ok()
            .and_then(|v| v["state"].as_str().map(str::to_owned))
            .unwrap_or_default(),
        (None, Some(e)) => format!("health {e}"),
        (None, None) => "no port".into(),
    };
    let slots = match (&r.slots_after, &r.slots, r.slots_hung) {
        (_, _, true) => ", /slots does not answer".to_owned(),
        (Some(s), _, _) | (None, Some(s), _) => {
            format!(", slots {}/{} busy", s.processing, s.total)
        }
        _ => String::new(),
    };
    format!("pid {} (state {}) {health}{slots}", r.pid, r.state)
}

fn detail_lines(out: &Outcome) -> Vec<String> {
    let f = out.finding;
    let mut lines = Vec::new();
    let remedy = f.pending.as_ref().unwrap_or(&f.remedy);
    let label = if f.pending.is_some() {
        "remedy once declared"
    } else {
        "remedy"
    };
    let command = remedy
        .command
        .as_ref()
        .map(|c| format!(" ({})", c.join(" ")))
        .unwrap_or_default();
    lines.push(format!(
        "{label}: {}{command}{}",
        remedy.kind.word(),
        if remedy.why.is_empty() {
            String::new()
        } else {
            format!(": {}", remedy.why)
        }
    ));
    if let Some(skip) = &out.ev.e2e_skipped {
        lines.push(skip.clone());
    }
    for sign in &out.ev.log_signs {
        lines.push(format!(
            "log sign {} ({}): {}",
            sign.signature, sign.verdict_hint, sign.line
        ));
    }
    lines
}

fn gauge(name: &str, unit: Unit, help: &str) -> MetricFamily {
    MetricFamily::new(&format!("{PREFIX}{name}"), MetricKind::Gauge, unit, help)
}

fn metrics(out: &Outcome) -> Vec<MetricFamily> {
    let ev = out.ev;
    let n = [("name", out.name)];
    let up = f64::from(u8::from(ev.version.light.answer == Answer::Ok));
    let mut verdict = gauge(
        "verdict",
        Unit::Count,
        "1 for the verdict of the last run, 0 for the others.",
    );
    for v in Verdict::ALL {
        verdict.push(
            &[("name", out.name), ("verdict", v.word())],
            f64::from(u8::from(v == out.finding.verdict)),
        );
    }
    let mut durations = gauge(
        "probe_duration_seconds",
        Unit::Seconds,
        "How long each layer took in the last run (l0 processes, l1 version, l2 ps, l3 runners, l4 generate).",
    );
    for (layer, secs) in &ev.durations {
        durations.push(&[("name", out.name), ("layer", layer)], *secs);
    }
    let mut vram = gauge(
        "model_vram_bytes",
        Unit::Bytes,
        "VRAM held by each loaded model (size_vram in /api/ps).",
    );
    let mut size = gauge(
        "model_size_bytes",
        Unit::Bytes,
        "Total memory of each loaded model (size in /api/ps).",
    );
    for m in ev.models() {
        vram.push(
            &[("name", out.name), ("model", &m.name)],
            m.size_vram as f64,
        );
        size.push(&[("name", out.name), ("model", &m.name)], m.size as f64);
    }
    let unhealthy = out
        .hist
        .unhealthy_since
        .as_ref()
        .map_or(0.0, |s| out.now.elapsed_since(s).as_secs_f64());
    let mut families = vec![
        gauge(
            "up",
            Unit::Count,
            "1 when the server answers HTTP (/api/version).",
        )
        .with(&n, up),
        verdict,
        durations,
        gauge("models_loaded", Unit::Count, "Models listed by /api/ps.")
            .with(&n, ev.models().len() as f64),
        gauge(
            "runner_processes",
            Unit::Count,
            "Runner processes of the server seen in /proc.",
        )
        .with(&n, ev.runners.len() as f64),
        vram,
        size,
        gauge(
            "unhealthy_seconds",
            Unit::Seconds,
            "How long the server has not been healthy (0 when healthy).",
        )
        .with(&n, unhealthy),
    ];
    if let Some(last) = out.hist.last_success_unix {
        families.push(
            gauge(
                "last_success_timestamp_seconds",
                Unit::Seconds,
                "When a run last found the server healthy (Unix time).",
            )
            .with(&n, last),
        );
    }
    if let Some(gpu) = ev.gpu.as_ref().filter(|g| g.available()) {
        families.extend(gpu_metrics(gpu, ev, out.name));
    }
    if !ev.hops.is_empty() {
        let mut hops = gauge(
            "hop_up",
            Unit::Count,
            "1 when the server answers through this hop.",
        );
        for h in &ev.hops {
            hops.push(
                &[("name", out.name), ("hop", &h.name)],
                f64::from(u8::from(h.light.answer == Answer::Ok)),
            );
        }
        families.push(hops);
    }
    families.retain(|f| !f.samples.is_empty());
    families
}

fn gpu_metrics(gpu: &crate::gpu::GpuView, ev: &Evidence, name: &str) -> [MetricFamily; 2] {
    let mut vram = gauge(
        "runner_vram_bytes",
        Unit::Bytes,
        "VRAM each runner process holds, as the NVIDIA driver reports it (0: none).",
    );
    for r in &ev.runners {
        let pid = r.pid.to_string();
        let held = gpu.vram_of(r.pid).unwrap_or(0);
        vram.push(&[("name", name), ("pid", &pid)], held as f64);
    }
    let mut util = gauge(
        "gpu_utilization_ratio",
        Unit::Ratio,
        "Utilisation of each GPU a runner holds memory on (0 to 1).",
    );
    for g in &gpu.gpus {
        let runs_a_runner = gpu.runners.iter().any(|r| r.gpu == g.index);
        if let Some(percent) = g.utilization_percent.filter(|_| runs_a_runner) {
            let index = g.index.to_string();
            util.push(
                &[("name", name), ("gpu", &index)],
                f64::from(percent) / 100.0,
            );
        }
    }
    [vram, util]
}
