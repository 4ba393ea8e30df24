//! The judge's second half: end-to-end generations (layer 4), then the
//! side signs (orphan runners, reload loops, log lines, the load probe),
//! then what a healthy server can still be (CPU fallback, slow, busy).

use crate::api::Loaded;
use crate::evidence::{E2e, E2eEnd, Evidence, RunnerCheck};
use crate::finding::{Context, Finding};
use crate::verdict::{Remedy, RemedyKind, Verdict};
use selfheal_core::duration::human;
use std::fmt::Write as _;

fn finding(verdict: Verdict, summary: String, remedy: Remedy, stuck: bool) -> Finding {
    Finding {
        verdict,
        summary,
        remedy,
        stuck,
        pending: None,
    }
}

/// The runner serving `model`, when the evidence pins it down: the only
/// runner for the only model, or the only runner whose `/slots` hangs.
fn runner_of<'a>(ev: &'a Evidence, model: &str, silent: usize) -> Option<&'a RunnerCheck> {
    if let ([runner], [only]) = (ev.runners.as_slice(), ev.models()) {
        return (only.name == model).then_some(runner);
    }
    let hung: Vec<&RunnerCheck> = ev.runners.iter().filter(|r| r.slots_hung).collect();
    match hung.as_slice() {
        [runner] if silent == 1 => Some(runner),
        _ => None,
    }
}

fn model<'a>(ev: &'a Evidence, name: &str) -> Option<&'a Loaded> {
    ev.models().iter().find(|m| m.name == name)
}

/// Layer 4: what the generations said.
#[must_use]
pub fn generations(cx: &Context) -> Option<Finding> {
    let ev = cx.ev;
    let failed: Vec<&E2e> = ev.e2e.iter().filter(|p| p.end != E2eEnd::Ok).collect();
    let first = *failed.first()?;
    let all_failed = failed.len() == ev.e2e.len();
    if let Some(blob) = cx.thrashing.first() {
        return Some(thrash(blob));
    }
    if let Some(moved) = &cx.progress {
        if failed.iter().any(|p| p.end == E2eEnd::Busy503) {
            return Some(finding(
                Verdict::Overloaded,
                format!(
                    "generate on {} got a fast 503 (queue full) while work completes: {moved}",
                    first.model
                ),
                Remedy::new(
                    RemedyKind::ReportOnly,
                    "more requests than OLLAMA_MAX_QUEUE allows: slow the clients or add capacity",
                ),
                false,
            ));
        }
        if failed
            .iter()
            .all(|p| matches!(p.end, E2eEnd::Silent | E2eEnd::Streaming))
        {
            return Some(finding(
                Verdict::Busy,
                format!(
                    "generate on {} waited {:.1}s behind other work, which progresses: {moved}",
                    first.model, first.seconds
                ),
                Remedy::none(),
                false,
            ));
        }
    }
    let silent = failed.iter().filter(|p| p.end == E2eEnd::Silent).count();
    let runner = runner_of(ev, &first.model, silent);
    let kill_or_restart =
        || runner.map_or_else(|| cx.restart_remedy(), |r| Remedy::kill_runner(r.pid));
    let what = failure_text(cx, first, runner);
    Some(match first.end {
        E2eEnd::Busy503 => finding(
            Verdict::Frozen,
            format!(
                "every generate gets a fast 503 and nothing completes ({}): scheduler deadlocked",
                first.model
            ),
            cx.restart_remedy(),
            true,
        ),
        E2eEnd::Unreachable => finding(Verdict::Down, what, cx.restart_remedy(), false),
        _ if all_failed && ev.e2e.len() > 1 && runner.is_none() => finding(
            Verdict::Frozen,
            format!("generate fails on every loaded model ({what})"),
            cx.restart_remedy(),
            true,
        ),
        // A fast error: the runner died or refuses; Ollama reloads it on the
        // next request, so only a failure that persists calls for a restart.
        E2eEnd::Error => finding(Verdict::ModelWedged, what, cx.restart_remedy(), true),
        _ => finding(Verdict::ModelWedged, what, kill_or_restart(), true),
    })
}

