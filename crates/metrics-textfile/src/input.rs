//! Getting the bytes: stdin, or the stdout of a producer command that must
//! exit with an accepted code before a single byte of it is trusted.

use crate::Cli;
use crate::outcome::{Failure, Found};
use prom_exposition::{Problem, Rule, Severity};
use selfheal_core::command::{self, Spec};
use selfheal_core::interrupt::Interrupts;
use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::os::fd::AsFd;

/// The input, and from then on the stop signals noted rather than fatal
/// (`None` if they cannot be watched). Watching starts before a producer
/// runs, so one that stops us stops its group; but only after stdin is
/// read, so a TERM still ends a run waiting on a silent pipe at once.
pub(crate) fn acquire(cli: &Cli) -> Result<(Vec<u8>, Option<Interrupts>), Failure> {
    if cli.command.is_empty() {
        let bytes = read_stdin()?;
        Ok((bytes, Interrupts::watch().ok()))
    } else {
        let interrupts = Interrupts::watch().ok();
        Ok((produce(cli, interrupts.as_ref())?, interrupts))
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
    read_all(&mut file, usize::try_from(size).unwrap_or(usize::MAX))
}

/// Reads to the end, growing the buffer with `try_reserve`: input that
/// does not fit in memory is a clear error (exit 2), never an abort.
fn read_all(reader: &mut impl Read, size_hint: usize) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    let mut want = size_hint.saturating_add(1).max(64 * 1024);
    loop {
        buf.try_reserve_exact(want).map_err(|_| {
            Failure::NotWritten(format!(
                "input does not fit in memory ({} bytes read, {want} more could not be allocated)",
                buf.len()
            ))
        })?;
        let room = (buf.capacity() - buf.len()) as u64;
        let read = reader
            .take(room)
            .read_to_end(&mut buf)
            .map_err(|e| Failure::NotWritten(format!("cannot read stdin: {e}")))?;
        if (read as u64) < room {
            return Ok(buf);
        }
        // Doubling keeps the copies few; untouched pages cost no memory.
        want = buf.capacity();
    }
}

fn produce(cli: &Cli, interrupts: Option<&Interrupts>) -> Result<Vec<u8>, Failure> {
    let mut spec = Spec::new(cli.command.clone(), cli.timeout);
    spec.capture_stdout = true;
    let program = cli.command[0].to_string_lossy().into_owned();
    let finished = match interrupts {
        Some(interrupts) => command::run_until_stopped(&spec, interrupts),
        None => command::run(&spec),
    };
    // It passed the preflight, so a failed exec is a surprise: cannot tell.
    let finished = finished.map_err(|e| Failure::Usage(format!("producer failed: {e}")))?;
    if finished.interrupted.is_some() {
        return Err(Failure::NotWritten(format!(
            "producer {program} {}; the old file is unchanged",
            finished.describe()
        )));
    }
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
        let mut found = Found::default();
        found.add(Problem {
            line,
            rule: Rule::Encoding,
            severity: Severity::Error,
            message: "invalid UTF-8: the text format is UTF-8".into(),
        });
        Failure::Invalid(found)
    })
}
