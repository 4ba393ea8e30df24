//! What every `age` source returns — per key, how long ago progress was last
//! seen — and the pure judgement of those ages against `--warn`/`--crit`.

use selfheal_core::duration::human;
use selfheal_core::{Check, Report, Status};
use std::time::Duration;

/// The last sign of progress of one key (a symbol, a pid, a file).
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub key: String,
    /// Seconds since progress was last seen; `None` when there never was
    /// any (a NULL timestamp, a key with no row).
    pub age: Option<f64>,
    /// A fact that sets at least this status at once, whatever the age
    /// (a stopped process, a failed unit).
    pub floor: Option<(Status, String)>,
    /// How the age was measured, for the text line.
    pub how: String,
}

impl Progress {
    /// A negative `age` (a time in the future) counts as 0 within
    /// [`FUTURE_SLACK_SECS`] of clock skew; beyond that it is a WARNING, as
    /// a writer whose clock runs ahead (or that writes garbage) would
    /// otherwise look fresh for ever.
    #[must_use]
    pub fn aged(key: impl Into<String>, age: f64, how: impl Into<String>) -> Self {
        let progress = Progress {
            key: key.into(),
            // Rounded to the millisecond, where that cannot overflow to
            // infinity (JSON would print it as null: "never").
            age: Some(if age < 1e12 {
                (age.max(0.0) * 1000.0).round() / 1000.0
            } else {
                age
            }),
            floor: None,
            how: how.into(),
        };
        if age < -FUTURE_SLACK_SECS {
            let ahead = human(Duration::from_secs_f64((-age).min(1e12)));
            let why = format!(
                "last progress is {ahead} in the future ({}): the writer's clock or \
                 this host's is wrong, so progress cannot be judged; fix the clocks",
                progress.how
            );
            return progress.with_floor(Status::Warning, why);
        }
        progress
    }

    #[must_use]
    pub fn never(key: impl Into<String>, how: impl Into<String>) -> Self {
        Progress {
            key: key.into(),
            age: None,
            floor: None,
            how: how.into(),
        }
    }

    #[must_use]
    pub fn with_floor(mut self, status: Status, why: impl Into<String>) -> Self {
        self.floor = Some((status, why.into()));
        self
    }
}

/// How far in the future a progress time may be and still count as "now"
/// (the skew between two NTP-synced clocks is far below this).
pub const FUTURE_SLACK_SECS: f64 = 60.0;

/// `--warn` and `--crit`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub warn: Option<Duration>,
    pub crit: Duration,
}

/// One key's verdict and the sentence explaining it.
#[must_use]
pub fn judge(progress: &Progress, limits: Thresholds) -> (Status, String) {
    let by_age = match progress.age {
        None => (
            Status::Critical,
            format!("{}: no progress recorded ({})", progress.key, progress.how),
        ),
        Some(age) => {
            let status = if age >= limits.crit.as_secs_f64() {
                Status::Critical
            } else if limits.warn.is_some_and(|w| age >= w.as_secs_f64()) {
                Status::Warning
            } else {
                Status::Ok
            };
            let limit = match status {
                Status::Critical => format!(" >= crit {}", human(limits.crit)),
                Status::Warning => format!(" >= warn {}", human(limits.warn.unwrap_or_default())),
                _ => String::new(),
            };
            let ago = human(Duration::from_secs_f64(age.min(1e12)));
            (
                status,
                format!(
                    "{}: last progress {ago} ago{limit} ({})",
                    progress.key, progress.how
                ),
            )
        }
    };
    match &progress.floor {
        Some((floor, why)) if floor.worst(by_age.0) != by_age.0 => {
            (*floor, format!("{}: {why}", progress.key))
        }
        Some((_, why)) => (by_age.0, format!("{}; {why}", by_age.1)),
        None => by_age,
    }
}

/// Adds one check per key and the summary line: the one key, or a count
/// per status with the worst keys named first.
pub fn fold_into(report: &mut Report, readings: &[Progress], limits: Thresholds) -> Vec<Status> {
    let mut verdicts = Vec::new();
    let mut lines = Vec::new();
    for progress in readings {
        let (status, line) = judge(progress, limits);
        report.check(Check::new(
            &format!("progress:{}", progress.key),
            status,
            line.clone(),
        ));
        verdicts.push(status);
        lines.push((status, line));
    }
    report.summary = summarize(&lines);
    verdicts
}

