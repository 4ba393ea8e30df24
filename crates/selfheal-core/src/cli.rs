//! What every binary does the same way: flags shared by all tools, the
//! usage-error rule (exit 3, never 2: clap's default of 2 would read as
//! CRITICAL and could trigger a restart from a typo in a timer unit), and
//! the outcome that `main` turns into output and an exit code.

use crate::report::Format;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code for bad arguments, for every tool.
pub const USAGE_EXIT: u8 = 3;

/// `--format` and `--textfile`, flattened into every probe's flags.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// What to print: text (one Nagios line with perfdata), json (one object)
    /// or prom (Prometheus text for node_exporter)
    #[arg(long, value_enum, default_value = "text", env = "SELFHEAL_FORMAT")]
    pub format: Format,

    /// Also write the metrics to PATH atomically (for node_exporter's textfile
    /// collector), whatever --format prints
    #[arg(long, value_name = "PATH", env = "SELFHEAL_TEXTFILE")]
    pub textfile: Option<PathBuf>,
}

/// `--state-dir`, for tools that keep history.
#[derive(Debug, Clone, clap::Args)]
pub struct StateArgs {
    /// Directory for state files [default: $STATE_DIRECTORY, else
    /// /var/lib/selfheal as root, else $XDG_STATE_HOME/selfheal, else
    /// ~/.local/state/selfheal]
    #[arg(long, value_name = "DIR", env = "SELFHEAL_STATE_DIR")]
    pub state_dir: Option<PathBuf>,

    /// Root's state directory, looked at (never written) by non-root runs
    /// to warn that state there is not the state shown (tests point it at
    /// a temp dir)
    #[arg(long, hide = true, default_value = crate::state::SYSTEM_DIR, env = "SELFHEAL_SYSTEM_STATE_DIR")]
    pub system_state_dir: PathBuf,
}

impl StateArgs {
    /// `--state-dir DIR`: the default for a run with only that.
    #[must_use]
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        StateArgs {
            state_dir: Some(dir.into()),
            system_state_dir: PathBuf::from(crate::state::SYSTEM_DIR),
        }
    }

    /// The state directory, or why there is none (a non-root user with no
    /// home: never root's directory, which it could not write).
    pub fn dir(&self) -> Result<PathBuf, crate::state::NoStateDir> {
        match &self.state_dir {
            Some(dir) => Ok(dir.clone()),
            None => crate::state::default_dir(&self.system_state_dir),
        }
    }
}

/// The `systemctl` a tool runs, hidden: tests point it at a stand-in.
#[derive(Debug, Clone, clap::Args)]
pub struct SystemctlArgs {
    /// The systemctl to run (tests point this at a fake)
    #[arg(
        long,
        hide = true,
        default_value = "systemctl",
        env = "SELFHEAL_SYSTEMCTL"
    )]
    pub systemctl: std::ffi::OsString,
}

/// What a tool's `run()` returns: the exit code and what to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub code: u8,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    #[must_use]
    pub fn new(code: u8, stdout: impl Into<String>) -> Self {
        Outcome {
            code,
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    /// Bad arguments: exit 3 (never 2), the message on stderr, nothing on
    /// stdout. Every usage error of every tool is built here.
    #[must_use]
    pub fn usage(stderr: impl Into<String>) -> Self {
        Outcome {
            code: USAGE_EXIT,
            stdout: String::new(),
            stderr: stderr.into(),
        }
    }

    /// Prints the outcome and returns the exit code. A closed stdout (`| head`)
    /// is not an error.
    #[must_use]
    pub fn emit(self) -> ExitCode {
        let mut out = std::io::stdout().lock();
        if let Err(err) = out
            .write_all(self.stdout.as_bytes())
            .and_then(|()| out.flush())
            && err.kind() != std::io::ErrorKind::BrokenPipe
        {
            eprintln!("error: cannot write to stdout: {err}");
        }
        eprint!("{}", self.stderr);
        ExitCode::from(self.code)
    }
}

/// Parses flags; `--help`/`--version` become an exit-0 outcome, every usage
/// error an exit-3 outcome with clap's message on stderr. Environment
/// variables behave as systemd users expect: `Environment=X=` (empty) means
/// unset, and on/off flags take `1/0/yes/no/true/false/on/off`. Options a
/// subcommand takes may precede it, and a mistyped subcommand gets a
/// did-you-mean (see `subcommand`).
pub fn parse<T: clap::Parser>(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
) -> Result<T, Outcome> {
    let mut command = with_env_rules(T::command());
    let args = args.into_iter().map(Into::into).collect();
    let args = crate::subcommand::hoist_options(&command, args);
    command
        .try_get_matches_from_mut(&args)
        .and_then(|mut matches| T::from_arg_matches_mut(&mut matches))
        .map_err(|err| {
            use clap::error::ErrorKind;
            match err.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    Outcome::new(0, err.render().to_string())
                }
                ErrorKind::UnknownArgument | ErrorKind::InvalidSubcommand => {
                    match crate::subcommand::stray_word(&command, &args) {
                        Some(word) => Outcome::usage(not_a_subcommand(&mut command, word)),
                        None => Outcome::usage(err.render().to_string()),
                    }
                }
                _ if args.len() == 1 && command.has_subcommands() => {
                    Outcome::usage(subcommand_list(
                        &mut command,
                        "error: no arguments: give the options of the usage below, or a subcommand",
                        "",
                    ))
                }
                _ => Outcome::usage(err.render().to_string()),
            }
        })
}

