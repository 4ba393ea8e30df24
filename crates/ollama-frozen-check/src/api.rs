//! Pure parsing of what Ollama and its runners answer: `/api/version`,
//! `/api/ps`, `/api/generate` NDJSON lines, a runner's `/health` (the
//! string form of v0.30+ and the older numeric form) and `/slots`. Fields
//! Ollama omits when zero are optional; unknown fields are ignored.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `expires_at` more than 20 years ahead means "pinned" (keep_alive < 0),
/// as the Ollama CLI shows `Forever`.
pub const FOREVER_SECS: f64 = 20.0 * 365.25 * 86_400.0;

#[must_use]
pub fn version(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("version")?.as_str().map(str::to_owned)
}

/// One model in `/api/ps`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loaded {
    pub name: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub size_vram: u64,
    #[serde(default)]
    pub digest: String,
    #[serde(default)]
    pub expires_at: String,
    /// Only from v0.9.7 on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_length: Option<u64>,
}

impl Loaded {
    /// Seconds until expiry at `now` (negative: expiry passed while a
    /// request was attached); `None` if `expires_at` does not parse.
    #[must_use]
    pub fn remaining(&self, now: f64) -> Option<f64> {
        parse_rfc3339(&self.expires_at).map(|at| at - now)
    }

    #[must_use]
    pub fn pinned(&self, now: f64) -> bool {
        self.remaining(now).is_some_and(|r| r > FOREVER_SECS)
    }
}

/// `/api/ps` → its models; an error names what was wrong.
pub fn ps(body: &[u8]) -> Result<Vec<Loaded>, String> {
    #[derive(Deserialize)]
    struct Ps {
        models: Option<Vec<Loaded>>,
    }
    let parsed: Ps =
        serde_json::from_slice(body).map_err(|e| format!("/api/ps is not Ollama's JSON: {e}"))?;
    Ok(parsed.models.unwrap_or_default())
}

/// What a generate (or embed) stream said, line by line.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Generation {
    pub lines: u32,
    pub done: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub eval_count: u64,
    /// Nanoseconds, as Ollama reports them (absent means 0).
    pub total_duration: u64,
    pub load_duration: u64,
    pub prompt_eval_duration: u64,
    pub eval_duration: u64,
    /// `/api/embed` answered with embeddings.
    pub embedded: bool,
}

impl Generation {
    /// Feeds one line; returns whether to keep reading.
    pub fn feed(&mut self, line: &str) -> bool {
        self.lines += 1;
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            self.error = Some(format!("not JSON: {}", clip(line, 120)));
            return false;
        };
        if let Some(error) = value.get("error") {
            let text = error
                .as_str()
                .map_or_else(|| error.to_string(), str::to_owned);
            self.error = Some(clip(&text, 300));
            return false;
        }
        let number = |key: &str| value.get(key).and_then(Value::as_u64).unwrap_or(0);
        if value.get("embeddings").is_some_and(Value::is_array) {
            self.embedded = true;
            self.done = true;
            self.total_duration = number("total_duration");
            self.load_duration = number("load_duration");
            return false;
        }
        if value.get("done").and_then(Value::as_bool) == Some(true) {
            self.done = true;
            self.done_reason = value
                .get("done_reason")
                .and_then(Value::as_str)
                .map(str::to_owned);
            self.eval_count = number("eval_count");
            self.total_duration = number("total_duration");
            self.load_duration = number("load_duration");
            self.prompt_eval_duration = number("prompt_eval_duration");
            self.eval_duration = number("eval_duration");
            return false;
        }
        true
    }

    /// A real answer: done with at least one token evaluated, or embeddings.
    #[must_use]
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.done && (self.eval_count >= 1 || self.embedded)
    }

    /// Compute time (prompt + tokens), excluding queueing and loading.
    #[must_use]
    pub fn compute_secs(&self) -> f64 {
        (self.prompt_eval_duration + self.eval_duration) as f64 / 1e9
    }
}

/// A runner's `/health`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Health {
    Ok,
    Loading { progress: Option<f64> },
    NoSlot,
    Error { text: String },
}

#[must_use]
pub fn health(status: u16, body: &[u8]) -> Health {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let progress = value.get("progress").and_then(Value::as_f64);
    let word = match value.get("status") {
        Some(Value::String(s)) => s.to_ascii_lowercase(),
        // Older runners: 0 ready, 1 loading, 2 error.
        Some(Value::Number(n)) => match n.as_u64() {
            Some(0) => "ok".into(),
            Some(1) => "loading model".into(),
            _ => "error".into(),
        },
        _ => value
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase(),
    };
    match (status, word.as_str()) {
        (_, w) if w.contains("loading") => Health::Loading { progress },
        (200, "ok" | "ready") => Health::Ok,
        (_, w) if w.contains("no slot") => Health::NoSlot,
        _ => Health::Error {
            text: format!(
                "HTTP {status}: {}",
                clip(&String::from_utf8_lossy(body), 200)
            ),
        },
    }
}

/// A runner's `/slots`: how many slots, how many busy, tokens decoded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Slots {
    pub total: u32,
    pub processing: u32,
    pub decoded: u64,
}

pub fn slots(body: &[u8]) -> Result<Slots, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("/slots is not JSON: {e}"))?;
    let list = value.as_array().ok_or("/slots is not a JSON array")?;
    let mut out = Slots::default();
    for slot in list {
        out.total += 1;
        let busy = slot.get("is_processing").and_then(Value::as_bool) == Some(true)
            || slot
                .get("state")
                .and_then(Value::as_u64)
                .is_some_and(|s| s != 0);
        out.processing += u32::from(busy);
        out.decoded += decoded(slot);
    }
    Ok(out)
}

fn decoded(slot: &Value) -> u64 {
    let of = |v: &Value| v.get("n_decoded").and_then(Value::as_u64).unwrap_or(0);
    match slot.get("next_token") {
        Some(Value::Array(items)) => items.iter().map(of).sum(),
        Some(next) => of(next),
        None => of(slot),
    }
}

/// The first `max` characters, on a char boundary, marked when cut.
#[must_use]
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// RFC 3339 with any fraction and a `Z` or `±hh:mm` offset, as Go's
/// RFC3339Nano writes it, into Unix seconds.
#[must_use]
pub fn parse_rfc3339(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &text[19..];
    let mut fraction = 0.0;
    if let Some(after) = rest.strip_prefix('.') {
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        fraction = format!("0.{}", &after[..digits]).parse().ok()?;
        rest = &after[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m) = rest[1..].split_once(':')?;
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60)
        }
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(secs as f64 + fraction)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
