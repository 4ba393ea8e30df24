//! `metrics-textfile`: is this Prometheus text safe for node_exporter's
//! textfile collector, and if so, replace the file with it atomically.
//!
//! Input comes from stdin, from a command run without a shell (`-- CMD`),
//! or from the JSON report of a selfheal tool (`--from json`). It is checked
//! with [`prom_exposition`]: anything the collector would reject
//! (parse errors, timestamps), drop silently (duplicate series) or misread
//! (inconsistent histograms) stops the write, and the old file stays byte
//! for byte. Valid text replaces the target through a temp file in the same
//! directory whose name does not end in `.prom`, fsynced and renamed.
//!
//! `--format json` adds `details`: `output` (path or null), `written`
//! (bool), `series`, `problems` (`[{line, rule, severity, message}]`, at
//! most 1000) and `problems_omitted`.

mod input;
mod json;
mod outcome;
mod relabel;
mod target;

use clap::{ArgGroup, Parser, ValueEnum};
use outcome::{Done, Failure};
use selfheal_core::report::Format;
use selfheal_core::textfile::{self, Options};
use selfheal_core::{Outcome, duration, metrics};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

pub const TOOL: &str = "metrics-textfile";
pub const LABEL: &str = "TEXTFILE";

/// What the input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Input {
    /// Prometheus text exposition format 0.0.4.
    Prom,
    /// The JSON object a selfheal tool prints with --format json.
    Json,
}

#[derive(Debug, Parser)]
#[command(
    name = TOOL,
    version,
    about = "Validate Prometheus text and write it atomically for node_exporter's textfile collector.",
    long_about = "Validate Prometheus text and write it atomically for node_exporter's textfile collector.\n\n\
Answers: would node_exporter read this text as written? Anything it would reject (a parse error, a \
sample timestamp, a missing final newline), drop silently (a duplicate series) or misread (a histogram \
whose buckets are not cumulative) is an error: nothing is written and the old file stays exactly as it \
was. promtool's lint problems (no HELP, a counter without _total) are shown as warnings and do not \
stop the write.\n\n\
With -- CMD, the command runs without a shell and its output is written only if it exits with an \
accepted code: a producer that crashes half-way cannot leave a valid-looking prefix behind.",
    after_help = "Exit codes: 0 written (or valid, with --check), 2 invalid or not written (the old file is \
unchanged), 3 bad arguments.\n\n\
Examples:\n  \
metrics-textfile --output /var/lib/prometheus/node-exporter/ollama.prom \\\n      \
< metrics.prom\n  \
metrics-textfile --output /var/lib/prometheus/node-exporter/restart.prom \\\n      \
--accept-exit 0,1,2 -- restart-guard status --format prom\n  \
metrics-textfile --check < metrics.prom\n  \
restart-guard status --format json | \\\n      \
metrics-textfile --from json --label host=box1 --output restart.prom\n\n\
The textfile directory above is Debian's (package prometheus-node-exporter); \
others use /var/lib/node_exporter/textfile_collector.",
    group(ArgGroup::new("action").required(true).args(["output", "check"]))
)]
pub struct Cli {
    /// File to replace atomically, e.g. /var/lib/prometheus/node-exporter/ollama.prom
    #[arg(short, long, value_name = "FILE", env = "METRICS_TEXTFILE_OUTPUT")]
    pub output: Option<PathBuf>,

    /// Only validate: report every problem with its line, write nothing;
    /// exits 0 exactly when --output would write
    #[arg(long)]
    pub check: bool,

    /// What the input is: prom (Prometheus text) or json (a selfheal
    /// tool's --format json report)
    #[arg(
        long,
        value_enum,
        default_value = "prom",
        env = "METRICS_TEXTFILE_FROM"
    )]
    pub from: Input,

    /// Add a constant label to every sample (repeatable); the value must
    /// not be empty, and no sample may have the label already
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label, env = "METRICS_TEXTFILE_LABEL")]
    pub labels: Vec<(String, String)>,

    /// Exit codes of CMD whose output is still good, comma-separated (a
    /// probe exits 1 or 2 to report WARNING or CRITICAL)
    #[arg(
        long,
        value_name = "CODES",
        value_delimiter = ',',
        value_parser = parse_exit_code,
        allow_negative_numbers = true,
        default_value = "0",
        env = "METRICS_TEXTFILE_ACCEPT_EXIT"
    )]
    pub accept_exit: Vec<i32>,

    /// How long CMD may run (e.g. 30s, 2m); after that its process group
    /// is killed and nothing is written
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout, default_value = "30s", env = "METRICS_TEXTFILE_TIMEOUT")]
    pub timeout: Duration,

    /// Write even an input without samples (by default refused: every
    /// series of the old file would vanish without an error)
    #[arg(long, env = "METRICS_TEXTFILE_ALLOW_EMPTY")]
    pub allow_empty: bool,

    /// Mode of the written file, octal, at most 0777 (node_exporter must
    /// be able to read it)
    #[arg(long, value_name = "OCTAL", value_parser = parse_mode, allow_negative_numbers = true, default_value = "0644", env = "METRICS_TEXTFILE_MODE")]
    pub mode: u32,

    /// What to print: text (one line, then the problems), json (one
    /// object) or prom (this run's own metrics)
    #[arg(long, value_enum, default_value = "text", env = "SELFHEAL_FORMAT")]
    pub format: Format,

    /// Command that prints the metrics, run directly (no shell)
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

