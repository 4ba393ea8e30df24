//! One report model, three renderings: a Nagios line (`--format text`), a
//! stable JSON object (`--format json`) and Prometheus text (`--format prom`).
//!
//! JSON fields (stable; new fields may be added, none renamed or removed):
//! `tool`, `version`, `status` (`ok|warning|critical|unknown`), `exit_code`,
//! `summary`, `checks` (`[{name, status, summary}]`), `metrics`
//! (`[{name, type, unit, help, samples: [{labels: {..}, value}]}]`, where a
//! non-finite value is the string `NaN`, `+Inf` or `-Inf`) and `details`
//! (a tool-specific object, documented by each tool), `warnings` (strings:
//! what the run noticed but did not judge, also printed once on stderr).

use crate::metrics::{self, MetricFamily, Unit};
use crate::status::Status;
use serde::Serialize;
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One Nagios-style line with performance data.
    Text,
    /// One JSON object.
    Json,
    /// Prometheus text exposition.
    Prom,
}

/// One thing a tool looked at, with its own verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub summary: String,
}

impl Check {
    #[must_use]
    pub fn new(name: &str, status: Status, summary: impl Into<String>) -> Self {
        Check {
            name: name.to_owned(),
            status,
            summary: summary.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Binary name, e.g. `ollama-frozen-check`.
    pub tool: &'static str,
    /// Upper-case service word that starts the text line, e.g. `OLLAMA`.
    pub label: &'static str,
    pub version: &'static str,
    pub status: Status,
    pub summary: String,
    pub checks: Vec<Check>,
    pub metrics: Vec<MetricFamily>,
    pub details: Map<String, Value>,
    /// Extra lines after the first in text output.
    pub detail_lines: Vec<String>,
    /// Noticed but not judged (a state file set aside, a history rebuilt):
    /// printed once on stderr and listed in JSON. Library code never prints.
    pub warnings: Vec<String>,
    /// When set, only these families appear in the text line's perfdata.
    perfdata_only: Option<Vec<String>>,
}

impl Report {
    #[must_use]
    pub fn new(tool: &'static str, label: &'static str, version: &'static str) -> Self {
        Report {
            tool,
            label,
            version,
            status: Status::Ok,
            summary: String::new(),
            checks: Vec::new(),
            metrics: Vec::new(),
            details: Map::new(),
            detail_lines: Vec::new(),
            warnings: Vec::new(),
            perfdata_only: None,
        }
    }

    /// Records a warning for stderr and JSON `warnings`.
    pub fn warn(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
    }

    /// Keeps the text line short: only these families go to its perfdata
    /// (every family still goes to prom, json and `--textfile`).
    pub fn keep_perfdata(&mut self, names: &[&str]) {
        self.perfdata_only = Some(names.iter().map(|&n| n.to_owned()).collect());
    }

    /// Adds a check and folds its state into the report's.
    pub fn check(&mut self, check: Check) {
        self.status = self.status.worst(check.status);
        self.checks.push(check);
    }

    #[must_use]
    pub fn exit_code(&self) -> u8 {
        self.status.exit_code()
    }

    #[must_use]
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => self.to_text(),
            Format::Json => self.to_json(),
            Format::Prom => self.to_prom(&[]),
        }
    }

    /// `LABEL STATUS - summary | perfdata`, then detail lines. Text from
    /// outside (process names, command lines, user patterns) cannot break
    /// the lines: see [`one_line`].
    #[must_use]
    pub fn to_text(&self) -> String {
        let summary = one_line(&self.summary);
        let mut line = format!("{} {} - {summary}", self.label, self.status.word());
        let perf = self.perfdata();
        if !perf.is_empty() {
            line.push_str(" | ");
            line.push_str(&perf.join(" "));
        }
        line.push('\n');
        for extra in &self.detail_lines {
            line.push_str(&one_line(extra));
            line.push('\n');
        }
        line
    }

    #[must_use]
    pub fn to_json(&self) -> String {
        let mut object = json!({
            "tool": self.tool,
            "version": self.version,
            "status": self.status,
            "exit_code": self.exit_code(),
            "summary": self.summary,
            "checks": self.checks,
            "metrics": self.metrics,
            "warnings": self.warnings,
        });
        object["details"] = Value::Object(self.details.clone());
        let mut text = object.to_string();
        text.push('\n');
        text
    }

    #[must_use]
    pub fn to_prom(&self, extra_labels: &[(String, String)]) -> String {
        metrics::render_prom(&self.metrics, extra_labels)
    }

    /// Nagios performance data: `'label'=value[UOM];;;` per sample. The
    /// metric's `selfheal_<tool>_` prefix is dropped and label values are
    /// appended in brackets, since perfdata labels cannot hold `=`.
    fn perfdata(&self) -> Vec<String> {
        let prefix = format!("selfheal_{}_", self.tool.replace('-', "_"));
        let mut out = Vec::new();
        let shown = |name: &String| {
            self.perfdata_only
                .as_ref()
                .is_none_or(|only| only.contains(name))
        };
        for family in self.metrics.iter().filter(|f| shown(&f.name)) {
            let short = family.name.strip_prefix(&prefix).unwrap_or(&family.name);
            for sample in &family.samples {
                let mut label = short.to_owned();
                if !sample.labels.is_empty() {
                    let values: Vec<&str> = sample.labels.iter().map(|(_, v)| v.as_str()).collect();
                    label = format!("{label}[{}]", values.join(","));
                }
                let label = label
                    .replace(['=', '\'', '|'], "_")
                    .replace(char::is_control, "_");
                let label = if label.contains(' ') {
                    format!("'{label}'")
                } else {
                    label
                };
                let (value, uom) = perf_value(sample.value, family.unit);
                out.push(format!("{label}={value}{uom};;;"));
            }
        }
        out
    }
}

