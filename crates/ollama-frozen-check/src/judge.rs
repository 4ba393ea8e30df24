//! From evidence to a verdict, pure. The layers are read cheapest first;
//! the first that explains what is wrong decides. Findings that mean "no
//! progress" (frozen, model-wedged, loads-stuck) are marked `stuck`: the
//! caller declares them only after `--freeze-after` of flat signals.

use crate::evidence::{Answer, RunnerCheck};
use crate::finding::{Context, Finding};
use crate::verdict::{Remedy, RemedyKind, Verdict};
use selfheal_core::duration::human;
use std::fmt::Write as _;

/// The verdict of one run, before the freeze clock and the hops.
#[must_use]
pub fn judge(cx: &Context) -> Finding {
    let mut finding = light_layers(cx)
        .or_else(|| scheduler(cx))
        .or_else(|| loading(cx))
        .or_else(|| crate::judge_e2e::generations(cx))
        .or_else(|| crate::judge_e2e::side_signs(cx))
        .unwrap_or_else(|| crate::judge_e2e::healthy(cx));
    crate::judge_gpu::annotate(&mut finding, cx);
    finding
}

/// Layers 0-1: is anything listening and answering HTTP at all?
fn light_layers(cx: &Context) -> Option<Finding> {
    let l1 = &cx.ev.version.light;
    let error = l1.error.clone().unwrap_or_default();
    let server = cx.ev.processes.as_ref().and_then(|v| v.server.as_ref());
    let port_note = match &cx.ev.processes {
        Some(view) if view.listening == Some(false) => " (nothing listens on the port)",
        _ => "",
    };
    Some(match l1.answer {
        Answer::Ok => return None,
        Answer::Refused => Finding::new(
            Verdict::Down,
            format!("{} refuses connections{port_note}", cx.ev.url),
            cx.restart_remedy(),
        ),
        Answer::Silent | Answer::Trickle => {
            if let Some(s) = server.filter(|s| matches!(s.state, 'T' | 't')) {
                return Some(Finding::stuck(
                    Verdict::Frozen,
                    format!(
                        "server process {} ({}) is stopped (state T) and answers nothing",
                        s.pid, s.comm
                    ),
                    cx.restart_remedy(),
                ));
            }
            if cx.in_startup_grace() {
                return Some(Finding::new(
                    Verdict::Loading,
                    format!(
                        "starting: server up {}, connections accepted but not answered yet (startup grace {})",
                        human(cx.server_age().unwrap_or_default()),
                        human(cx.limits.startup_grace)
                    ),
                    Remedy::new(RemedyKind::ReportOnly, "wait: the server is starting"),
                ));
            }
            Finding::stuck(
                Verdict::Frozen,
                format!("{} accepts connections but {error}", cx.ev.url),
                cx.restart_remedy(),
            )
        }
        Answer::NotOllama => {
            let remedy = if server.is_some() {
                cx.restart_remedy()
            } else {
                Remedy::new(
                    RemedyKind::ReportOnly,
                    "check the address: something else may answer there",
                )
            };
            Finding::new(
                Verdict::Down,
                format!("{} answers, but not as Ollama: {error}", cx.ev.url),
                remedy,
            )
        }
        Answer::Unreachable => Finding::new(
            Verdict::Down,
            format!("cannot reach {}: {error}", cx.ev.url),
            Remedy::new(
                RemedyKind::ReportOnly,
                "check the address and the network path",
            ),
        ),
    })
}

/// Layer 2: the scheduler's view. A slow `/api/ps` while a model loads is
/// normal on v0.32.10+ (it locks each runner during its load).
fn scheduler(cx: &Context) -> Option<Finding> {
    let ps = cx.ev.ps.as_ref()?;
    if ps.light.answer == Answer::Ok {
        return None;
    }
    let error = ps.light.error.clone().unwrap_or_default();
    if let Some(r) = cx.ev.runners.iter().find(|r| r.loading()) {
        return Some(Finding::new(
            Verdict::Loading,
            format!("/api/ps blocked while runner {} loads ({error})", r.pid),
            Remedy::none(),
        ));
    }
    if ps.light.answer == Answer::NotOllama {
        return Some(Finding::new(
            Verdict::Down,
            format!("/api/ps answers, but not as Ollama: {error}"),
            cx.restart_remedy(),
        ));
    }
    let hung: Vec<&RunnerCheck> = cx.ev.runners.iter().filter(|r| r.slots_hung).collect();
    if let [runner] = hung.as_slice() {
        return Some(Finding::stuck(
            Verdict::ModelWedged,
            format!(
                "/api/ps {error} and runner {} does not answer /slots (compute loop wedged)",
                runner.pid
            ),
            Remedy::kill_runner(runner.pid),
        ));
    }
    Some(Finding::stuck(
        Verdict::Frozen,
        format!("/api/version answers but /api/ps gives {error}: the scheduler is stuck"),
        cx.restart_remedy(),
    ))
}

/// A runner still loading: fine until `OLLAMA_LOAD_TIMEOUT` passes
/// (Ollama's own stall timer gives up then; still loading means progress).
fn loading(cx: &Context) -> Option<Finding> {
    let runner = cx.ev.runners.iter().find(|r| r.loading())?;
    let progress = match &runner.health {
        Some(crate::api::Health::Loading { progress: Some(p) }) => format!(" ({:.0}%)", p * 100.0),
        _ => String::new(),
    };
    let took = cx.loading_for.unwrap_or_default();
    let mut finding = Finding::new(
        Verdict::Loading,
        format!(
            "runner {} is loading{progress} for {}",
            runner.pid,
            human(took)
        ),
        Remedy::none(),
    );
    if took > cx.limits.load_timeout {
        let _ = write!(
            finding.summary,
            ", longer than OLLAMA_LOAD_TIMEOUT {}",
            human(cx.limits.load_timeout)
        );
        finding.remedy = Remedy::new(
            RemedyKind::ReportOnly,
            "a slow disk, a model too large for the GPU, or a raised OLLAMA_LOAD_TIMEOUT: restarting does not help",
        );
    }
    Some(finding)
}

#[cfg(test)]
#[path = "judge_tests.rs"]
mod tests;
