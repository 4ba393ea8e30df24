//! Checks on flag values, one flag at a time (clap value parsers), and
//! the order of two free-memory limits: each message names the value and
//! what to do.

use crate::threshold::{FreeLimit, FreeThreshold};

/// Hottest limit accepted: GPUs shut down near 100 °C, so a larger value
/// is a typo (`850` for `85`), not a threshold.
const MAX_CELSIUS: f64 = 200.0;

/// `--expect N`: at least one GPU.
pub fn parse_expect(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(0) => Err(
            "'0' expects no GPU at all: give how many GPUs must be present (1 or more), \
             or leave --expect out (no GPU is then UNKNOWN)"
                .to_owned(),
        ),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "'{text}' is not a number of GPUs: give a whole number, 1 or more"
        )),
    }
}

/// `--temp-warn`/`--temp-crit`: finite degrees Celsius, 0 to 200.
pub fn parse_celsius(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a temperature: give degrees Celsius, e.g. 85"))?;
    if !(0.0..=MAX_CELSIUS).contains(&value) {
        return Err(format!(
            "'{text}' is not a GPU temperature limit: give degrees Celsius from 0 to {MAX_CELSIUS}, e.g. 85"
        ));
    }
    Ok(value)
}

/// `--gpu`: an index or a UUID, never empty.
pub fn parse_gpu(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("an empty GPU: give an index (0) or a UUID (GPU-5d1f...)".to_owned());
    }
    Ok(text.to_owned())
}

/// Free-memory limits fire below their value, so a warning under the
/// critical limit would never show. Bytes and percentages cannot be
/// compared without a card.
#[must_use]
pub fn inverted(warn: &FreeThreshold, crit: &FreeThreshold) -> bool {
    match (warn.limit, crit.limit) {
        (FreeLimit::Bytes(w), FreeLimit::Bytes(c)) => w < c,
        (FreeLimit::Percent(w), FreeLimit::Percent(c)) => w < c,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expect_counts_at_least_one_gpu() {
        assert_eq!(parse_expect("2"), Ok(2));
        assert!(
            parse_expect("0")
                .unwrap_err()
                .contains("leave --expect out")
        );
        assert!(parse_expect("-1").unwrap_err().contains("'-1'"));
    }

    #[test]
    fn temperatures_are_finite_and_plausible() {
        assert_eq!(parse_celsius("85"), Ok(85.0));
        for bad in ["nan", "inf", "-5", "850", "hot"] {
            let err = parse_celsius(bad).unwrap_err();
            assert!(err.contains(&format!("'{bad}'")), "{err}");
        }
    }

    #[test]
    fn empty_gpu_is_refused() {
        assert_eq!(parse_gpu(" 1 "), Ok("1".to_owned()));
        assert!(parse_gpu("").is_err());
    }
}
