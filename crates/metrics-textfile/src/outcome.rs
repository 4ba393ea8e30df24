//! What a run prints: one line (written / valid / not written, and why),
//! then one line per problem; or the same as JSON or Prometheus text.

use crate::{Cli, Input, LABEL, TOOL};
use prom_exposition::{Problem, Severity};
use selfheal_core::cli::USAGE_EXIT;
use selfheal_core::metrics::{MetricFamily, MetricKind, Unit};
use selfheal_core::{Check, Outcome, Report, Status};
use serde_json::json;

/// Problems printed as lines after the summary; JSON carries more.
const TEXT_PROBLEMS: usize = 100;
const JSON_PROBLEMS: usize = 1000;

/// A run that wrote (or, with --check, would write).
pub(crate) struct Done {
    pub series: usize,
    pub families: usize,
    pub warnings: Vec<Problem>,
    /// Bytes written; `None` for --check.
    pub bytes: Option<usize>,
}

/// A run that did not write.
pub(crate) enum Failure {
    /// Bad invocation: exit 3.
    Usage(String),
    /// Producer failed, input unreadable, empty, or the write failed.
    NotWritten(String),
    /// The text breaks rules; every problem, by line.
    Invalid(Vec<Problem>),
}

pub(crate) fn render(cli: &Cli, result: Result<Done, Failure>) -> Outcome {
    let mut report = Report::new(TOOL, LABEL, env!("CARGO_PKG_VERSION"));
    let (series, problems) = match result {
        Err(Failure::Usage(why)) => {
            return Outcome {
                code: USAGE_EXIT,
                stdout: String::new(),
                stderr: format!("error: {why}\n\nFor more information, try '--help'.\n"),
            };
        }
        Ok(done) => {
            report.check(Check::new("input", Status::Ok, success(cli, &done)));
            (done.series, done.warnings)
        }
        Err(Failure::NotWritten(why)) => {
            report.check(Check::new("input", Status::Critical, failed(cli, &why)));
            (0, Vec::new())
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
    let warned = match done.warnings.len() {
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

fn invalid(cli: &Cli, problems: &[Problem]) -> String {
    let errors: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    let first = errors.first().map_or(String::new(), |p| {
        format!(", first on line {} ({})", p.line, p.rule.name())
    });
    let count = match errors.len() {
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

fn problem_lines(problems: &[Problem]) -> Vec<String> {
    let mut lines: Vec<String> = problems
        .iter()
        .take(TEXT_PROBLEMS)
        .map(ToString::to_string)
        .collect();
    if problems.len() > TEXT_PROBLEMS {
        lines.push(format!(
            "... and {} more problems (--format json lists up to {JSON_PROBLEMS})",
            problems.len() - TEXT_PROBLEMS
        ));
    }
    lines
}

fn add_details(report: &mut Report, cli: &Cli, series: usize, problems: &[Problem]) {
    let details = &mut report.details;
    details.insert("output".into(), json!(cli.output));
    details.insert("written".into(), json!(written(cli, report.status)));
    details.insert("series".into(), json!(series));
    let shown = &problems[..problems.len().min(JSON_PROBLEMS)];
    details.insert("problems".into(), json!(shown));
    details.insert(
        "problems_omitted".into(),
        json!(problems.len() - shown.len()),
    );
}

fn written(cli: &Cli, status: Status) -> bool {
    cli.output.is_some() && status == Status::Ok
}

fn add_metrics(report: &mut Report, cli: &Cli, series: usize, problems: &[Problem]) {
    let count = |severity| problems.iter().filter(|p| p.severity == severity).count() as f64;
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
        .with(&[("severity", "error")], count(Severity::Error))
        .with(&[("severity", "warning")], count(Severity::Warning)),
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
