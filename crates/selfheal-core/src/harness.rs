//! The run harness every tool stands on: a tool's domain code returns a
//! `Result<Report>`, and this turns it into the [`Outcome`] `main` prints,
//! the same way for every tool.
//!
//! - `--textfile` is checked before the tool acts (a bad path is found
//!   before a restart or a kill, not after) and written after it.
//! - An error becomes UNKNOWN (exit 3) with its message as the summary.
//! - UNKNOWN never writes the textfile: the previous file stays, so its age
//!   is what a "selfheal is not reporting" alert sees, instead of every
//!   series vanishing and every alert built on them resolving.
//! - A failed textfile write turns OK into UNKNOWN and the summary says
//!   so; WARNING and CRITICAL stay as they are.
//! - Report warnings are printed once on stderr.

use crate::Outcome;
use crate::cli::{OutputArgs, StateArgs};
use crate::report::{Format, Report};
use crate::state::{NoStateDir, StateStore};
use crate::status::Status;
use crate::textfile;
use std::fmt::{Display, Write as _};
use std::path::{Path, PathBuf};

/// A tool's identity, stated once: `pub const TOOL: Tool = selfheal_core::tool!("GPU");`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tool {
    /// Binary name, e.g. `gpu-probe`; also its state folder's name.
    pub name: &'static str,
    /// Upper-case word that starts the text line, e.g. `GPU`.
    pub label: &'static str,
    pub version: &'static str,
}

/// A [`Tool`] named and versioned from the calling crate's Cargo.toml.
#[macro_export]
macro_rules! tool {
    ($label:expr) => {
        $crate::harness::Tool {
            name: env!("CARGO_PKG_NAME"),
            label: $label,
            version: env!("CARGO_PKG_VERSION"),
        }
    };
}

impl Tool {
    /// An OK report with nothing in it yet, named for this tool.
    #[must_use]
    pub fn report(&self) -> Report {
        Report::new(self.name, self.label, self.version)
    }

    /// `<state-dir>/<tool>/`: each tool keeps its own folder, so two tools
    /// watching `ollama` never read each other's state.
    pub fn state_dir(&self, state: &StateArgs) -> Result<PathBuf, NoStateDir> {
        Ok(state.dir()?.join(self.name))
    }

    /// The state store in [`Tool::state_dir`], created on first use.
    pub fn state_store(&self, state: &StateArgs) -> std::io::Result<StateStore> {
        StateStore::open(&self.state_dir(state)?)
    }

    /// For a non-root run: a warning when root's state directory holds
    /// this tool's state that this run does not show (its own directory
    /// is another), so an empty report is not read as "nothing happened".
    #[must_use]
    pub fn unseen_system_state(&self, state: &StateArgs) -> Option<String> {
        let ours = self.state_dir(state).ok()?;
        let system = state.system_state_dir.join(self.name);
        if rustix::process::geteuid().is_root() || ours == system {
            return None;
        }
        let shown = ours.display();
        let listed = std::fs::read_dir(&system).map(|dir| {
            dir.flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "json"))
        });
        match listed {
            Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => Some(format!(
                "cannot read {} (root's state, if any, is not shown): this run read {shown}; \
                 run as root to see root's",
                system.display()
            )),
            Ok(true) => Some(format!(
                "{} holds state too (root's, most likely): this run read {shown}; \
                 give --state-dir {} to read that",
                system.display(),
                state.system_state_dir.display()
            )),
            _ => None,
        }
    }

    /// Bad arguments found after parsing: exit 3, the message on stderr.
    #[must_use]
    pub fn usage_error(&self, message: impl Display) -> Outcome {
        Outcome::usage(format!("{}: {message}\n", self.name))
    }

    /// The report for "could not tell": UNKNOWN, the error as summary.
    #[must_use]
    pub fn unknown(&self, err: &anyhow::Error) -> Report {
        let mut report = self.report();
        report.status = Status::Unknown;
        report.summary = format!("{err:#}");
        report
    }

    /// The whole of a tool's `run()`: see the module documentation.
    pub fn run(
        &self,
        output: &OutputArgs,
        body: impl FnOnce() -> anyhow::Result<Report>,
    ) -> Outcome {
        if let Some(path) = &output.textfile
            && let Err(problem) = textfile::check_target(path)
        {
            let err = anyhow::anyhow!(problem.explain("--textfile", path));
            return self.finish(self.unknown(&err), output);
        }
        match body() {
            Ok(report) => self.finish(report, output),
            Err(err) if no_state_dir(&err) => self.usage_error(format!("{err:#}")),
            Err(err) => self.finish(self.unknown(&err), output),
        }
    }

    /// [`Tool::run`] for a dry run, which writes nothing at all:
    /// `--textfile` is checked as for a real run, but not written, and a
    /// warning says so.
    pub fn run_dry(
        &self,
        output: &OutputArgs,
        body: impl FnOnce() -> anyhow::Result<Report>,
    ) -> Outcome {
        let mut unwritten = output.clone();
        let Some(path) = unwritten.textfile.take() else {
            return self.run(output, body);
        };
        self.run(&unwritten, || {
            if let Err(problem) = textfile::check_target(&path) {
                anyhow::bail!(problem.explain("--textfile", &path));
            }
            let mut report = body()?;
            report.warn(format!("dry run: {} not written", path.display()));
            Ok(report)
        })
    }

    /// Writes the textfile (unless UNKNOWN) and renders the report.
    #[must_use]
    pub fn finish(&self, mut report: Report, output: &OutputArgs) -> Outcome {
        if let Some(path) = &output.textfile {
            write_textfile(&mut report, path);
        }
        let mut stderr = String::new();
        for warning in &report.warnings {
            let _ = writeln!(stderr, "{}: warning: {warning}", self.name);
        }
        // Prometheus text has no place for the reason, and an UNKNOWN run
        // has no metrics: without this the user sees exit 3 and nothing.
        if matches!(output.format, Format::Prom) && report.status == Status::Unknown {
            let _ = writeln!(stderr, "{}: UNKNOWN - {}", self.name, report.summary);
        }
        Outcome {
            code: report.exit_code(),
            stdout: report.render(output.format),
            stderr,
        }
    }
}