/// `error: 'stauts' is not a subcommand` with the closest one.
fn not_a_subcommand(command: &mut clap::Command, word: &str) -> String {
    let tip = match crate::subcommand::suggest(command, word) {
        Some(best) => format!("  tip: did you mean `{best}`?\n"),
        None => String::new(),
    };
    subcommand_list(
        command,
        &format!("error: '{word}' is not a subcommand"),
        &tip,
    )
}

/// An error that lists the subcommands and the usage.
fn subcommand_list(command: &mut clap::Command, error: &str, tip: &str) -> String {
    let names: Vec<&str> = command
        .get_subcommands()
        .map(clap::Command::get_name)
        .filter(|n| *n != "help")
        .collect();
    let names = names.join(", ");
    format!(
        "{error}\n\n{tip}  the subcommands are: {names}\n\n{}\n\nFor more information, try '--help'.\n",
        command.render_usage()
    )
}

fn with_env_rules(command: clap::Command) -> clap::Command {
    command
        .mut_args(|arg| {
            let empty = arg
                .get_env()
                .and_then(std::env::var_os)
                .is_some_and(|value| value.is_empty());
            let arg = if empty { arg.env(None) } else { arg };
            if arg.get_env().is_some() && matches!(arg.get_action(), clap::ArgAction::SetTrue) {
                arg.value_parser(clap::builder::BoolishValueParser::new())
            } else {
                arg
            }
        })
        .mut_subcommands(with_env_rules)
}

/// The whole of a tool's `main`: parse, run, print, exit.
pub fn main<T: clap::Parser>(run: impl FnOnce(T) -> Outcome) -> ExitCode {
    match parse::<T>(std::env::args_os()) {
        Ok(cli) => run(cli),
        Err(outcome) => outcome,
    }
    .emit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(name = "demo", version)]
    struct Demo {
        #[arg(long, value_parser = crate::duration::parse)]
        every: Option<std::time::Duration>,
        #[command(flatten)]
        output: OutputArgs,
    }

    #[test]
    fn usage_errors_exit_3_with_message_on_stderr() {
        let outcome = parse::<Demo>(["demo", "--bogus"]).unwrap_err();
        assert_eq!(outcome.code, 3);
        assert!(outcome.stderr.contains("--bogus"), "{}", outcome.stderr);
        let outcome = parse::<Demo>(["demo", "--every", "60"]).unwrap_err();
        assert_eq!(outcome.code, 3);
        assert!(outcome.stderr.contains("60s"), "{}", outcome.stderr);
        let outcome = parse::<Demo>(["demo", "--format", "xml"]).unwrap_err();
        assert_eq!(outcome.code, 3);
    }

    #[test]
    fn empty_environment_values_mean_unset_and_flags_take_yes_no() {
        #[derive(Parser, Debug)]
        struct EnvDemo {
            #[arg(long, env = "SELFHEAL_TEST_ONLY_EMPTY")]
            path: Option<String>,
            #[arg(long, env = "SELFHEAL_TEST_ONLY_YES")]
            dry_run: bool,
            #[arg(long, env = "SELFHEAL_TEST_ONLY_ZERO")]
            verbose: bool,
        }
        let vars = [
            ("SELFHEAL_TEST_ONLY_EMPTY", ""),
            ("SELFHEAL_TEST_ONLY_YES", "yes"),
            ("SELFHEAL_TEST_ONLY_ZERO", "0"),
        ];
        let name = "cli::tests::empty_environment_values_mean_unset_and_flags_take_yes_no";
        if !crate::testing::in_own_process(name, &vars) {
            return;
        }
        let parsed = parse::<EnvDemo>(["demo"]).unwrap();
        assert_eq!(parsed.path, None);
        assert!(parsed.dry_run);
        assert!(!parsed.verbose);
    }

    #[test]
    fn help_and_version_exit_0_on_stdout() {
        let help = parse::<Demo>(["demo", "--help"]).unwrap_err();
        assert_eq!(help.code, 0);
        assert!(help.stdout.contains("--textfile"), "{}", help.stdout);
        assert_eq!(parse::<Demo>(["demo", "--version"]).unwrap_err().code, 0);
    }
}
