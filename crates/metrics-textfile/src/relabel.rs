//! `--label key=value` on Prometheus text: every sample gets the constant
//! labels first. The text is re-rendered from the parsed families (HELP,
//! TYPE, samples in family order); comments are not kept.

use prom_exposition::{Parsed, Problem, Rule, Sample, Severity};
use selfheal_core::metrics::{escape_label_value, format_value};
use std::fmt::Write as _;

/// The relabelled text, or the problems that forbid it: the input's own
/// errors, or a label that a sample already has.
pub(crate) fn relabel(
    parsed: &Parsed<'_>,
    labels: &[(String, String)],
) -> Result<String, Vec<Problem>> {
    if !parsed.is_valid() {
        return Err(parsed.problems.clone());
    }
    let extra: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label_value(v)))
        .collect();
    let extra = extra.join(",");
    let mut conflicts = Vec::new();
    let mut out = String::new();
    for family in parsed.families.iter().filter(|f| f.series > 0) {
        if let Some(help) = family.help {
            let _ = writeln!(out, "# HELP {} {help}", family.name);
        }
        if family.typed {
            let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind.as_str());
        }
        for sample in &family.samples {
            conflicts.extend(conflict(sample, labels));
            let own = sample.labels.trim();
            let sep = if own.is_empty() { "" } else { "," };
            let value = format_value(sample.value);
            let _ = writeln!(out, "{}{{{extra}{sep}{own}}} {value}", sample.name);
        }
    }
    if conflicts.is_empty() {
        Ok(out)
    } else {
        Err(conflicts)
    }
}

/// A constant label the sample already has: two values for one name.
fn conflict(sample: &Sample<'_>, labels: &[(String, String)]) -> Option<Problem> {
    let (name, _) = sample
        .labels()
        .find(|(n, _)| labels.iter().any(|(k, _)| k == n))?;
    Some(Problem {
        line: sample.line,
        rule: Rule::DuplicateLabel,
        severity: Severity::Error,
        message: format!("--label {name} would repeat the label {name} this sample already has"),
    })
}

#[cfg(test)]
mod tests {
    use super::relabel;
    use prom_exposition::parse;

    fn labels() -> Vec<(String, String)> {
        vec![("host".into(), "box\"1".into())]
    }

    #[test]
    fn adds_labels_first_and_keeps_help_and_type() {
        let text = "# HELP a_total A.\n# TYPE a_total counter\na_total 1\na_total{x=\"y\",} 2\n# plain\nb 3\n";
        assert_eq!(
            relabel(&parse(text), &labels()).unwrap(),
            "# HELP a_total A.\n# TYPE a_total counter\n\
             a_total{host=\"box\\\"1\"} 1\na_total{host=\"box\\\"1\",x=\"y\",} 2\nb{host=\"box\\\"1\"} 3\n"
        );
    }

    #[test]
    fn a_label_the_sample_already_has_is_an_error_at_its_line() {
        let problems = relabel(&parse("a 1\na{host=\"x\"} 2\n"), &labels()).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 2);
    }
}