fn parse_label(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))?;
    if !metrics::is_label_name(key) {
        return Err(format!(
            "{key:?} is not a label name: use [a-zA-Z_][a-zA-Z0-9_]*, not starting with __"
        ));
    }
    if value.is_empty() {
        // Prometheus reads `key=""` as no label: most likely an unset variable.
        return Err(format!(
            "{key}= has an empty value, which Prometheus treats as no label at all: give a value (is a variable unset?)"
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    let timeout = duration::parse(text)?;
    if timeout.is_zero() {
        // Every run would time out: a typo, never a choice.
        return Err(format!(
            "{text} leaves CMD no time to run: give a deadline such as 30s"
        ));
    }
    Ok(timeout)
}

fn parse_exit_code(text: &str) -> Result<i32, String> {
    text.trim().parse::<u8>().map(i32::from).map_err(|_| {
        format!("{text:?} is not an exit code: give numbers from 0 to 255, e.g. 0,1,2")
    })
}

fn parse_mode(text: &str) -> Result<u32, String> {
    let mode = u32::from_str_radix(text, 8)
        .map_err(|_| format!("{text:?} is not an octal file mode such as 0644"))?;
    if mode > 0o777 {
        // setuid, setgid or sticky on a metrics file is a mistake, never intended.
        return Err(format!(
            "{text} sets setuid, setgid or sticky bits: give permission bits only, 0 to 0777, e.g. 0644"
        ));
    }
    Ok(mode)
}

#[must_use]
pub fn run(cli: &Cli) -> Outcome {
    let result = target::check(cli.output.as_deref())
        .and_then(|()| input::acquire(cli))
        .and_then(input::decode)
        .and_then(|text| convert(cli, text))
        .and_then(|text| deliver(cli, &text));
    let mut outcome = outcome::render(cli, result);
    if let Some(note) = cli.output.as_deref().and_then(target::note) {
        outcome.stderr.push_str(&note);
    }
    outcome
}

/// JSON to text, and constant labels: the text to check and write.
fn convert(cli: &Cli, text: String) -> Result<String, Failure> {
    match cli.from {
        Input::Json => json::to_text(&text, &cli.labels).map_err(Failure::NotWritten),
        Input::Prom if cli.labels.is_empty() => Ok(text),
        Input::Prom => {
            relabel::relabel(&prom_exposition::parse(&text), &cli.labels).map_err(Failure::Invalid)
        }
    }
}

fn deliver(cli: &Cli, text: &str) -> Result<Done, Failure> {
    let options = Options {
        mode: cli.mode,
        allow_empty: cli.allow_empty,
    };
    let Some(path) = &cli.output else {
        return check_only(text, options);
    };
    match textfile::write_with(path, text, &options) {
        Ok(written) => Ok(Done {
            series: written.series,
            families: written.families,
            warnings: written.warnings,
            bytes: Some(written.bytes),
        }),
        Err(textfile::Error::Invalid(problems)) => Err(Failure::Invalid(problems)),
        Err(textfile::Error::Empty) => Err(empty()),
        Err(other) => Err(Failure::NotWritten(other.to_string())),
    }
}

fn empty() -> Failure {
    let why = textfile::Error::Empty;
    Failure::NotWritten(format!("{why} (--allow-empty writes it anyway)"))
}

fn check_only(text: &str, options: Options) -> Result<Done, Failure> {
    let checked = prom_exposition::check(text);
    if !checked.is_valid() {
        return Err(Failure::Invalid(checked.problems));
    }
    if checked.series() == 0 && !options.allow_empty {
        return Err(empty());
    }
    Ok(Done {
        series: checked.series(),
        families: checked.family_count(),
        warnings: checked.warnings().cloned().collect(),
        bytes: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn labels_and_modes_are_checked_at_parse_time() {
        assert_eq!(parse_label("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(parse_label("__a=b").is_err());
        assert!(parse_label("a").is_err());
        assert_eq!(parse_mode("0640"), Ok(0o640));
        assert!(parse_mode("0999").is_err());
        assert!(parse_mode("4755").unwrap_err().contains("setuid"));
        assert!(parse_label("host=").unwrap_err().contains("empty value"));
        assert_eq!(parse_exit_code("255"), Ok(255));
        for bad in ["256", "-1", "x", ""] {
            assert!(
                parse_exit_code(bad).unwrap_err().contains("0 to 255"),
                "{bad}"
            );
        }
    }
}