/// Text made safe for one Nagios output line: control characters are
/// escaped (`\n`, `\u{1b}`), so a process named "x\nGPU OK" cannot forge
/// a line, and `|`, which starts performance data, becomes `¦`.
#[must_use]
pub fn one_line(text: &str) -> String {
    escape_controls(text).replace('|', "¦")
}

/// Control characters escaped (`\n`, `\u{1b}`): outside text made safe to
/// print or log as one line, every other character kept.
#[must_use]
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Outside text (a name, a value) for a message: control characters
/// escaped, and cut to `max` characters with an ellipsis and the full
/// length, so a 5,000-character name cannot swamp the line.
#[must_use]
pub fn clip(text: &str, max: usize) -> String {
    let escaped = escape_controls(text);
    match escaped.char_indices().nth(max) {
        Some((cut, _)) => format!("{}… ({} characters)", &escaped[..cut], text.chars().count()),
        None => escaped,
    }
}

fn perf_value(value: f64, unit: Unit) -> (String, &'static str) {
    if !value.is_finite() {
        return ("U".into(), "");
    }
    match unit {
        Unit::Seconds => (metrics::format_value(value), "s"),
        Unit::Bytes => (metrics::format_value(value), "B"),
        Unit::Ratio => (
            metrics::format_value((value * 100.0 * 1000.0).round() / 1000.0),
            "%",
        ),
        Unit::Count => (metrics::format_value(value), ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::MetricKind;

    fn sample_report() -> Report {
        let mut report = Report::new("ollama-frozen-check", "OLLAMA", "0.1.0");
        report.summary = "generate on llama3.2:1b timed out after 10s".into();
        report.check(Check::new("generate", Status::Critical, "timed out"));
        report.check(Check::new("version", Status::Ok, "0.33.0"));
        report.metrics.push(
            MetricFamily::new(
                "selfheal_ollama_frozen_check_latency_seconds",
                MetricKind::Gauge,
                Unit::Seconds,
                "Latency.",
            )
            .with(&[("model", "llama3.2:1b")], 10.001),
        );
        report.metrics.push(
            MetricFamily::new(
                "selfheal_ollama_frozen_check_vram_used_ratio",
                MetricKind::Gauge,
                Unit::Ratio,
                "VRAM.",
            )
            .with(&[], f64::NAN),
        );
        report
    }

    #[test]
    fn text_is_one_nagios_line_with_perfdata() {
        assert_eq!(
            sample_report().to_text(),
            "OLLAMA CRITICAL - generate on llama3.2:1b timed out after 10s | \
             latency_seconds[llama3.2:1b]=10.001s;;; vram_used_ratio=U;;;\n"
        );
    }

    #[test]
    fn outside_text_cannot_forge_lines_or_perfdata() {
        let mut report = sample_report();
        report.summary = "'ollama|llama' holds 7GiB".into();
        report.detail_lines = vec!["pid 9 evil\nGPU OK - fine\r\u{1b}[2K".into()];
        let text = report.to_text();
        assert!(
            text.starts_with("OLLAMA CRITICAL - 'ollama¦llama' holds 7GiB | latency"),
            "{text}"
        );
        assert!(
            text.ends_with("\npid 9 evil\\nGPU OK - fine\\r\\u{1b}[2K\n"),
            "{text}"
        );
        assert_eq!(text.matches('|').count(), 1, "{text}");
    }

    #[test]
    fn clipped_text_is_escaped_and_cut_with_its_length() {
        assert_eq!(clip("svc", 5), "svc");
        assert_eq!(clip("a\nb", 5), "a\\nb");
        assert_eq!(clip(&"é".repeat(5000), 3), "ééé… (5000 characters)");
        assert_eq!(escape_controls("x|\u{7}"), "x|\\u{7}");
    }

    #[test]
    fn json_has_the_documented_fields() {
        let value: Value = serde_json::from_str(&sample_report().to_json()).unwrap();
        assert_eq!(value["tool"], "ollama-frozen-check");
        assert_eq!(value["status"], "critical");
        assert_eq!(value["exit_code"], 2);
        assert_eq!(value["checks"][0]["name"], "generate");
        assert_eq!(value["checks"][1]["status"], "ok");
        let latency = &value["metrics"][0];
        assert_eq!(latency["type"], "gauge");
        assert_eq!(latency["unit"], "seconds");
        assert_eq!(latency["samples"][0]["labels"]["model"], "llama3.2:1b");
        assert_eq!(latency["samples"][0]["value"], 10.001);
        assert_eq!(value["metrics"][1]["samples"][0]["value"], "NaN");
        assert!(value["details"].is_object());
        assert_eq!(value["warnings"], serde_json::json!([]));
    }

    #[test]
    fn perfdata_can_be_narrowed_without_dropping_metrics() {
        let mut report = sample_report();
        report.keep_perfdata(&["selfheal_ollama_frozen_check_vram_used_ratio"]);
        assert!(
            report.to_text().ends_with("| vram_used_ratio=U;;;\n"),
            "{}",
            report.to_text()
        );
        assert!(report.to_prom(&[]).contains("latency_seconds"));
    }
}
