//! Getting the bytes: stdin, or the stdout of a producer command that must
//! exit with an accepted code before a single byte of it is trusted.

use crate::Cli;
use crate::outcome::Failure;
use prom_exposition::{Problem, Rule, Severity};
use selfheal_core::command::{self, Spec};
use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::os::fd::AsFd;

pub(crate) fn acquire(cli: &Cli) -> Result<Vec<u8>, Failure> {
    if cli.command.is_empty() {
        read_stdin()
    } else {
        produce(cli)
    }
}

fn read_stdin() -> Result<Vec<u8>, Failure> {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        return Err(Failure::Usage(
            "no input: pipe Prometheus text into metrics-textfile, or give the command that prints it after --".into(),
        ));
    }
    let mut file = stdin
        .as_fd()
        .try_clone_to_owned()
        .map(File::from)
        .map_err(|e| Failure::NotWritten(format!("cannot read stdin: {e}")))?;
    // A redirected file tells its size: read it in one allocation.
    let size = file.metadata().map_or(0, |m| m.len());
    let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.read_to_end(&mut buf)
        .map_err(|e| Failure::NotWritten(format!("cannot read stdin: {e}")))?;
    Ok(buf)
}

fn produce(cli: &Cli) -> Result<Vec<u8>, Failure> {
    let mut spec = Spec::new(cli.command.clone(), cli.timeout);
    spec.capture_stdout = true;
    let program = cli.command[0].to_string_lossy().into_owned();
    let finished =
        command::run(&spec).map_err(|e| Failure::NotWritten(format!("producer failed: {e}")))?;
    let code = finished.status.and_then(|s| s.code());
    if code.is_some_and(|c| cli.accept_exit.contains(&c)) {
        return Ok(finished.stdout);
    }
    let accepted: Vec<String> = cli.accept_exit.iter().map(ToString::to_string).collect();
    Err(Failure::NotWritten(format!(
        "producer {program} {} (accepted exit codes: {}): its output is not trusted",
        finished.describe(),
        accepted.join(",")
    )))
}

/// The text format is UTF-8; anything else is refused at its line.
pub(crate) fn decode(bytes: Vec<u8>) -> Result<String, Failure> {
    String::from_utf8(bytes).map_err(|err| {
        let valid = err.utf8_error().valid_up_to();
        let line = err.as_bytes()[..valid].split(|&b| b == b'\n').count();
        Failure::Invalid(vec![Problem {
            line,
            rule: Rule::Encoding,
            severity: Severity::Error,
            message: "invalid UTF-8: the text format is UTF-8".into(),
        }])
    })
}
