//! stall-probe's metric families, `selfheal_stall_probe_*`, one sample per
//! `key` (a symbol, a pid, a unit, a file) so an alert can name the worker.

use crate::classify::{Class, Verdict};
use crate::progress::{Progress, Thresholds};
use selfheal_core::Report;
use selfheal_core::Status;
use selfheal_core::metrics::{MetricFamily, MetricKind, Unit};

pub const AGE: &str = "selfheal_stall_probe_progress_age_seconds";
pub const STATUS: &str = "selfheal_stall_probe_key_status";

/// The family `name` in `report`, created on first use.
fn family<'r>(
    report: &'r mut Report,
    name: &str,
    kind: MetricKind,
    unit: Unit,
    help: &str,
) -> &'r mut MetricFamily {
    let at = report
        .metrics
        .iter()
        .position(|f| f.name == name)
        .unwrap_or_else(|| {
            report
                .metrics
                .push(MetricFamily::new(name, kind, unit, help));
            report.metrics.len() - 1
        });
    &mut report.metrics[at]
}

fn gauge(
    report: &mut Report,
    name: &str,
    unit: Unit,
    help: &str,
    labels: &[(&str, &str)],
    value: f64,
) {
    family(report, name, MetricKind::Gauge, unit, help).push(labels, value);
}

/// Per key: the age (NaN when there never was progress) and the status.
pub fn ages(report: &mut Report, readings: &[Progress], verdicts: &[Status], limits: Thresholds) {
    for (progress, status) in readings.iter().zip(verdicts) {
        let key = [("key", progress.key.as_str())];
        let age = progress.age.unwrap_or(f64::NAN);
        gauge(
            report,
            AGE,
            Unit::Seconds,
            "Seconds since the key last made progress (NaN: never).",
            &key,
            age,
        );
        gauge(
            report,
            STATUS,
            Unit::Count,
            "The key's verdict: 0 ok, 1 warning, 2 critical, 3 unknown.",
            &key,
            f64::from(status.exit_code()),
        );
    }
    if let Some(warn) = limits.warn {
        gauge(
            report,
            "selfheal_stall_probe_warn_seconds",
            Unit::Seconds,
            "The --warn age.",
            &[],
            warn.as_secs_f64(),
        );
    }
    gauge(
        report,
        "selfheal_stall_probe_crit_seconds",
        Unit::Seconds,
        "The --crit age.",
        &[],
        limits.crit.as_secs_f64(),
    );
    report.keep_perfdata(&[AGE]);
}

pub fn cpu_seconds(report: &mut Report, key: &str, seconds: f64) {
    family(
        report,
        "selfheal_stall_probe_cpu_seconds_total",
        MetricKind::Counter,
        Unit::Seconds,
        "CPU time the process has used (utime + stime).",
    )
    .push(&[("key", key)], seconds);
}

/// The unit layer: active or not, and systemd's restart counter.
pub fn unit(report: &mut Report, unit: &str, active: bool, n_restarts: Option<u64>) {
    let key = [("key", unit)];
    gauge(
        report,
        "selfheal_stall_probe_unit_active",
        Unit::Count,
        "1 if the systemd unit is active.",
        &key,
        f64::from(u8::from(active)),
    );
    if let Some(n) = n_restarts {
        gauge(
            report,
            "selfheal_stall_probe_unit_restarts",
            Unit::Count,
            "systemd's NRestarts for the unit (resets on reset-failed).",
            &key,
            n as f64,
        );
    }
}

/// `--consecutive`: the current streak of critical runs.
pub fn streak(report: &mut Report, streak: u32) {
    gauge(
        report,
        "selfheal_stall_probe_critical_streak",
        Unit::Count,
        "Critical runs in a row (for --consecutive).",
        &[],
        f64::from(streak),
    );
}

pub fn advisor_held_back(report: &mut Report, held: bool) {
    gauge(
        report,
        "selfheal_stall_probe_advisor_held_back",
        Unit::Count,
        "1 if the advisor held a CRITICAL back to WARNING.",
        &[],
        f64::from(u8::from(held)),
    );
}

/// The trend verdict and the numbers behind it.
pub fn trend(report: &mut Report, key: &str, verdict: &Verdict) {
    for class in Class::ALL {
        let labels = [("key", key), ("class", class.as_str())];
        let on = f64::from(u8::from(verdict.class == class));
        gauge(
            report,
            "selfheal_stall_probe_trend_class",
            Unit::Count,
            "1 for the class the window was judged to be in.",
            &labels,
            on,
        );
    }
    let n = verdict.numbers;
    let table = [
        (
            "trend_samples",
            Unit::Count,
            "Samples in the window.",
            n.samples as f64,
        ),
        (
            "trend_window_seconds",
            Unit::Seconds,
            "Time the samples span.",
            n.span_seconds,
        ),
        (
            "cpu_usage_ratio",
            Unit::Ratio,
            "Mean CPU wanted over the window, as a share of the CPU limit.",
            n.cpu_mean_ratio,
        ),
        (
            "cpu_limit_cores",
            Unit::Count,
            "The CPU limit the usage is measured against, in cores.",
            n.cpu_limit,
        ),
        (
            "memory_bytes",
            Unit::Bytes,
            "Memory at the last sample (RSS, or memory.current for a cgroup).",
            n.memory_last,
        ),
        (
            "memory_slope_bytes_per_second",
            Unit::Count,
            "Least-squares growth of memory over the window.",
            n.memory_slope,
        ),
        (
            "memory_fit_r2",
            Unit::Ratio,
            "R squared of the memory fit (1: a straight line).",
            n.memory_r2,
        ),
        (
            "cpu_slope_ratio_per_second",
            Unit::Count,
            "Least-squares growth of the CPU usage ratio over the window.",
            n.cpu_slope,
        ),
    ];
    for (name, unit, help, value) in table {
        gauge(
            report,
            &format!("selfheal_stall_probe_{name}"),
            unit,
            help,
            &[("key", key)],
            value,
        );
    }
    if let Some((cpu, memory)) = n.pressure {
        let help = "PSI 'some' stall time over the window as a share of it.";
        for (resource, value) in [("cpu", cpu), ("memory", memory)] {
            gauge(
                report,
                "selfheal_stall_probe_pressure_ratio",
                Unit::Ratio,
                help,
                &[("key", key), ("resource", resource)],
                value,
            );
        }
    }
    report.keep_perfdata(&[
        "selfheal_stall_probe_cpu_usage_ratio",
        "selfheal_stall_probe_memory_bytes",
        "selfheal_stall_probe_memory_slope_bytes_per_second",
    ]);
}
