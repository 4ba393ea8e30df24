//! `loops --unit UNIT --max 50/1h`: is systemd restarting this unit in a
//! loop (the gateway restarted 388 times an hour)? Reads the unit's
//! `NRestarts` through `systemctl show`, keeps timed samples in state
//! (`<state-dir>/restart-guard/loops/<unit>.json`) and reports restarts per
//! window as a probe: 0 OK, 1 WARNING (above --warn), 2 CRITICAL (above
//! --max), 3 UNKNOWN (no systemd, unknown unit). Without systemd it says so;
//! it never guesses.
//!
//! NRestarts drops to 0 on `systemctl reset-failed` (and when a stopped unit
//! starts again), so a decrease is a counter reset, counted like
//! Prometheus' `increase()` does: the new value is the restarts since.

use crate::cli::LoopsArgs;
use crate::render::{self, TOOL};
use selfheal_core::clock::Stamp;
use selfheal_core::command::{self, Spec};
use selfheal_core::duration::human;
use selfheal_core::metrics::{MetricFamily, MetricKind, Unit};
use selfheal_core::state::{LockWait, StateStore};
use selfheal_core::{Outcome, Report, Status};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::time::Duration;

/// Where Linux names PID 1, to say what runs instead of systemd.
pub const PID1_COMM: &str = "/proc/1/comm";
/// Samples kept per unit at most (a sample a second for a day and more).
const MAX_SAMPLES: usize = 100_000;

/// One reading of the counter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub at: Stamp,
    pub n_restarts: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoopState {
    pub samples: Vec<Sample>,
}

/// Restarts seen in the window, over how much of it samples cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub restarts: u64,
    pub observed: Duration,
}

impl Count {
    /// The rate over the observed span, per hour (0 before a second sample).
    #[must_use]
    pub fn per_hour(&self) -> f64 {
        let secs = self.observed.as_secs_f64();
        if secs > 0.0 {
            self.restarts as f64 * 3600.0 / secs
        } else {
            0.0
        }
    }
}

/// Parses `systemctl show -p NRestarts -p LoadState` output (`KEY=VALUE`
/// lines) into the counter, or why it cannot be read.
pub fn parse_show(text: &str, unit: &str) -> Result<u64, String> {
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::trim)
    };
    if value("LoadState") == Some("not-found") {
        return Err(format!("unit {unit} not found (LoadState=not-found)"));
    }
    let raw = value("NRestarts")
        .ok_or_else(|| format!("systemctl printed no NRestarts for {unit}: {text:?}"))?;
    raw.parse().map_err(|_| {
        format!("NRestarts of {unit} is {raw:?}, not a number (is it a .service unit?)")
    })
}

/// Restarts within `window` before `now`: the sum of increases between
/// consecutive samples whose later sample lies in the window (so it may
/// include up to one sampling interval before the window's start).
#[must_use]
pub fn count(samples: &[Sample], now: &Stamp, window: Duration) -> Count {
    let mut restarts = 0;
    let mut earliest: Option<&Sample> = None;
    for pair in samples.windows(2) {
        let (prev, cur) = (&pair[0], &pair[1]);
        if now.elapsed_since(&cur.at) > window {
            continue;
        }
        earliest.get_or_insert(prev);
        restarts += if cur.n_restarts >= prev.n_restarts {
            cur.n_restarts - prev.n_restarts
        } else {
            cur.n_restarts
        };
    }
    let observed = earliest.map_or(Duration::ZERO, |s| now.elapsed_since(&s.at).min(window));
    Count { restarts, observed }
}

/// Drops samples no later count can use: all but the newest one older
/// than the window, and any beyond the cap.
pub fn prune(samples: &mut Vec<Sample>, now: &Stamp, window: Duration) {
    let old = samples
        .iter()
        .take_while(|s| now.elapsed_since(&s.at) > window)
        .count();
    samples.drain(..old.saturating_sub(1));
    let excess = samples.len().saturating_sub(MAX_SAMPLES);
    samples.drain(..excess);
}

#[must_use]
pub fn run(args: &LoopsArgs) -> Outcome {
    TOOL.run(&args.output, || loops(args))
}

fn loops(args: &LoopsArgs) -> anyhow::Result<Report> {
    // Before systemctl sees it, so an odd name is refused (and shown
    // escaped), never echoed whole from systemctl's answer.
    selfheal_core::state::validate_name(&args.unit).map_err(|e| anyhow::anyhow!("--unit: {e}"))?;
    let n_restarts = read_counter(args)?;
    let store = StateStore::open(&TOOL.state_dir(&args.state)?.join("loops"))?;
    let lock = store.lock(&args.unit, LockWait::Upto(Duration::from_secs(10)))?;
    let mut set_aside = render::report();
    let mut state: LoopState = lock.load()?.or_default_warning(&mut set_aside);
    let now = Stamp::now();
    let first = state.samples.is_empty();
    state.samples.push(Sample {
        at: now.clone(),
        n_restarts,
    });
    let counted = count(&state.samples, &now, args.max.per);
    prune(&mut state.samples, &now, args.max.per);
    lock.save(&state)?;
    let mut report = report(args, n_restarts, counted, first);
    report.warnings = set_aside.warnings;
    Ok(report)
}

