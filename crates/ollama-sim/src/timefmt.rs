//! Time as Ollama prints it: Go's RFC3339Nano (trailing zeros of the
//! fraction trimmed, `Z` in UTC, `+hh:mm` otherwise) and the HTTP `Date`.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Go's `time.Duration(math.MaxInt64)`: what a negative keep_alive becomes.
pub const FOREVER: Duration = Duration::from_nanos(i64::MAX as u64);

/// Year, month, day of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn split(time: SystemTime) -> (i64, u32) {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => (since.as_secs().cast_signed(), since.subsec_nanos()),
        Err(before) => {
            let d = before.duration();
            let nanos = d.subsec_nanos();
            if nanos == 0 {
                (-d.as_secs().cast_signed(), 0)
            } else {
                (-d.as_secs().cast_signed() - 1, 1_000_000_000 - nanos)
            }
        }
    }
}

/// RFC3339Nano in a zone `offset_minutes` east of UTC, as Go formats it.
#[must_use]
pub fn rfc3339_nano(time: SystemTime, offset_minutes: i32) -> String {
    let (secs, nanos) = split(time);
    let local = secs + i64::from(offset_minutes) * 60;
    let (year, month, day) = civil_from_days(local.div_euclid(86_400));
    let of_day = local.rem_euclid(86_400);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    );
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    if offset_minutes == 0 {
        out.push('Z');
    } else {
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        let abs = offset_minutes.unsigned_abs();
        let _ = write!(out, "{sign}{:02}:{:02}", abs / 60, abs % 60);
    }
    out
}

fn local_parts(time: SystemTime, offset_minutes: i32) -> ((i64, u32, u32), i64, u32) {
    let (secs, nanos) = split(time);
    let local = secs + i64::from(offset_minutes) * 60;
    (
        civil_from_days(local.div_euclid(86_400)),
        local.rem_euclid(86_400),
        nanos,
    )
}

fn offset_text(offset_minutes: i32) -> String {
    if offset_minutes == 0 {
        return "Z".into();
    }
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let abs = offset_minutes.unsigned_abs();
    format!("{sign}{:02}:{:02}", abs / 60, abs % 60)
}

/// slog's time: RFC 3339 with milliseconds, `2026-11-30T01:10:00.123Z`.
#[must_use]
pub fn rfc3339_millis(time: SystemTime, offset_minutes: i32) -> String {
    let ((year, month, day), of_day, nanos) = local_parts(time, offset_minutes);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}{}",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
        nanos / 1_000_000,
        offset_text(offset_minutes)
    )
}

/// Gin's log stamp: `2026/11/30 - 01:10:00`.
#[must_use]
pub fn gin_stamp(time: SystemTime, offset_minutes: i32) -> String {
    let ((year, month, day), of_day, _) = local_parts(time, offset_minutes);
    format!(
        "{year:04}/{month:02}/{day:02} - {:02}:{:02}:{:02}",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The HTTP `Date` header value: `Mon, 30 Nov 2026 00:37:41 GMT`.
#[must_use]
pub fn http_date(time: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (secs, _) = split(time);
    let days = secs.div_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let of_day = secs.rem_euclid(86_400);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[month as usize - 1],
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Parses `+02:00`, `-07:00` or `Z` into minutes east of UTC.
pub fn parse_offset(text: &str) -> Result<i32, String> {
    if text == "Z" || text == "+00:00" {
        return Ok(0);
    }
    let bad = || format!("invalid UTC offset '{text}': write e.g. +02:00, -07:00 or Z");
    let (sign, rest) = match text.split_at_checked(1) {
        Some(("+", rest)) => (1, rest),
        Some(("-", rest)) => (-1, rest),
        _ => return Err(bad()),
    };
    let (hours, minutes) = rest.split_once(':').ok_or_else(bad)?;
    let hours: i32 = hours.parse().map_err(|_| bad())?;
    let minutes: i32 = minutes.parse().map_err(|_| bad())?;
    if hours > 14 || minutes > 59 {
        return Err(bad());
    }
    Ok(sign * (hours * 60 + minutes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    #[test]
    fn formats_like_go_rfc3339nano() {
        // 2024-06-04T21:38:31.83753Z, the instant of the research sample.
        let t = at(1_717_537_111, 837_530_000);
        assert_eq!(rfc3339_nano(t, 0), "2024-06-04T21:38:31.83753Z");
        assert_eq!(rfc3339_nano(t, -7 * 60), "2024-06-04T14:38:31.83753-07:00");
        assert_eq!(rfc3339_nano(at(0, 0), 0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn forever_is_292_years_ahead() {
        // MaxInt64 ns is 292.27 years: ~2318 for a server running in 2026.
        let t = at(1_717_537_111, 0) + FOREVER;
        assert_eq!(rfc3339_nano(t, 0), "2316-09-14T21:25:47.854775807Z");
    }

    #[test]
    fn log_stamps() {
        let t = at(1_717_537_111, 837_530_000);
        assert_eq!(rfc3339_millis(t, 0), "2024-06-04T21:38:31.837Z");
        assert_eq!(rfc3339_millis(t, 120), "2024-06-04T23:38:31.837+02:00");
        assert_eq!(gin_stamp(t, 0), "2024/06/04 - 21:38:31");
    }

    #[test]
    fn http_date_has_weekday() {
        assert_eq!(http_date(at(0, 0)), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            http_date(at(1_796_000_261, 0)),
            "Mon, 30 Nov 2026 00:57:41 GMT"
        );
    }

    #[test]
    fn offsets_parse_and_refuse() {
        assert_eq!(parse_offset("Z"), Ok(0));
        assert_eq!(parse_offset("-07:00"), Ok(-420));
        assert_eq!(parse_offset("+05:30"), Ok(330));
        assert!(parse_offset("7").unwrap_err().contains("'7'"));
    }
}
