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
mod limits;
mod outcome;
mod relabel;
mod target;

use clap::{ArgGroup, Parser, ValueEnum};
use outcome::{Done, Failure, Found};
use selfheal_core::interrupt::{self, Interrupts};
use selfheal_core::report::Format;
use selfheal_core::textfile;
use selfheal_core::{Outcome, atomic, duration, metrics, program};
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
It also refuses what the collector cannot serve within a scrape timeout: more than 32 labels on a \
sample, more than 64 label names in one family, more than 10000 families, a label value over 2048 \
bytes, a line over 65536 bytes (the --max-* flags raise each). Memory stays within twice the input however many problems it \
has: the first 100 are printed, the rest counted.\n\n\
With -- CMD, the command runs without a shell and its output is written only if it exits with an \
accepted code: a producer that crashes half-way cannot leave a valid-looking prefix behind. A \
producer that cannot be run (not found, not executable for this user, a missing #! interpreter) is \
a usage error found before anything else. Told to stop (TERM, INT, HUP), it stops the producer's \
process group, removes its temp file and leaves the old file.",
    after_help = "Exit codes: 0 written (or valid, with --check), 2 invalid or not written (the old file is \
unchanged; also when told to stop), 3 bad arguments or a producer that cannot be run.\n\n\
Examples:\n  \
metrics-textfile --output /var/lib/prometheus/node-exporter/ollama.prom \\\n      \
< metrics.prom\n  \
metrics-textfile --output /var/lib/prometheus/node-exporter/restart.prom \\\n      \
--accept-exit 0,1,2 -- restart-guard status --format prom\n  \
metrics-textfile --check < metrics.prom\n  \
metrics-textfile --check --max-labels 40 < metrics.prom\n  \
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

    #[command(flatten)]
    pub limits: limits::LimitFlags,

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
    let mut notes = String::new();
    let result = preflight(cli).and_then(|()| {
        if let Some(path) = &cli.output {
            notes.push_str(&target::clean(path));
        }
        let (bytes, interrupts) = input::acquire(cli)?;
        let text = convert(cli, input::decode(bytes)?)?;
        deliver(cli, &text, interrupts.as_ref())
    });
    let mut outcome = outcome::render(cli, result);
    outcome.stderr.push_str(&notes);
    if let Some(note) = cli.output.as_deref().and_then(target::note) {
        outcome.stderr.push_str(&note);
    }
    outcome
}

/// What can be found wrong before any input is read or a producer runs:
/// each a usage error (exit 3), never a failed write a timer would retry.
fn preflight(cli: &Cli) -> Result<(), Failure> {
    if let Some(key) = repeated_label(&cli.labels) {
        return Err(Failure::Usage(format!(
            "--label {key} is given twice: a sample can hold one value per label; keep one"
        )));
    }
    target::check(cli.output.as_deref())?;
    if let Some(program) = cli.command.first() {
        program::resolve("producer", program).map_err(Failure::Usage)?;
    }
    Ok(())
}

fn repeated_label(labels: &[(String, String)]) -> Option<&str> {
    labels
        .iter()
        .enumerate()
        .find(|(i, (key, _))| labels[..*i].iter().any(|(k, _)| k == key))
        .map(|(_, (key, _))| key.as_str())
}

/// JSON to text, and constant labels: the text to check and write.
fn convert(cli: &Cli, text: String) -> Result<String, Failure> {
    match cli.from {
        Input::Json => json::to_text(&text, &cli.labels).map_err(Failure::NotWritten),
        Input::Prom if cli.labels.is_empty() => Ok(text),
        Input::Prom => {
            let parsed = prom_exposition::parse_with(&text, &cli.limits.limits());
            relabel::relabel(&parsed, &cli.labels).map_err(Failure::Invalid)
        }
    }
}

/// Checks once within the flags' limits, then writes (unless --check).
/// A stop signal noted by `interrupts` before the rename stops the write.
fn deliver(cli: &Cli, text: &str, interrupts: Option<&Interrupts>) -> Result<Done, Failure> {
    let checked = prom_exposition::check_with(text, &cli.limits.limits());
    if !checked.is_valid() {
        return Err(Failure::Invalid(Found::of(&checked)));
    }
    if checked.series() == 0 && !cli.allow_empty {
        return Err(empty());
    }
    // Told to stop while checking: stop before writing (or reporting valid).
    let stopped = || interrupts.and_then(Interrupts::received).map(stopped_early);
    if let Some(why) = stopped() {
        return Err(Failure::NotWritten(why));
    }
    let mut done = Done {
        series: checked.series(),
        families: checked.family_count(),
        warnings: Found::of(&checked),
        bytes: None,
    };
    if let Some(path) = &cli.output {
        atomic::write_atomic_unless(path, text.as_bytes(), cli.mode, stopped)
            .map_err(|e| Failure::NotWritten(e.to_string()))?;
        done.bytes = Some(text.len());
    }
    Ok(done)
}

fn stopped_early(signal: i32) -> String {
    let name = interrupt::signal_name(signal);
    format!("interrupted: we received {name} before anything was written")
}

fn empty() -> Failure {
    let why = textfile::Error::Empty;
    Failure::NotWritten(format!("{why} (--allow-empty writes it anyway)"))
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
        let labels = |keys: &[&str]| -> Vec<(String, String)> {
            keys.iter().map(|k| ((*k).into(), "v".into())).collect()
        };
        assert_eq!(repeated_label(&labels(&["a", "b", "a"])), Some("a"));
        assert_eq!(repeated_label(&labels(&["a", "b"])), None);
        assert_eq!(parse_exit_code("255"), Ok(255));
        for bad in ["256", "-1", "x", ""] {
            assert!(
                parse_exit_code(bad).unwrap_err().contains("0 to 255"),
                "{bad}"
            );
        }
    }
}
