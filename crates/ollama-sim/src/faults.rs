//! The faults the simulator can inject, by name, and which are active.
//! Each reproduces one failure signature users reported (S1-S17) or one
//! hostile byte-level behaviour a probe must survive.

use crate::compute::RunnerFaults;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    WedgedRunner,
    StuckUnload,
    Runaway,
    RunnerDies,
    MidStreamError,
    SlowLoad,
    SchedulerDeadlock,
    AcceptNoAnswer,
    CpuFallback,
    Slow,
    OrphanRunner,
    Overload,
    LoadsHang,
    Thrash,
    Trickle,
    HugeBody,
    InvalidJson,
    WrongContentType,
    Http500,
    Refuse,
}

/// How much slower tokens come from a degraded GPU (S9: a vSphere licence
/// problem made one request take 10 minutes).
pub const SLOW_GPU_SLOWDOWN: u32 = 50;

/// Name and one-line description of every fault, for `--help` and errors.
pub const ALL: [(Fault, &str, &str); 20] = [
    (
        Fault::WedgedRunner,
        "wedged-runner",
        "S1: runner compute wedged; generate and /slots hang, /health and /api/ps fine",
    ),
    (
        Fault::StuckUnload,
        "stuck-unload",
        "S2: model stuck \"Stopping...\" (expires_at in the past); its requests hang",
    ),
    (
        Fault::Runaway,
        "runaway",
        "S3: generation never ends, tokens keep streaming (busy, not frozen)",
    ),
    (
        Fault::RunnerDies,
        "runner-dies",
        "S4: the runner exits on a completion; generate gets a fast 500",
    ),
    (
        Fault::MidStreamError,
        "mid-stream-error",
        "S4 mid-stream: the runner exits after 3 tokens; HTTP 200 then an {\"error\"} line",
    ),
    (
        Fault::SlowLoad,
        "slow-load",
        "S5: loads take --slow-load-time, with progress on the runner's /health",
    ),
    (
        Fault::SchedulerDeadlock,
        "scheduler-deadlock",
        "S6: every generate/embed gets a fast 503, nothing completes, expires_at frozen in the past",
    ),
    (
        Fault::AcceptNoAnswer,
        "accept-no-answer",
        "S7: connections are accepted, requests never answered (control endpoint still works)",
    ),
    (
        Fault::CpuFallback,
        "cpu-fallback",
        "S8: size_vram 0 in /api/ps, generation 10x slower",
    ),
    (
        Fault::Slow,
        "slow",
        "S9: a degraded GPU; tokens 50x slower, size_vram unchanged",
    ),
    (
        Fault::OrphanRunner,
        "orphan-runner",
        "S10: a runner process holding memory that /api/ps does not list",
    ),
    (
        Fault::Overload,
        "overload",
        "S15: generate/embed get a fast 503 while other clients' completions go on",
    ),
    (
        Fault::LoadsHang,
        "loads-hang",
        "S16: requests needing a load hang silently; loaded models answer",
    ),
    (
        Fault::Thrash,
        "thrash",
        "S17: a model is evicted and reloaded in a loop; its requests never finish",
    ),
    (
        Fault::Trickle,
        "trickle",
        "every response is sent one byte per second",
    ),
    (
        Fault::HugeBody,
        "huge-body",
        "every response is a 1 GiB JSON body, streamed",
    ),
    (
        Fault::InvalidJson,
        "invalid-json",
        "every response is 200 application/json that is not JSON",
    ),
    (
        Fault::WrongContentType,
        "wrong-content-type",
        "every response is a 200 text/html page",
    ),
    (
        Fault::Http500,
        "http-500",
        "every response is a 500 with an {\"error\"} body",
    ),
    (
        Fault::Refuse,
        "refuse",
        "the listener is closed: connections are refused (cannot be cleared)",
    ),
];

impl Fault {
    #[must_use]
    pub fn name(self) -> &'static str {
        ALL.iter()
            .find(|(f, _, _)| *f == self)
            .map_or("?", |(_, n, _)| n)
    }

    /// Faults that replace every Ollama response at the connection level.
    #[must_use]
    pub fn is_wire(self) -> bool {
        matches!(
            self,
            Fault::AcceptNoAnswer
                | Fault::Trickle
                | Fault::HugeBody
                | Fault::InvalidJson
                | Fault::WrongContentType
                | Fault::Http500
                | Fault::Refuse
        )
    }
}

