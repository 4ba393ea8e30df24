//! The metrics a tool reports, and their Prometheus text rendering
//! (exposition format 0.0.4, as node_exporter's textfile collector reads it).
//!
//! Names follow `selfheal_<tool>_<what>_<unit>`; every family gets HELP and
//! TYPE; samples never carry timestamps (the collector skips such a file).

use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    Gauge,
    Counter,
}

impl MetricKind {
    fn as_str(self) -> &'static str {
        match self {
            MetricKind::Gauge => "gauge",
            MetricKind::Counter => "counter",
        }
    }
}

/// How a value reads in Nagios performance data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Seconds,
    Bytes,
    Ratio,
    Count,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    #[serde(serialize_with = "serialize_labels")]
    pub labels: Vec<(String, String)>,
    #[serde(serialize_with = "serialize_value")]
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricFamily {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: MetricKind,
    pub unit: Unit,
    pub help: String,
    pub samples: Vec<Sample>,
}

impl MetricFamily {
    /// A family with no samples yet. Panics on an invalid metric name: names
    /// are compile-time choices of the tool, not user input.
    #[must_use]
    pub fn new(name: &str, kind: MetricKind, unit: Unit, help: &str) -> Self {
        assert!(is_metric_name(name), "invalid metric name {name:?}");
        assert!(
            kind != MetricKind::Counter || name.ends_with("_total"),
            "counter {name:?} must end in _total"
        );
        MetricFamily {
            name: name.to_owned(),
            kind,
            unit,
            help: help.to_owned(),
            samples: Vec::new(),
        }
    }

    /// Adds a sample; label names are the tool's own and must be valid.
    #[must_use]
    pub fn with(mut self, labels: &[(&str, &str)], value: f64) -> Self {
        self.push(labels, value);
        self
    }

    pub fn push(&mut self, labels: &[(&str, &str)], value: f64) {
        for (name, _) in labels {
            assert!(is_label_name(name), "invalid label name {name:?}");
        }
        self.samples.push(Sample {
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            value,
        });
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
#[must_use]
pub fn is_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, and not the reserved `__` prefix.
#[must_use]
pub fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    !name.starts_with("__")
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A sample value as the text format writes it: `NaN`, `+Inf`, `-Inf`, or
/// the shortest decimal that round-trips.
#[must_use]
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{value}")
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's serialize_with passes a reference
fn serialize_value<S: serde::Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
    // JSON has no NaN or infinities: write those as the Prometheus strings.
    if value.is_finite() {
        s.serialize_f64(*value)
    } else {
        s.serialize_str(&format_value(*value))
    }
}

fn serialize_labels<S: serde::Serializer>(
    labels: &[(String, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(labels.len()))?;
    for (name, value) in labels {
        map.serialize_entry(name, value)?;
    }
    map.end()
}

fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

#[must_use]
pub fn escape_label_value(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Renders families as exposition text. `extra_labels` (e.g. from
/// `--label`) are added to every sample, before the family's own.
#[must_use]
pub fn render_prom(families: &[MetricFamily], extra_labels: &[(String, String)]) -> String {
    let mut out = String::new();
    for family in families {
        let _ = writeln!(out, "# HELP {} {}", family.name, escape_help(&family.help));
        let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind.as_str());
        for sample in &family.samples {
            out.push_str(&family.name);
            let labels: Vec<String> = extra_labels
                .iter()
                .chain(&sample.labels)
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label_value(v)))
                .collect();
            if !labels.is_empty() {
                let _ = write!(out, "{{{}}}", labels.join(","));
            }
            let _ = writeln!(out, " {}", format_value(sample.value));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_help_type_and_escaped_labels() {
        let family = MetricFamily::new(
            "selfheal_demo_latency_seconds",
            MetricKind::Gauge,
            Unit::Seconds,
            "Latency of the last check.\nSecond line with a \\ backslash.",
        )
        .with(&[("model", "llama\"3\"\\n\nx")], 0.25);
        let text = render_prom(&[family], &[("host".into(), "box1".into())]);
        assert_eq!(
            text,
            "# HELP selfheal_demo_latency_seconds Latency of the last check.\\nSecond line with a \\\\ backslash.\n\
             # TYPE selfheal_demo_latency_seconds gauge\n\
             selfheal_demo_latency_seconds{host=\"box1\",model=\"llama\\\"3\\\"\\\\n\\nx\"} 0.25\n"
        );
    }

    #[test]
    fn special_values_use_prometheus_spelling() {
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(1e21), "1000000000000000000000");
        assert_eq!(format_value(3.0), "3");
    }

    #[test]
    fn name_rules() {
        assert!(is_metric_name("a:b_c9"));
        assert!(!is_metric_name("9abc"));
        assert!(!is_metric_name("a-b"));
        assert!(is_label_name("_x1"));
        assert!(!is_label_name("__name__"));
        assert!(!is_label_name("a:b"));
    }

    #[test]
    #[should_panic(expected = "must end in _total")]
    fn counters_must_end_in_total() {
        let _ = MetricFamily::new("selfheal_x_restarts", MetricKind::Counter, Unit::Count, "x");
    }
}
