//! What a run prints: one line (written / valid / not written, and why),
//! then one line per problem; or the same as JSON or Prometheus text.

use crate::{Cli, Input, LABEL, TOOL, limits};
use prom_exposition::{Parsed, Problem, Severity};
use selfheal_core::metrics::{MetricFamily, MetricKind, Unit};
use selfheal_core::{Check, Outcome, Report, Status};
use serde_json::json;

/// Problems printed as lines after the summary; JSON carries more.
const TEXT_PROBLEMS: usize = 100;
const JSON_PROBLEMS: usize = 1000;

/// The problems of an input: the first ones by line, and how many there
/// were in all, so memory does not grow with their number.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub problems: Vec<Problem>,
    pub errors: usize,
    pub warnings: usize,
}

impl Found {
    pub fn of(parsed: &Parsed<'_>) -> Found {
        Found {
            problems: parsed.problems.clone(),
            errors: parsed.error_count,
            warnings: parsed.warning_count,
        }
    }

    /// Counts a problem; keeps it if fewer than JSON can show are kept.
    pub fn add(&mut self, problem: Problem) {
        match problem.severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
        }
        if self.problems.len() < JSON_PROBLEMS {
            self.problems.push(problem);
        }
    }

    fn total(&self) -> usize {
        self.errors + self.warnings
    }
}

/// A run that wrote (or, with --check, would write).
pub(crate) struct Done {
    pub series: usize,
    pub families: usize,
    /// Lint warnings only.
    pub warnings: Found,
    /// Bytes written; `None` for --check.
    pub bytes: Option<usize>,
}

/// A run that did not write.
pub(crate) enum Failure {
    /// Bad invocation: exit 3.
    Usage(String),
    /// Producer failed, input unreadable, empty, or the write failed.
    NotWritten(String),
    /// The text breaks rules: the first problems by line, and the count.
    Invalid(Found),
}

pub(crate) fn render(cli: &Cli, result: Result<Done, Failure>) -> Outcome {
    let mut report = Report::new(TOOL, LABEL, env!("CARGO_PKG_VERSION"));
    let (series, problems) = match result {
        Err(Failure::Usage(why)) => {
            return Outcome::usage(format!(
                "error: {why}\n\nFor more information, try '--help'.\n"
            ));
        }
        Ok(done) => {
            report.check(Check::new("input", Status::Ok, success(cli, &done)));
            (done.series, done.warnings)
        }
        Err(Failure::NotWritten(why)) => {
            report.check(Check::new("input", Status::Critical, failed(cli, &why)));
            (0, Found::default())
        }
        Err(Failure::Invalid(problems)) => {
            report.check(Check::new(
                "input",
                Status::Critical,
                invalid(cli, &problems),
            ));
            (0, problems)
        }
    };
    report.summary.clone_from(&report.checks[0].summary);
    report.detail_lines = problem_lines(&problems);
    add_details(&mut report, cli, series, &problems);
    add_metrics(&mut report, cli, series, &problems);
    Outcome::new(report.exit_code(), report.render(cli.format))
}

fn success(cli: &Cli, done: &Done) -> String {
    let families = match done.families {
        1 => "1 family".to_owned(),
        n => format!("{n} families"),
    };
    let what = format!("{} series in {families}", done.series);
    let warned = match done.warnings.warnings {
        0 => String::new(),
        1 => ", 1 lint warning".into(),
        n => format!(", {n} lint warnings"),
    };
    match (&cli.output, done.bytes) {
        (Some(path), Some(bytes)) => {
            format!("wrote {what} to {} ({bytes} bytes){warned}", path.display())
        }
        _ => format!("valid: {what}{warned}"),
    }
}

fn failed(cli: &Cli, why: &str) -> String {
    match &cli.output {
        Some(path) => format!("{} not written: {why}", path.display()),
        None => format!("invalid: {why}"),
    }
}

fn invalid(cli: &Cli, found: &Found) -> String {
    let first = found
        .problems
        .iter()
        .find(|p| p.severity == Severity::Error)
        .map_or(String::new(), |p| {
            format!(", first on line {} ({})", p.line, p.rule.name())
        });
    let count = match found.errors {
        1 => "1 error".to_owned(),
        n => format!("{n} errors"),
    };
    let rendered = if cli.from == Input::Json {
        " (lines of the text rendered from the JSON)"
    } else {
        ""
    };
    failed(cli, &format!("{count} in the input{first}{rendered}"))
}

/// Errors first (they are why nothing was written), then warnings.
fn problem_lines(found: &Found) -> Vec<String> {
    let (errors, warnings): (Vec<&Problem>, Vec<&Problem>) = found
        .problems
        .iter()
        .partition(|p| p.severity == Severity::Error);
    let shown: Vec<&Problem> = errors
        .into_iter()
        .chain(warnings)
        .take(TEXT_PROBLEMS)
        .collect();
    let mut lines: Vec<String> = shown.iter().map(ToString::to_string).collect();
    if found.total() > shown.len() {
        lines.push(format!(
            "... and {} more problems (--format json lists up to {JSON_PROBLEMS})",
            found.total() - shown.len()
        ));
    }
    let mut flags: Vec<&str> = shown.iter().filter_map(|p| limits::flag(p.rule)).collect();
    flags.sort_unstable();
    flags.dedup();
    if !flags.is_empty() {
        lines.push(format!(
            "to allow more, raise {} (only for a node_exporter you measured serving it within its scrape timeout)",
            flags.join(", ")
        ));
    }
    lines
}

fn add_details(report: &mut Report, cli: &Cli, series: usize, found: &Found) {
    let details = &mut report.details;
    details.insert("output".into(), json!(cli.output));
    details.insert("written".into(), json!(written(cli, report.status)));
    details.insert("series".into(), json!(series));
    let shown = &found.problems[..found.problems.len().min(JSON_PROBLEMS)];
    details.insert("problems".into(), json!(shown));
    details.insert(
        "problems_omitted".into(),
        json!(found.total() - shown.len()),
    );
}

fn written(cli: &Cli, status: Status) -> bool {
    cli.output.is_some() && status == Status::Ok
}

fn add_metrics(report: &mut Report, cli: &Cli, series: usize, found: &Found) {
    report.metrics.push(
        MetricFamily::new(
            "selfheal_metrics_textfile_series",
            MetricKind::Gauge,
            Unit::Count,
            "Series in the input that was checked or written.",
        )
        .with(&[], series as f64),
    );
    report.metrics.push(
        MetricFamily::new(
            "selfheal_metrics_textfile_problems",
            MetricKind::Gauge,
            Unit::Count,
            "Problems found in the input, by severity (errors stop the write).",
        )
        .with(&[("severity", "error")], found.errors as f64)
        .with(&[("severity", "warning")], found.warnings as f64),
    );
    if cli.output.is_some() {
        let value = f64::from(u8::from(written(cli, report.status)));
        report.metrics.push(
            MetricFamily::new(
                "selfheal_metrics_textfile_written",
                MetricKind::Gauge,
                Unit::Count,
                "1 if the output file was replaced, 0 if it was left as it was.",
            )
            .with(&[], value),
        );
    }
}
