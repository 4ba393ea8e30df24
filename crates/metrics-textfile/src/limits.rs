//! The flags that set what node_exporter must be able to serve in time;
//! each default is [`Limits::default`], each reason is in its help.

use clap::Args;
use prom_exposition::{Limits, Rule};

#[derive(Debug, Clone, Args)]
pub struct LimitFlags {
    /// Most labels one sample may have: node_exporter's work per series
    /// grows with the square of its labels (10,000 labels on one series
    /// took 13 s to scrape, past a 10 s scrape timeout)
    #[arg(id = "max-labels", long = "max-labels", value_name = "N", value_parser = at_least_one, default_value_t = Limits::default().labels, env = "METRICS_TEXTFILE_MAX_LABELS")]
    pub labels: usize,

    /// Most label names one family may use across its series:
    /// node_exporter gives every series all of them, so its work grows
    /// with series x names
    #[arg(id = "max-family-labels", long = "max-family-labels", value_name = "N", value_parser = at_least_one, default_value_t = Limits::default().family_labels, env = "METRICS_TEXTFILE_MAX_FAMILY_LABELS")]
    pub family_labels: usize,

    /// Most metric families in the input: node_exporter's work grows with
    /// families far more than with series (100,000 families took 7.9 s to
    /// scrape, 100,000 series of one family 1.5 s)
    #[arg(id = "max-families", long = "max-families", value_name = "N", value_parser = at_least_one, default_value_t = Limits::default().families, env = "METRICS_TEXTFILE_MAX_FAMILIES")]
    pub families: usize,

    /// Longest label value, in bytes as written (Grafana Mimir and Cortex
    /// refuse values over 2048 bytes by default)
    #[arg(id = "max-label-value-bytes", long = "max-label-value-bytes", value_name = "BYTES", value_parser = at_least_one, default_value_t = Limits::default().label_value_bytes, env = "METRICS_TEXTFILE_MAX_LABEL_VALUE_BYTES")]
    pub label_value_bytes: usize,

    /// Longest line, in bytes: longer is a runaway HELP text or label
    /// value that node_exporter would hold in memory on every scrape
    #[arg(id = "max-line-bytes", long = "max-line-bytes", value_name = "BYTES", value_parser = at_least_one, default_value_t = Limits::default().line_bytes, env = "METRICS_TEXTFILE_MAX_LINE_BYTES")]
    pub line_bytes: usize,
}

impl LimitFlags {
    pub fn limits(&self) -> Limits {
        Limits {
            line_bytes: self.line_bytes,
            labels: self.labels,
            family_labels: self.family_labels,
            families: self.families,
            label_value_bytes: self.label_value_bytes,
            ..Limits::default()
        }
    }
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "{text:?} is not a limit: give a whole number of at least 1"
        )),
    }
}

/// The flag that raises the limit a rule enforces.
pub(crate) fn flag(rule: Rule) -> Option<&'static str> {
    match rule {
        Rule::LabelCount => Some("--max-labels"),
        Rule::FamilyLabels => Some("--max-family-labels"),
        Rule::FamilyCount => Some("--max-families"),
        Rule::LabelValueLength => Some("--max-label-value-bytes"),
        Rule::LineLength => Some("--max-line-bytes"),
        _ => None,
    }
}