fn summarize(lines: &[(Status, String)]) -> String {
    if let [(_, only)] = lines {
        return only.clone();
    }
    let count = |s: Status| lines.iter().filter(|(st, _)| *st == s).count();
    let mut summary = format!(
        "{} keys: {} critical, {} warning, {} ok",
        lines.len(),
        count(Status::Critical),
        count(Status::Warning),
        count(Status::Ok)
    );
    let mut bad: Vec<&(Status, String)> = lines.iter().filter(|(s, _)| *s != Status::Ok).collect();
    bad.sort_by_key(|(s, _)| std::cmp::Reverse(s.exit_code()));
    for (_, line) in bad.iter().take(3) {
        summary.push_str("; ");
        summary.push_str(line);
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Thresholds = Thresholds {
        warn: Some(Duration::from_secs(60)),
        crit: Duration::from_secs(300),
    };

    #[test]
    fn ages_against_warn_and_crit() {
        let cases = [
            (10.0, Status::Ok),
            (60.0, Status::Warning),
            (299.9, Status::Warning),
            (300.0, Status::Critical),
        ];
        for (age, expected) in cases {
            let (status, line) = judge(&Progress::aged("BTC", age, "query"), LIMITS);
            assert_eq!(status, expected, "age {age}: {line}");
        }
        let (_, line) = judge(&Progress::aged("BTC", 400.0, "query"), LIMITS);
        assert_eq!(line, "BTC: last progress 6m40s ago >= crit 5m (query)");
    }

    #[test]
    fn a_time_in_the_future_is_a_warning_beyond_clock_skew() {
        let skewed = Progress::aged("BTC", -2.0, "query timestamp");
        assert_eq!(skewed.age, Some(0.0));
        assert_eq!(judge(&skewed, LIMITS).0, Status::Ok);
        let ahead = Progress::aged("BTC", -3600.0, "query timestamp");
        let (status, line) = judge(&ahead, LIMITS);
        assert_eq!(status, Status::Warning, "{line}");
        assert!(line.contains("1h in the future"), "{line}");
    }

    #[test]
    fn a_huge_age_stays_finite() {
        let ancient = Progress::aged("BTC", 1e308, "json age");
        assert_eq!(ancient.age, Some(1e308));
        assert_eq!(judge(&ancient, LIMITS).0, Status::Critical);
    }

    #[test]
    fn no_progress_ever_is_critical() {
        let (status, line) = judge(&Progress::never("ETH", "NULL timestamp"), LIMITS);
        assert_eq!(status, Status::Critical);
        assert!(line.contains("no progress recorded"), "{line}");
    }

    #[test]
    fn a_floor_sets_the_status_at_once_but_never_lowers_it() {
        let stopped =
            Progress::aged("4242", 0.0, "cpu time").with_floor(Status::Critical, "stopped");
        assert_eq!(
            judge(&stopped, LIMITS),
            (Status::Critical, "4242: stopped".into())
        );
        let d_state = Progress::aged("4242", 999.0, "cpu time").with_floor(Status::Warning, "in D");
        let (status, line) = judge(&d_state, LIMITS);
        assert_eq!(status, Status::Critical);
        assert!(line.ends_with("; in D"), "{line}");
    }

    #[test]
    fn many_keys_are_counted_and_the_worst_named() {
        let mut report = crate::TOOL.report();
        let readings = [
            Progress::aged("BTC", 5.0, "q"),
            Progress::aged("ETH", 500.0, "q"),
            Progress::aged("SOL", 70.0, "q"),
        ];
        let verdicts = fold_into(&mut report, &readings, LIMITS);
        assert_eq!(verdicts, [Status::Ok, Status::Critical, Status::Warning]);
        assert_eq!(report.status, Status::Critical);
        assert!(
            report
                .summary
                .starts_with("3 keys: 1 critical, 1 warning, 1 ok; ETH: "),
            "{}",
            report.summary
        );
    }
}
