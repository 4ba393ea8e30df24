//! What stall-probe remembers between runs, per `--name`, in its state
//! folder: the streak of critical runs (`--consecutive`), when each
//! watched process last gained CPU time, and the trend window's samples.
//! Every run that keeps history holds the name's lock from load to save.
//! Also the flags that name it (`--name`) and gate on it (`--consecutive`).

use crate::TOOL;
use selfheal_core::cli::StateArgs;
use selfheal_core::clock::Stamp;
use selfheal_core::state::{LockWait, StateLock};
use selfheal_core::{Report, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// When a process last made CPU progress, as last seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuMark {
    /// `pid:start_ticks`: a restarted or recycled pid starts afresh.
    pub identity: String,
    pub cpu_ticks: u64,
    pub progressed_at: Stamp,
}

/// One trend sample, cumulative counters as read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendSample {
    pub at: Stamp,
    /// What was sampled (`pid:start_ticks`, a cgroup path): a change restarts the window.
    pub identity: String,
    pub cpu_seconds: f64,
    /// CPU time wanted (on a CPU plus waiting for one), when known.
    pub demand_seconds: Option<f64>,
    pub memory_bytes: f64,
    /// PSI `some` totals in microseconds: cpu, memory (cgroup v2 only).
    pub pressure_us: Option<(f64, f64)>,
    pub cpu_limit: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct History {
    /// Critical runs in a row.
    pub critical_streak: u32,
    pub cpu: BTreeMap<String, CpuMark>,
    pub samples: Vec<TrendSample>,
}

/// A name's history, locked for this run.
pub struct Session {
    lock: StateLock,
    pub history: History,
}

impl Session {
    /// Locks `name` (waiting up to 10 s for an overlapping run) and loads
    /// its history; a corrupt file is set aside and noted in `report`.
    pub fn open(state: &StateArgs, name: &str, report: &mut Report) -> anyhow::Result<Session> {
        let store = TOOL.state_store(state)?;
        let lock = store
            .lock(name, LockWait::Upto(Duration::from_secs(10)))
            .map_err(|e| anyhow::anyhow!("state for --name {name}: {e}"))?;
        let history = lock.load()?.or_default_warning(report);
        Ok(Session { lock, history })
    }

    pub fn save(&self) -> anyhow::Result<()> {
        self.lock.save(&self.history)?;
        Ok(())
    }
}

/// `--consecutive N`: a CRITICAL run counts; until N in a row, the report
/// stays at WARNING and says how far the streak is. Any other status
/// ends the streak. Returns the streak.
pub fn apply_consecutive(report: &mut Report, streak: &mut u32, needed: u32) -> u32 {
    if report.status != Status::Critical {
        *streak = 0;
        return 0;
    }
    *streak = streak.saturating_add(1);
    if *streak < needed {
        report.status = Status::Warning;
        report.summary = format!(
            "critical in {} of {needed} consecutive runs needed: {}",
            *streak, report.summary
        );
    }
    *streak
}

#[derive(Debug, Clone, clap::Args)]
pub struct GateArgs {
    /// Name the history (CPU marks, trend window, critical streak) is kept
    /// under [default: from the source, e.g. pid-4242, unit-trader@BTC.service]
    #[arg(long, env = "STALL_PROBE_NAME")]
    pub name: Option<String>,
    /// CRITICAL only after this many critical runs in a row (WARNING before)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000), env = "STALL_PROBE_CONSECUTIVE")]
    pub consecutive: u32,
    #[command(flatten)]
    pub state: StateArgs,
}

/// `--name`, checked, or the source's default.
pub fn state_name(
    given: Option<&String>,
    default: impl FnOnce() -> Option<String>,
) -> Result<String, String> {
    let name = match given {
        Some(name) => name.clone(),
        None => default()
            .ok_or("--consecutive needs --name with --query: say what the history is kept under")?,
    };
    selfheal_core::state::validate_name(&name).map_err(|e| format!("--name: {e}"))?;
    Ok(name)
}

/// A state name from a free-form source (`--process 'python3 .*worker'`):
/// characters a name cannot hold become `_`.
#[must_use]
pub fn name_from(prefix: &str, text: &str) -> String {
    let safe: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-@:+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(150)
        .collect();
    format!("{prefix}-{safe}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn critical() -> Report {
        let mut report = TOOL.report();
        report.status = Status::Critical;
        report.summary = "BTC stalled".into();
        report
    }

    #[test]
    fn critical_only_after_n_in_a_row() {
        let mut streak = 0;
        let mut first = critical();
        assert_eq!(apply_consecutive(&mut first, &mut streak, 2), 1);
        assert_eq!(first.status, Status::Warning);
        assert_eq!(
            first.summary,
            "critical in 1 of 2 consecutive runs needed: BTC stalled"
        );
        let mut second = critical();
        assert_eq!(apply_consecutive(&mut second, &mut streak, 2), 2);
        assert_eq!(second.status, Status::Critical);
        let mut fine = TOOL.report();
        assert_eq!(apply_consecutive(&mut fine, &mut streak, 2), 0);
        let mut again = critical();
        apply_consecutive(&mut again, &mut streak, 2);
        assert_eq!(again.status, Status::Warning);
    }

    #[test]
    fn one_means_at_once() {
        let mut streak = 0;
        let mut report = critical();
        apply_consecutive(&mut report, &mut streak, 1);
        assert_eq!(report.status, Status::Critical);
    }

    #[test]
    fn names_from_patterns_are_safe() {
        assert_eq!(
            name_from("process", "python3 .*worker$"),
            "process-python3_._worker_"
        );
        assert!(
            selfheal_core::state::validate_name(&name_from("unit", "trader@BTC.service")).is_ok()
        );
    }
}
