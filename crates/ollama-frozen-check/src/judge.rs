//! From evidence to a verdict, pure. The layers are read cheapest first;
//! the first that explains what is wrong decides. Findings that mean "no
//! progress" (frozen, model-wedged, loads-stuck) are marked `stuck`: the
//! caller declares them only after `--freeze-after` of flat signals.

use crate::evidence::{Answer, Evidence, RunnerCheck};
use crate::verdict::{Remedy, RemedyKind, Verdict};
use selfheal_core::duration::human;
use std::fmt::Write as _;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Limits {
    pub freeze_after: Duration,
    pub startup_grace: Duration,
    pub load_timeout: Duration,
    pub slow_after: Duration,
    pub expect_gpu: bool,
}

/// What the judge knows besides this run's evidence.
pub struct Context<'a> {
    pub ev: &'a Evidence,
    pub limits: &'a Limits,
    /// Wall clock, Unix seconds (for `expires_at`).
    pub now: f64,
    /// What moved since the last run or during this one, if anything.
    pub progress: Option<String>,
    /// Model blobs whose runner was started again and again.
    pub thrashing: Vec<String>,
    /// How long some runner has been loading.
    pub loading_for: Option<Duration>,
    pub gpu_seen: bool,
    pub unit: Option<(String, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub verdict: Verdict,
    pub summary: String,
    pub remedy: Remedy,
    /// Means "no progress": declared only after `--freeze-after`.
    pub stuck: bool,
    /// Stuck but not yet for `--freeze-after`: the remedy it will get.
    pub pending: Option<Remedy>,
}

impl Finding {
    fn new(verdict: Verdict, summary: impl Into<String>, remedy: Remedy) -> Finding {
        Finding {
            verdict,
            summary: summary.into(),
            remedy,
            stuck: false,
            pending: None,
        }
    }

    fn stuck(verdict: Verdict, summary: impl Into<String>, remedy: Remedy) -> Finding {
        Finding {
            stuck: true,
            ..Finding::new(verdict, summary, remedy)
        }
    }
}

impl Context<'_> {
    #[must_use]
    pub fn restart_remedy(&self) -> Remedy {
        Remedy::restart_server(self.ev.server_pid(), self.unit.as_ref())
    }

    fn server_age(&self) -> Option<Duration> {
        let server = self.ev.processes.as_ref()?.server.as_ref()?;
        Duration::try_from_secs_f64(server.age_secs).ok()
    }

    fn in_startup_grace(&self) -> bool {
        self.server_age()
            .is_some_and(|age| age < self.limits.startup_grace)
    }
}

/// The verdict of one run, before the freeze clock and the hops.
#[must_use]
pub fn judge(cx: &Context) -> Finding {
    light_layers(cx)
        .or_else(|| scheduler(cx))
        .or_else(|| loading(cx))
        .or_else(|| crate::judge_e2e::generations(cx))
        .or_else(|| crate::judge_e2e::side_signs(cx))
        .unwrap_or_else(|| crate::judge_e2e::healthy(cx))
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
