//! Free-memory thresholds as users write them: `1GiB`, `512MiB`, `2G`,
//! `1500000000`, or a share of the card's memory, `10%`.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct FreeThreshold {
    pub limit: FreeLimit,
    /// As the user wrote it, for messages.
    pub written: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FreeLimit {
    Bytes(u64),
    /// Percent of the GPU's total memory, 0-100.
    Percent(f64),
}

const UNITS: [(&str, u64); 13] = [
    ("B", 1),
    ("K", 1000),
    ("KB", 1000),
    ("KiB", 1 << 10),
    ("M", 1_000_000),
    ("MB", 1_000_000),
    ("MiB", 1 << 20),
    ("G", 1_000_000_000),
    ("GB", 1_000_000_000),
    ("GiB", 1 << 30),
    ("T", 1_000_000_000_000),
    ("TB", 1_000_000_000_000),
    ("TiB", 1 << 40),
];

/// Parses a `--free-warn`/`--free-crit` value.
pub fn parse_free(text: &str) -> Result<FreeThreshold, String> {
    let bad = |why: &str| {
        format!("invalid free-memory threshold '{text}': {why} (write e.g. 2GiB, 500MB or 10%)")
    };
    let trimmed = text.trim();
    if let Some(percent) = trimmed.strip_suffix('%') {
        let value: f64 = percent.trim().parse().map_err(|_| bad("not a number"))?;
        if !(0.0..=100.0).contains(&value) {
            return Err(bad("a percentage is between 0 and 100"));
        }
        return Ok(FreeThreshold::new(FreeLimit::Percent(value), trimmed));
    }
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let value: f64 = number.parse().map_err(|_| bad("not a number"))?;
    let scale = match unit.trim() {
        "" => 1,
        unit => {
            UNITS
                .iter()
                .find(|(name, _)| *name == unit)
                .ok_or_else(|| bad("unknown unit; use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB"))?
                .1
        }
    };
    let bytes = value * scale as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(bad("too large"));
    }
    Ok(FreeThreshold::new(
        FreeLimit::Bytes(bytes.round() as u64),
        trimmed,
    ))
}

impl FreeThreshold {
    #[must_use]
    pub fn new(limit: FreeLimit, written: &str) -> Self {
        FreeThreshold {
            limit,
            written: written.to_owned(),
        }
    }

    /// Whether `free` bytes is below the threshold; a percentage needs the
    /// card's total and is never breached without it.
    #[must_use]
    pub fn breached(&self, free: u64, total: Option<u64>) -> bool {
        match self.limit {
            FreeLimit::Bytes(limit) => free < limit,
            FreeLimit::Percent(pct) => {
                total.is_some_and(|t| t > 0 && (free as f64) < t as f64 * pct / 100.0)
            }
        }
    }
}

impl fmt::Display for FreeThreshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_percentages_and_errors() {
        let limit = |text| parse_free(text).map(|t| t.limit);
        assert_eq!(limit("1GiB"), Ok(FreeLimit::Bytes(1 << 30)));
        assert_eq!(limit("1.5 GB"), Ok(FreeLimit::Bytes(1_500_000_000)));
        assert_eq!(limit("512MiB"), Ok(FreeLimit::Bytes(512 << 20)));
        assert_eq!(limit("1000"), Ok(FreeLimit::Bytes(1000)));
        assert_eq!(limit("10%"), Ok(FreeLimit::Percent(10.0)));
        assert_eq!(parse_free(" 6GB ").unwrap().to_string(), "6GB");
        let err = parse_free("5 parsecs").unwrap_err();
        assert!(err.contains("'5 parsecs'") && err.contains("GiB"), "{err}");
        assert!(parse_free("120%").is_err());
        assert!(parse_free("GiB").is_err());
        assert!(parse_free("").is_err());
    }

    #[test]
    fn percent_needs_a_total() {
        let ten = FreeThreshold::new(FreeLimit::Percent(10.0), "10%");
        let gib = FreeThreshold::new(FreeLimit::Bytes(1 << 30), "1GiB");
        assert!(ten.breached(99, Some(1000)));
        assert!(!ten.breached(100, Some(1000)));
        assert!(!ten.breached(0, None));
        assert!(gib.breached((1 << 30) - 1, None));
        assert!(!gib.breached(1 << 30, None));
    }
}