/// Parses a fault name, listing the valid ones when it is unknown.
pub fn parse(name: &str) -> Result<Fault, String> {
    ALL.iter()
        .find(|(_, n, _)| *n == name)
        .map(|(f, _, _)| *f)
        .ok_or_else(|| {
            let names: Vec<&str> = ALL.iter().map(|(_, n, _)| *n).collect();
            format!("unknown fault '{name}': use one of {}", names.join(", "))
        })
}

/// `NAME` or `NAME=MODEL`, as `--fault` takes it.
pub fn parse_arg(text: &str) -> Result<(Fault, Option<String>), String> {
    match text.split_once('=') {
        Some((name, model)) => Ok((parse(name)?, Some(crate::models::full_name(model)))),
        None => Ok((parse(text)?, None)),
    }
}

/// The active faults, each for one model or (None) for all.
#[derive(Debug, Default, Clone)]
pub struct Active(Vec<(Fault, Option<String>)>);

impl Active {
    pub fn set(&mut self, fault: Fault, model: Option<String>) {
        self.0.retain(|(f, m)| !(*f == fault && *m == model));
        self.0.push((fault, model));
    }

    pub fn clear(&mut self) -> Vec<(Fault, Option<String>)> {
        std::mem::take(&mut self.0)
    }

    /// Whether `fault` is on for `model` (a fault without a model is on for all).
    #[must_use]
    pub fn on(&self, fault: Fault, model: &str) -> bool {
        self.0
            .iter()
            .any(|(f, m)| *f == fault && m.as_deref().is_none_or(|m| m == model))
    }

    #[must_use]
    pub fn any(&self, fault: Fault) -> bool {
        self.0.iter().any(|(f, _)| *f == fault)
    }

    /// The first wire-level fault, which decides every response.
    #[must_use]
    pub fn wire(&self) -> Option<Fault> {
        self.0.iter().map(|(f, _)| *f).find(|f| f.is_wire())
    }

    #[must_use]
    pub fn list(&self) -> &[(Fault, Option<String>)] {
        &self.0
    }

    /// What the runner of `model` must do under the active faults.
    #[must_use]
    pub fn for_runner(&self, model: &str) -> RunnerFaults {
        RunnerFaults {
            wedge: self.on(Fault::WedgedRunner, model),
            runaway: self.on(Fault::Runaway, model),
            die_after: if self.on(Fault::RunnerDies, model) {
                Some(0)
            } else if self.on(Fault::MidStreamError, model) {
                Some(3)
            } else {
                None
            },
            slowdown: if self.on(Fault::Slow, model) {
                SLOW_GPU_SLOWDOWN
            } else if self.on(Fault::CpuFallback, model) {
                10
            } else {
                1
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (fault, name, _) in ALL {
            assert_eq!(parse(name), Ok(fault));
            assert_eq!(fault.name(), name);
        }
        let err = parse("frozen").unwrap_err();
        assert!(
            err.contains("'frozen'") && err.contains("wedged-runner"),
            "{err}"
        );
    }

    #[test]
    fn model_scoped_faults() {
        let mut active = Active::default();
        active.set(Fault::WedgedRunner, Some("a:latest".into()));
        assert!(active.on(Fault::WedgedRunner, "a:latest"));
        assert!(!active.on(Fault::WedgedRunner, "b:latest"));
        active.set(Fault::CpuFallback, None);
        assert_eq!(active.for_runner("b:latest").slowdown, 10);
        active.set(Fault::Slow, Some("b:latest".into()));
        assert_eq!(active.for_runner("b:latest").slowdown, SLOW_GPU_SLOWDOWN);
        assert_eq!(
            parse_arg("runaway=llama3.2"),
            Ok((Fault::Runaway, Some("llama3.2:latest".into())))
        );
        assert_eq!(active.clear().len(), 3);
        assert!(!active.any(Fault::CpuFallback));
    }
}
