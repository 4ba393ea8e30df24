//! A snapshot and its checks as one report: the summary line, a detail
//! line per GPU and process, the metrics and the JSON `details`.

use crate::classify::{self, Limits};
use crate::model::Snapshot;
use crate::{metrics, text};
use regex::Regex;
use selfheal_core::{Check, Report, Status};
use serde_json::{Value, json};
use std::fmt::Write as _;

/// The families in the text line's perfdata; all go to prom and JSON.
const PERFDATA: [&str; 4] = [
    "selfheal_gpu_probe_gpus",
    "selfheal_gpu_probe_utilization_ratio",
    "selfheal_gpu_probe_memory_used_bytes",
    "selfheal_gpu_probe_temperature_celsius",
];

/// Fills `report` from the snapshot; `where_amd` names the sysfs directory read.
pub fn fill(
    report: &mut Report,
    snapshot: &Snapshot,
    limits: &Limits,
    where_amd: &str,
    process: Option<&Regex>,
) {
    for check in classify::checks(snapshot, limits, where_amd) {
        report.check(check);
    }
    report.summary = summary(&report.checks, snapshot, process);
    report.metrics = metrics::families(snapshot);
    report.keep_perfdata(&PERFDATA);
    if let Ok(Value::Object(details)) = serde_json::to_value(snapshot) {
        report.details = details;
    }
    report
        .details
        .insert("process_filter".into(), json!(process.map(Regex::as_str)));
    for gpu in &snapshot.gpus {
        for error in &gpu.errors {
            report.warn(format!("{}: cannot read {error}", gpu.describe()));
        }
        report.detail_lines.push(text::gpu_line(gpu));
        report
            .detail_lines
            .extend(gpu.processes.iter().map(text::process_line));
    }
}

/// Problems first (worst first), then what the GPUs are doing.
fn summary(checks: &[Check], snapshot: &Snapshot, process: Option<&Regex>) -> String {
    let mut parts: Vec<String> = Vec::new();
    for status in [Status::Critical, Status::Warning, Status::Unknown] {
        parts.extend(
            checks
                .iter()
                .filter(|c| c.status == status)
                .map(|c| c.summary.clone()),
        );
    }
    if !snapshot.gpus.is_empty() {
        parts.push(facts(snapshot, process));
    }
    parts.join("; ")
}

fn facts(snapshot: &Snapshot, process: Option<&Regex>) -> String {
    let gpus = &snapshot.gpus;
    let mut out = vec![if gpus.len() == 1 {
        "1 GPU".to_owned()
    } else {
        format!("{} GPUs", gpus.len())
    }];
    let holders: Vec<_> = gpus.iter().filter(|g| !g.processes.is_empty()).collect();
    let held: u64 = holders.iter().map(|g| g.process_memory()).sum();
    let count: usize = holders.iter().map(|g| g.processes.len()).sum();
    let on = holders
        .iter()
        .map(|g| format!("GPU {}", g.index))
        .collect::<Vec<_>>()
        .join(", ");
    out.push(match (process, count) {
        (Some(re), 0) => format!("no process matching '{re}' holds GPU memory"),
        (Some(re), _) => format!("'{re}' holds {} on {on}", text::bytes(held)),
        (None, 0) => "no process holds GPU memory".to_owned(),
        (None, n) => format!("{n} process(es) hold {}", text::bytes(held)),
    });
    for gpu in gpus.iter().filter(|g| g.idle_holding) {
        let mut fact = format!("GPU {} idle while holding memory", gpu.index);
        if let Some(seconds) = gpu.idle_seconds {
            let _ = write!(fact, " for {}", text::seconds(seconds));
        }
        out.push(fact);
    }
    out.join(", ")
}