fn failure_text(cx: &Context, probe: &E2e, runner: Option<&RunnerCheck>) -> String {
    let error = probe.error.clone().unwrap_or_default();
    let mut text = format!("generate on {}: {error}", probe.model);
    if let Some(r) = runner {
        if r.slots_hung {
            let _ = write!(
                text,
                "; runner {} answers /health but not /slots (compute loop wedged)",
                r.pid
            );
        } else {
            let _ = write!(text, "; runner {}", r.pid);
        }
    }
    if let Some(left) = model(cx.ev, &probe.model).and_then(|m| m.remaining(cx.now))
        && left < 0.0
    {
        let _ = write!(
            text,
            "; expires_at passed {} ago (Stopping...)",
            human(std::time::Duration::from_secs_f64(-left))
        );
    }
    text
}

fn thrash(blob: &str) -> Finding {
    let short = blob.rsplit('/').next().unwrap_or(blob);
    finding(
        Verdict::Thrashing,
        format!(
            "the runner of {short} was started {}+ times in {}: evicted and reloaded in a loop",
            crate::history::THRASH_LOADS,
            human(crate::history::THRASH_WINDOW)
        ),
        Remedy::new(
            RemedyKind::ReportOnly,
            "the model does not fit even alone: lower its num_ctx or use a smaller quantisation",
        ),
        false,
    )
}

/// Orphan runners, reload loops, log signs and the load probe.
#[must_use]
pub fn side_signs(cx: &Context) -> Option<Finding> {
    let ev = cx.ev;
    if let Some(orphan) = ev.processes.as_ref().and_then(|v| v.orphans.first()) {
        return Some(orphan_finding(
            orphan.pid,
            &orphan.model,
            "its server is gone",
        ));
    }
    let ps_ok = ev
        .ps
        .as_ref()
        .is_some_and(|p| p.light.answer == crate::evidence::Answer::Ok);
    // Only a runner known to be this server's (see procs::server_runners).
    if ps_ok
        && ev.server_pid().is_some()
        && ev.models().is_empty()
        && !ev.runners.iter().any(RunnerCheck::loading)
        && let Some(r) = ev.runners.first()
    {
        return Some(orphan_finding(
            r.pid,
            &r.model_blob,
            "/api/ps lists no model",
        ));
    }
    if let Some(blob) = cx.thrashing.first() {
        return Some(thrash(blob));
    }
    if let Some(probe) = &ev.load_probe
        && matches!(probe.end, E2eEnd::Silent)
        && cx.progress.is_none()
    {
        return Some(finding(
            Verdict::LoadsStuck,
            format!(
                "--load-probe {}: the load hangs ({}) while loaded models answer",
                probe.model,
                probe.error.clone().unwrap_or_default()
            ),
            cx.restart_remedy(),
            true,
        ));
    }
    crate::logs::finding(cx)
}

fn orphan_finding(pid: u32, blob: &str, why: &str) -> Finding {
    let short = blob.rsplit('/').next().unwrap_or(blob);
    finding(
        Verdict::ModelWedged,
        format!("runner {pid} ({short}) is not serving any model ({why}) but keeps its memory"),
        Remedy::kill_runner(pid),
        true,
    )
}

/// Nothing failed: a CPU fallback, a slow GPU, a busy one, or all fine.
#[must_use]
pub fn healthy(cx: &Context) -> Finding {
    let ev = cx.ev;
    if let Some(fallback) = crate::judge_gpu::cpu_fallback(cx) {
        return fallback;
    }
    if let Some(p) = ev
        .e2e
        .iter()
        .find(|p| p.generation.compute_secs() > cx.limits.slow_after.as_secs_f64())
    {
        return finding(
            Verdict::Slow,
            format!(
                "generate on {} works but one token took {:.1}s of compute (over {})",
                p.model,
                p.generation.compute_secs(),
                human(cx.limits.slow_after)
            ),
            Remedy::new(
                RemedyKind::ReportOnly,
                "a degraded or throttled GPU (vGPU licence, thermal, power): check the host",
            ),
            false,
        );
    }
    if let Some(moved) = cx.progress.as_ref().filter(|_| {
        ev.runners
            .iter()
            .any(|r| r.slots.as_ref().is_some_and(|s| s.processing > 0))
    }) {
        return finding(
            Verdict::Busy,
            format!("busy: {moved}"),
            Remedy::none(),
            false,
        );
    }
    let loaded = ev.models().len();
    let e2e = match ev.e2e.first() {
        Some(p) => format!("generate on {} in {:.2}s", p.model, p.seconds),
        None => ev.e2e_skipped.clone().unwrap_or_default(),
    };
    finding(
        Verdict::Ok,
        format!("{loaded} model(s) loaded, {e2e}"),
        Remedy::none(),
        false,
    )
}
