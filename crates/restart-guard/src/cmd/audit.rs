//! `audit`: the log filtered by name, time and decision, printed as the
//! original JSON lines (so `jq` sees exactly what was written), rotated
//! files first, oldest first. Lines that do not parse, such as a line torn
//! by a crash, are skipped and counted on stderr. The log is read line by
//! line: memory grows with what is printed, and with `--last N` not even
//! with that.

use crate::audit::Record;
use crate::cli::{AuditArgs, Since};
use crate::render::TOOL;
use selfheal_core::Outcome;
use selfheal_core::audit::Scan;
use selfheal_core::clock::Stamp;

#[must_use]
pub fn run(args: &AuditArgs) -> Outcome {
    let log = args.files.audit_log();
    let since = args.since.map(|s| match s {
        Since::Ago(d) => Stamp::now().unix - d.as_secs_f64(),
        Since::Unix(unix) => unix,
    });
    let wanted = |record: &Record| matches(args, since, record);
    let mut out = String::new();
    let scanned = match args.last {
        Some(n) => log.tail(n, wanted).map(|(last, scan)| {
            for (_, line) in last {
                out.push_str(&line);
                out.push('\n');
            }
            scan
        }),
        None => log.scan(|record: Record, line| {
            if wanted(&record) {
                out.push_str(line);
                out.push('\n');
            }
        }),
    };
    match scanned {
        Ok(scan) => with_skipped(Outcome::new(0, out), scan, &log),
        Err(err) => TOOL.usage_error(err),
    }
}

fn with_skipped(mut outcome: Outcome, scan: Scan, log: &selfheal_core::audit::AuditLog) -> Outcome {
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
