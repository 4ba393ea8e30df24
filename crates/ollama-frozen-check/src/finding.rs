//! What the judge works with and what it finds: the limits from the flags,
//! the context of one run (its evidence and what earlier runs saw), and a
//! finding (verdict, summary, remedy, whether it means "no progress").

use crate::evidence::Evidence;
use crate::verdict::{Remedy, Verdict};
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
    pub(crate) fn new(verdict: Verdict, summary: impl Into<String>, remedy: Remedy) -> Finding {
        Finding {
            verdict,
            summary: summary.into(),
            remedy,
            stuck: false,
            pending: None,
        }
    }

    pub(crate) fn stuck(verdict: Verdict, summary: impl Into<String>, remedy: Remedy) -> Finding {
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

    pub(crate) fn server_age(&self) -> Option<Duration> {
        let server = self.ev.processes.as_ref()?.server.as_ref()?;
        Duration::try_from_secs_f64(server.age_secs).ok()
    }

    pub(crate) fn in_startup_grace(&self) -> bool {
        self.server_age()
            .is_some_and(|age| age < self.limits.startup_grace)
    }
}
