//! `audit`: the log filtered by name, time and decision, printed as the
//! original JSON lines (so `jq` sees exactly what was written). Lines that do
//! not parse, such as a line torn by a crash, are skipped and counted on stderr.

use crate::audit::{self, Record};
use crate::cli::{AuditArgs, Since};
use selfheal_core::Outcome;
use selfheal_core::cli::USAGE_EXIT;
use selfheal_core::clock::Stamp;

#[must_use]
pub fn run(args: &AuditArgs) -> Outcome {
    let path = args.files.audit_path();
    let log = match audit::read(&path) {
        Ok(log) => log,
        Err(err) => {
            return Outcome {
                code: USAGE_EXIT,
                stdout: String::new(),
                stderr: format!("restart-guard: {err}\n"),
            };
        }
    };
    let since = args.since.map(|s| match s {
        Since::Ago(d) => Stamp::now().unix - d.as_secs_f64(),
        Since::Unix(unix) => unix,
    });
    let mut out = String::new();
    for (record, line) in &log.records {
        if matches(args, since, record) {
            out.push_str(line);
            out.push('\n');
        }
    }
    let mut outcome = Outcome::new(0, out);
    if log.skipped > 0 {
        outcome.stderr = format!(
            "restart-guard: skipped {} unparseable line(s) in {} (a torn last line after a crash is normal)\n",
            log.skipped,
            path.display()
        );
    }
    outcome
}

fn matches(args: &AuditArgs, since: Option<f64>, record: &Record) -> bool {
    args.name.as_ref().is_none_or(|n| *n == record.name)
        && since.is_none_or(|t| record.unix >= t)
        && args.decision.is_none_or(|d| d == record.decision)
}