/// Whether `err` is, or wraps, a missing state directory: the user must
/// say where state goes, a usage error rather than "could not tell".
fn no_state_dir(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.is::<NoStateDir>()
            || e.downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                .and_then(|inner| inner.downcast_ref::<NoStateDir>())
                .is_some()
    })
}

fn write_textfile(report: &mut Report, path: &Path) {
    if report.status == Status::Unknown {
        report.warn(format!(
            "{} left as it was: this run could not tell (its age shows selfheal is not reporting)",
            path.display()
        ));
        return;
    }
    if let Some(note) = textfile::name_note(path) {
        report.warn(note);
    }
    if let Err(err) = textfile::write(path, &report.to_prom(&[])) {
        report.warn(format!("textfile {} not written: {err}", path.display()));
        if report.status == Status::Ok {
            report.status = Status::Unknown;
            report.summary = format!(
                "{} (but the textfile {} could not be written: {err})",
                report.summary,
                path.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Check;
    use crate::report::Format;
    use std::fs;

    const DEMO: Tool = Tool {
        name: "demo-tool",
        label: "DEMO",
        version: "1.0",
    };

    fn output(format: Format, textfile: Option<PathBuf>) -> OutputArgs {
        OutputArgs { format, textfile }
    }

    fn ok_report() -> Report {
        let mut report = DEMO.report();
        report.summary = "all fine".into();
        report.metrics.push(
            crate::metrics::MetricFamily::new(
                "selfheal_demo_tool_up",
                crate::metrics::MetricKind::Gauge,
                crate::metrics::Unit::Count,
                "Up.",
            )
            .with(&[], 1.0),
        );
        report
    }

    #[test]
    fn an_error_becomes_unknown_with_its_message() {
        let outcome = DEMO.run(&output(Format::Text, None), || {
            Err(anyhow::anyhow!("cannot read /x").context("probing"))
        });
        assert_eq!(outcome.code, 3);
        assert_eq!(outcome.stdout, "DEMO UNKNOWN - probing: cannot read /x\n");
    }

    #[test]
    fn an_unknown_run_in_prom_format_says_why_on_stderr() {
        let outcome = DEMO.run(&output(Format::Prom, None), || {
            anyhow::bail!("cannot read /x")
        });
        assert_eq!(outcome.code, 3);
        assert_eq!(outcome.stderr, "demo-tool: UNKNOWN - cannot read /x\n");
    }

    #[test]
    fn unknown_keeps_the_previous_textfile_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.prom");
        let out = output(Format::Text, Some(path.clone()));
        assert_eq!(DEMO.run(&out, || Ok(ok_report())).code, 0);
        let before = fs::read_to_string(&path).unwrap();
        assert!(before.contains("selfheal_demo_tool_up 1"), "{before}");
        let outcome = DEMO.run(&out, || anyhow::bail!("cannot tell"));
        assert_eq!(outcome.code, 3);
        assert_eq!(fs::read_to_string(&path).unwrap(), before);
        assert!(
            outcome.stderr.contains("left as it was"),
            "{}",
            outcome.stderr
        );
    }

    #[test]
    fn a_bad_textfile_is_refused_before_the_tool_acts() {
        let dir = tempfile::tempdir().unwrap();
        let mut acted = false;
        let outcome = DEMO.run(&output(Format::Text, Some(dir.path().into())), || {
            acted = true;
            Ok(ok_report())
        });
        assert!(!acted);
        assert_eq!(outcome.code, 3);
        assert!(
            outcome.stdout.contains("is a directory"),
            "{}",
            outcome.stdout
        );
    }

    #[test]
    fn a_dry_run_checks_the_textfile_but_never_writes_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.prom");
        let outcome = DEMO.run_dry(
            &output(Format::Text, Some(path.clone())),
            || Ok(ok_report()),
        );
        assert_eq!(outcome.code, 0);
        assert!(!path.exists(), "a dry run wrote the textfile");
        assert!(outcome.stderr.contains("dry run: "), "{}", outcome.stderr);
        let bad = output(Format::Text, Some(dir.path().into()));
        let outcome = DEMO.run_dry(&bad, || Ok(ok_report()));
        assert_eq!(outcome.code, 3);
        assert!(
            outcome.stdout.contains("is a directory"),
            "{}",
            outcome.stdout
        );
    }

    #[test]
    fn a_failed_write_turns_ok_into_unknown_and_the_line_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.prom");
        let out = output(Format::Text, Some(path.clone()));
        let outcome = DEMO.run(&out, || {
            // The directory vanishes after the up-front check.
            fs::remove_dir(dir.path()).unwrap();
            Ok(ok_report())
        });
        assert_eq!(outcome.code, 3);
        assert!(
            outcome
                .stdout
                .starts_with("DEMO UNKNOWN - all fine (but the textfile"),
            "{}",
            outcome.stdout
        );
        let mut critical = ok_report();
        critical.check(Check::new("x", Status::Critical, "down"));
        assert_eq!(DEMO.finish(critical, &out).code, 2);
    }

    #[test]
    fn warnings_print_once_and_a_non_prom_name_gets_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let out = output(Format::Json, Some(dir.path().join("demo.txt")));
        let outcome = DEMO.run(&out, || {
            let mut report = ok_report();
            report.warn("state set aside");
            Ok(report)
        });
        assert_eq!(outcome.code, 0);
        assert_eq!(outcome.stderr.matches("state set aside").count(), 1);
        assert!(outcome.stderr.contains("*.prom"), "{}", outcome.stderr);
        let json: serde_json::Value = serde_json::from_str(&outcome.stdout).unwrap();
        assert_eq!(json["warnings"][0], "state set aside");
    }

    #[test]
    fn no_state_directory_is_a_usage_error_not_unknown() {
        let outcome = DEMO.run(&output(Format::Text, None), || {
            let err = std::io::Error::from(NoStateDir);
            Err(anyhow::Error::from(err).context("cannot open the state"))
        });
        assert_eq!((outcome.code, outcome.stdout.as_str()), (3, ""));
        assert!(
            outcome.stderr.contains("give --state-dir DIR"),
            "{}",
            outcome.stderr
        );
    }

    #[test]
    fn usage_errors_exit_3_on_stderr_only() {
        let outcome = DEMO.usage_error("--gpu 9: no such GPU");
        assert_eq!((outcome.code, outcome.stdout.as_str()), (3, ""));
        assert_eq!(outcome.stderr, "demo-tool: --gpu 9: no such GPU\n");
    }

    #[test]
    fn the_macro_takes_name_and_version_from_cargo() {
        let tool = crate::tool!("CORE");
        assert_eq!(
            (tool.name, tool.version),
            ("selfheal-core", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(
            DEMO.state_dir(&StateArgs::at("/s")),
            Ok(PathBuf::from("/s/demo-tool"))
        );
    }
}
