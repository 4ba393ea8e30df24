//! `audit`: the log filtered by name, time and decision, rotated files
//! first, oldest first: a table for people by default, or with `--format
//! json` the original JSON lines (so `jq` sees exactly what was written).
//! Lines that do not parse, such as a line torn by a crash, are skipped and
//! counted on stderr. The log is read line by line: memory grows with what
//! is printed, and with `--last N` not even with that.

use crate::audit::Record;
use crate::cli::{AuditArgs, AuditFormat, Since};
use crate::render::TOOL;
use selfheal_core::Outcome;
use selfheal_core::audit::{AuditLog, Scan};
use selfheal_core::clock::Stamp;
use selfheal_core::duration::human;
use std::fmt::Write as _;
use std::time::Duration;

#[must_use]
pub fn run(args: &AuditArgs) -> Outcome {
    let log = match args.files.audit_log() {
        Ok(log) => log,
        Err(err) => return TOOL.usage_error(err),
    };
    let since = args.since.map(|s| match s {
        Since::Ago(d) => Stamp::now().unix - d.as_secs_f64(),
        Since::Unix(unix) => unix,
    });
    let wanted = |record: &Record| matches(args, since, record);
    let mut found = Vec::new();
    let scanned = match args.last {
        Some(n) => log.tail(n, wanted).map(|(last, scan)| {
            found = last;
            scan
        }),
        None => log.scan(|record: Record, line| {
            if wanted(&record) {
                found.push((record, line.to_owned()));
            }
        }),
    };
    let out = match args.format {
        AuditFormat::Json => found.iter().fold(String::new(), |mut out, (_, line)| {
            out.push_str(line);
            out.push('\n');
            out
        }),
        AuditFormat::Table => table(&found, &log),
    };
    let mut outcome = match scanned {
        Ok(scan) => with_skipped(Outcome::new(0, out), scan, &log),
        Err(err) => return TOOL.usage_error(err),
    };
    if let Some(note) = TOOL.unseen_system_state(&args.files.state) {
        let _ = writeln!(outcome.stderr, "restart-guard: warning: {note}");
    }
    outcome
}

/// One row per decision, columns aligned; the reason, often long, last.
fn table(found: &[(Record, String)], log: &AuditLog) -> String {
    if found.is_empty() {
        return format!("no matching audit lines in {}\n", log.path().display());
    }
    let rows: Vec<[String; 6]> = found.iter().map(|(r, _)| row(r)).collect();
    let header = ["TIME", "NAME", "DECISION", "BUDGET", "OUTCOME", "REASON"].map(String::from);
    let mut widths = [0; 5];
    for cells in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(cells) {
            *width = (*width).max(cell.chars().count().min(40));
        }
    }
    let mut out = String::new();
    for cells in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (cell, width) in cells.iter().zip(widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        line.push_str(&cells[5]);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn row(r: &Record) -> [String; 6] {
    let window = human(Duration::try_from_secs_f64(r.window_seconds).unwrap_or_default());
    [
        r.time.clone(),
        r.name.clone(),
        r.decision.as_str().to_owned(),
        format!("{}/{} in {window}", r.restarts_in_window, r.max),
        r.outcome.clone().unwrap_or_else(|| "-".into()),
        r.reason.clone(),
    ]
}

fn with_skipped(mut outcome: Outcome, scan: Scan, log: &AuditLog) -> Outcome {
    if scan.skipped > 0 {
        outcome.stderr = format!(
            "restart-guard: skipped {} unparseable line(s) in {} (a torn last line after a crash is normal)\n",
            scan.skipped,
            log.path().display()
        );
    }
    outcome
}

fn matches(args: &AuditArgs, since: Option<f64>, record: &Record) -> bool {
    args.name.as_ref().is_none_or(|n| *n == record.name)
        && since.is_none_or(|t| record.unix >= t)
        && args.decision.is_none_or(|d| d == record.decision)
}
