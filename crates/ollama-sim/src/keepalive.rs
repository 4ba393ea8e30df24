//! `keep_alive` as Ollama's `api.Duration` reads it: a number is seconds, a
//! string is a Go duration (`"5m"`, `"-1m"`), anything negative is forever,
//! and a string without a unit (`"300"`) is an error.

use serde_json::Value;
use std::time::Duration;

/// How long a model stays loaded after its last request ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepAlive {
    Forever,
    For(Duration),
}

impl KeepAlive {
    #[must_use]
    pub fn is_zero(self) -> bool {
        self == KeepAlive::For(Duration::ZERO)
    }

    #[must_use]
    pub fn duration(self) -> Duration {
        match self {
            KeepAlive::Forever => crate::timefmt::FOREVER,
            KeepAlive::For(d) => d,
        }
    }
}

/// `None` when the request does not carry `keep_alive` (or carries null).
pub fn parse(value: Option<&Value>) -> Result<Option<KeepAlive>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let secs = n.as_f64().unwrap_or(0.0);
            Ok(Some(from_secs(secs)))
        }
        Some(Value::String(s)) => {
            let secs = go_duration_secs(s)?;
            Ok(Some(from_secs(secs)))
        }
        Some(other) => Err(format!("Unsupported type: '{}'", type_name(other))),
    }
}

fn from_secs(secs: f64) -> KeepAlive {
    if secs < 0.0 {
        KeepAlive::Forever
    } else {
        KeepAlive::For(Duration::try_from_secs_f64(secs).unwrap_or(crate::timefmt::FOREVER))
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Bool(_) => "bool",
        Value::Array(_) => "[]interface {}",
        _ => "map[string]interface {}",
    }
}

/// Go's `time.ParseDuration`, in (possibly negative) seconds, with its error texts.
pub fn go_duration_secs(text: &str) -> Result<f64, String> {
    let invalid = || format!("time: invalid duration \"{text}\"");
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0.0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let number = &rest[..number_len];
        if number.is_empty() || number == "." {
            return Err(invalid());
        }
        let value: f64 = number.parse().map_err(|_| invalid())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(rest.len(), |(i, _)| i);
        let scale = match &rest[..unit_len] {
            "" => return Err(format!("time: missing unit in duration \"{text}\"")),
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            unit => {
                return Err(format!(
                    "time: unknown unit \"{unit}\" in duration \"{text}\""
                ));
            }
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    Ok(if negative { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ka(value: &Value) -> Result<Option<KeepAlive>, String> {
        parse(Some(value))
    }

    #[test]
    fn numbers_are_seconds_and_negative_is_forever() {
        assert_eq!(
            ka(&json!(300)),
            Ok(Some(KeepAlive::For(Duration::from_secs(300))))
        );
        assert_eq!(
            ka(&json!(1.5)),
            Ok(Some(KeepAlive::For(Duration::from_millis(1500))))
        );
        assert_eq!(ka(&json!(0)), Ok(Some(KeepAlive::For(Duration::ZERO))));
        assert_eq!(ka(&json!(-1)), Ok(Some(KeepAlive::Forever)));
        assert_eq!(parse(None), Ok(None));
        assert_eq!(ka(&Value::Null), Ok(None));
    }

    #[test]
    fn strings_are_go_durations() {
        assert_eq!(
            ka(&json!("5m")),
            Ok(Some(KeepAlive::For(Duration::from_secs(300))))
        );
        assert_eq!(
            ka(&json!("1h30m")),
            Ok(Some(KeepAlive::For(Duration::from_secs(5400))))
        );
        assert_eq!(
            ka(&json!("250ms")),
            Ok(Some(KeepAlive::For(Duration::from_millis(250))))
        );
        assert_eq!(ka(&json!("-1m")), Ok(Some(KeepAlive::Forever)));
        assert_eq!(ka(&json!("0")), Ok(Some(KeepAlive::For(Duration::ZERO))));
    }

    #[test]
    fn unitless_strings_are_refused_like_go() {
        assert_eq!(
            ka(&json!("300")),
            Err("time: missing unit in duration \"300\"".into())
        );
        assert_eq!(
            ka(&json!("-1")),
            Err("time: missing unit in duration \"-1\"".into())
        );
        assert_eq!(
            ka(&json!("abc")),
            Err("time: invalid duration \"abc\"".into())
        );
        assert!(ka(&json!("5y")).unwrap_err().contains("unknown unit \"y\""));
        assert!(ka(&json!(true)).unwrap_err().contains("Unsupported type"));
    }
}