/// Runs systemctl; no systemd, a failing systemctl or an unknown unit are
/// errors (UNKNOWN), never a zero count.
fn read_counter(opts: &LoopsArgs) -> anyhow::Result<u64> {
    let argv = [
        opts.systemd.systemctl.as_os_str(),
        "show".as_ref(),
        "-p".as_ref(),
        "NRestarts".as_ref(),
        "-p".as_ref(),
        "LoadState".as_ref(),
        "--".as_ref(),
        opts.unit.as_ref(),
    ];
    let mut spec = Spec::new(
        argv.iter().map(OsString::from).collect(),
        Duration::from_secs(10),
    );
    spec.capture_stdout = true;
    let done = command::run(&spec).map_err(|e| {
        anyhow::anyhow!(
            "{e}: restart-loop detection reads systemd's NRestarts, and there is no systemctl here"
        )
    })?;
    if !done.status.is_some_and(|s| s.success()) {
        let pid1 = std::fs::read_to_string(PID1_COMM).unwrap_or_default();
        let pid1 = pid1.trim();
        let hint = if pid1 == "systemd" {
            "see systemctl's message on stderr"
        } else {
            "restart-loop detection needs systemd; without it, guard restarts with the default form instead"
        };
        anyhow::bail!(
            "systemctl show {} failed ({}); is systemd running? PID 1 is {pid1:?}: {hint}",
            opts.unit,
            done.describe(),
        );
    }
    parse_show(&String::from_utf8_lossy(&done.stdout), &opts.unit).map_err(anyhow::Error::msg)
}

fn report(args: &LoopsArgs, n_restarts: u64, counted: Count, first: bool) -> Report {
    let mut report = render::report();
    (report.status, report.summary) = verdict(args, n_restarts, counted, first);
    let details = serde_json::json!({
        "unit": args.unit,
        "n_restarts": n_restarts,
        "restarts_in_window": counted.restarts,
        "window_seconds": args.max.per.as_secs_f64(),
        "observed_seconds": counted.observed.as_secs_f64(),
        "restarts_per_hour": counted.per_hour(),
        "first_sample": first,
    });
    if let serde_json::Value::Object(map) = details {
        report.details = map;
    }
    let looping = f64::from(u8::from(report.status == Status::Critical));
    let values = [
        n_restarts as f64,
        counted.restarts as f64,
        counted.observed.as_secs_f64(),
        args.max.count as f64,
        args.max.per.as_secs_f64(),
        looping,
    ];
    for ((what, unit, help), value) in GAUGES.into_iter().zip(values) {
        let name = format!("selfheal_restart_guard_{what}");
        let family = MetricFamily::new(&name, MetricKind::Gauge, unit, help);
        report
            .metrics
            .push(family.with(&[("unit", &args.unit)], value));
    }
    report
}

const GAUGES: [(&str, Unit, &str); 6] = [
    (
        "unit_nrestarts",
        Unit::Count,
        "systemd's NRestarts of the unit (resets on reset-failed).",
    ),
    (
        "unit_restarts_in_window",
        Unit::Count,
        "Restarts of the unit seen in the window.",
    ),
    (
        "unit_observed_seconds",
        Unit::Seconds,
        "How much of the window the samples cover.",
    ),
    (
        "unit_restart_limit",
        Unit::Count,
        "Restarts per window above which it is a loop.",
    ),
    (
        "unit_window_seconds",
        Unit::Seconds,
        "Length of the window.",
    ),
    (
        "unit_restart_loop",
        Unit::Count,
        "1 when the unit is in a restart loop, else 0.",
    ),
];

fn verdict(args: &LoopsArgs, n_restarts: u64, counted: Count, first: bool) -> (Status, String) {
    let unit = &args.unit;
    if first {
        let text =
            format!("{unit}: first sample, NRestarts={n_restarts}; the rate needs a second run");
        return (Status::Ok, text);
    }
    let seen = format!(
        "{unit} restarted {} times in the last {} ({:.0}/h over the {} observed; limit {})",
        counted.restarts,
        human(args.max.per),
        counted.per_hour(),
        human(counted.observed),
        args.max.count
    );
    if counted.restarts > args.max.count {
        (Status::Critical, format!("restart loop: {seen}"))
    } else if counted.restarts > args.warn.unwrap_or(args.max.count / 2) {
        (Status::Warning, format!("restarting often: {seen}"))
    } else {
        (Status::Ok, seen)
    }
}

#[cfg(test)]
#[path = "loops_tests.rs"]
mod tests;
