//! Durations for flags (`90s`, `5m`, `1h30m`, `250ms`, `2d`) and for humans.
//!
//! A bare number is refused rather than guessed: `--cooldown 60` in a timer
//! unit could mean seconds or minutes, and a wrong guess changes a policy.

use std::fmt::Write as _;
use std::time::Duration;

const UNITS: [(&str, u64); 6] = [
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
    ("w", 604_800_000),
];

/// Parses `1h30m`-style durations: one or more `<integer><unit>` parts, units
/// `ms s m h d w`, largest first is not required. Works as a clap `value_parser`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty duration: write e.g. 90s, 5m or 1h30m".into());
    }
    if trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "'{trimmed}' has no unit: write {trimmed}s, {trimmed}m or {trimmed}h"
        ));
    }
    let mut total_ms: u64 = 0;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "invalid duration '{trimmed}': expected a number at '{rest}' (units: ms, s, m, h, d, w)"
            ));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("invalid duration '{trimmed}': number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(format!(
                "invalid duration '{trimmed}': unknown unit '{unit}' (use ms, s, m, h, d or w, e.g. 1h30m)"
            ));
        };
        rest = &rest[unit_len..];
        total_ms = number
            .checked_mul(scale)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(|| format!("invalid duration '{trimmed}': too large"))?;
    }
    Ok(Duration::from_millis(total_ms))
}

/// Formats for a summary line: `3m12s`, `1h`, `250ms`, `0s`. Sub-second parts
/// are kept only under a minute, where they matter.
#[must_use]
pub fn human(duration: Duration) -> String {
    let total_ms = duration.as_millis();
    if total_ms == 0 {
        return "0s".into();
    }
    if total_ms < 1_000 {
        return format!("{total_ms}ms");
    }
    if total_ms < 60_000 {
        let secs = duration.as_secs_f64();
        let text = format!("{secs:.3}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        return format!("{text}s");
    }
    let mut secs = duration.as_secs();
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            let _ = write!(out, "{}{unit}", secs / size);
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{human, parse};
    use std::time::Duration;

    #[test]
    fn parses_single_and_compound_units() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn refuses_a_bare_number_and_says_how_to_fix_it() {
        let err = parse("60").unwrap_err();
        assert!(err.contains("60s"), "{err}");
    }

    #[test]
    fn names_the_bad_unit() {
        let err = parse("5y").unwrap_err();
        assert!(err.contains("unknown unit 'y'"), "{err}");
        assert!(parse("").is_err());
        assert!(parse("m5").is_err());
        assert!(parse("99999999999999999999s").is_err());
    }

    #[test]
    fn human_is_compact() {
        assert_eq!(human(Duration::from_secs(192)), "3m12s");
        assert_eq!(human(Duration::from_secs(3600)), "1h");
        assert_eq!(human(Duration::from_millis(10_001)), "10.001s");
        assert_eq!(human(Duration::from_millis(250)), "250ms");
        assert_eq!(human(Duration::ZERO), "0s");
    }
}
