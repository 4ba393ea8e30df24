//! `--http URL --json-pointer /path`: the last progress as a worker's own
//! status endpoint reports it, a time or an age inside a JSON document.
//! The request has one deadline for everything (connect, headers, body: a
//! server trickling a byte a second cannot hold the probe) and the body is
//! read up to a limit.

use crate::progress::Progress;
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// Largest JSON document read.
pub const MAX_BODY_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum JsonValue {
    /// An RFC 3339 string or Unix seconds (a number)
    Time,
    /// Seconds since the last progress (a number)
    Age,
}

#[derive(Debug, Clone, clap::Args)]
pub struct HttpArgs {
    /// Progress source: a JSON status endpoint (use with --json-pointer)
    #[arg(
        long,
        value_name = "URL",
        env = "STALL_PROBE_HTTP",
        requires = "json_pointer",
        help_heading = "Sources"
    )]
    pub http: Option<String>,
    /// Where the value sits in the JSON document (RFC 6901), e.g. /worker/last_tick
    #[arg(
        long,
        value_name = "POINTER",
        env = "STALL_PROBE_JSON_POINTER",
        requires = "http"
    )]
    pub json_pointer: Option<String>,
    /// What the value at --json-pointer is
    #[arg(
        long,
        value_enum,
        default_value = "time",
        env = "STALL_PROBE_JSON_VALUE",
        requires = "http"
    )]
    pub json_value: JsonValue,
    /// Time allowed for the whole request, body included
    #[arg(long, default_value = "10s", value_parser = selfheal_core::duration::parse, env = "STALL_PROBE_HTTP_TIMEOUT")]
    pub http_timeout: Duration,
}

/// An HTTP agent with one overall deadline, not turning statuses into errors.
#[must_use]
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .new_agent()
}

/// Reads a bounded body as text; the error names the limit.
pub fn read_body(
    response: &mut ureq::http::Response<ureq::Body>,
    limit: u64,
) -> Result<String, String> {
    response
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_string()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => {
                format!("the response is larger than {limit} bytes")
            }
            other => other.to_string(),
        })
}

pub fn read(args: &HttpArgs, url: &str, key: &str) -> anyhow::Result<Progress> {
    let shown = redact_url(url);
    let fail = |what: String| anyhow::anyhow!("--http {shown}: {what}");
    let pointer = args.json_pointer.as_deref().unwrap_or_default();
    let mut response = agent(args.http_timeout)
        .get(url)
        .call()
        .map_err(|e| fail(e.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(fail(format!("HTTP {status}")));
    }
    let body = read_body(&mut response, MAX_BODY_BYTES).map_err(fail)?;
    let document: Value =
        serde_json::from_str(&body).map_err(|e| fail(format!("not JSON: {e}")))?;
    let value = document
        .pointer(pointer)
        .ok_or_else(|| fail(format!("no value at --json-pointer {pointer}")))?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let age =
        value_age(value, args.json_value, now).map_err(|e| fail(format!("{pointer}: {e}")))?;
    Ok(match age {
        Some(age) => Progress::aged(key, age, format!("{pointer} of {shown}")),
        None => Progress::never(key, format!("{pointer} of {shown} is null")),
    })
}

/// The age a JSON value stands for; `None` for `null`.
pub fn value_age(value: &Value, kind: JsonValue, now_unix: f64) -> Result<Option<f64>, String> {
    let number = value.as_f64().filter(|n| n.is_finite());
    match (value, kind, number) {
        (Value::Null, _, _) => Ok(None),
        (_, JsonValue::Age, Some(age)) if age >= 0.0 => Ok(Some(age)),
        (_, JsonValue::Time, Some(unix)) if unix >= 0.0 => Ok(Some(now_unix - unix)),
        (Value::String(text), JsonValue::Time, _) if text.len() <= SHOWN_CHARS => {
            selfheal_core::clock::parse_rfc3339(text).map(|at| Some(now_unix - at))
        }
        (other, JsonValue::Age, _) => Err(format!("{} is not an age in seconds", shown(other))),
        (other, JsonValue::Time, _) => Err(format!(
            "{} is not a time (an RFC 3339 string or Unix seconds)",
            shown(other)
        )),
    }
}

/// The most of a JSON value an error message shows: the server is
/// untrusted, and a pointer at a 1 MiB object must not make a 1 MiB line.
const SHOWN_CHARS: usize = 64;

fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.len() <= SHOWN_CHARS {
        return text;
    }
    let start: String = text.chars().take(SHOWN_CHARS).collect();
    format!("{start}... ({} bytes)", text.len())
}

/// A URL with any `user:password@` and every query value (`?token=...`)
/// replaced by `***`, for messages and the `key` label.
#[must_use]
pub fn redact_url(url: &str) -> String {
    let (url, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut shown = match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            match authority.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://***@{host}{path}"),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    };
    if let Some(query) = query {
        let hidden: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) => format!("{name}=***"),
                None => "***".to_owned(),
            })
            .collect();
        shown.push('?');
        shown.push_str(&hidden.join("&"));
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_and_ages_in_json() {
        let now = 1_000_000.0;
        assert_eq!(
            value_age(&json!(999_990), JsonValue::Time, now),
            Ok(Some(10.0))
        );
        assert_eq!(value_age(&json!(42.5), JsonValue::Age, now), Ok(Some(42.5)));
        assert_eq!(value_age(&json!(null), JsonValue::Time, now), Ok(None));
        let at = selfheal_core::clock::parse_rfc3339("2026-11-23T15:48:47Z").unwrap();
        assert_eq!(
            value_age(&json!("2026-11-23T15:48:47Z"), JsonValue::Time, at + 5.0),
            Ok(Some(5.0))
        );
    }

    #[test]
    fn wrong_types_say_what_they_got() {
        let err = value_age(&json!({"a": 1}), JsonValue::Time, 0.0).unwrap_err();
        assert!(err.contains("not a time"), "{err}");
        assert!(value_age(&json!("soon"), JsonValue::Time, 0.0).is_err());
        assert!(value_age(&json!("12"), JsonValue::Age, 0.0).is_err());
        assert!(value_age(&json!(-3), JsonValue::Age, 0.0).is_err());
    }

    #[test]
    fn a_huge_value_is_not_echoed_whole() {
        let big = json!({ "pad": "x".repeat(1 << 20) });
        let text = json!("y".repeat(1 << 20));
        for (value, kind) in [
            (&big, JsonValue::Time),
            (&big, JsonValue::Age),
            (&text, JsonValue::Time),
        ] {
            let err = value_age(value, kind, 0.0).unwrap_err();
            assert!(err.len() < 300, "{} bytes", err.len());
        }
    }

    #[test]
    fn passwords_in_urls_are_hidden() {
        assert_eq!(
            redact_url("http://u:pw@127.0.0.1:9/x"),
            "http://***@127.0.0.1:9/x"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:9/a@b"),
            "http://127.0.0.1:9/a@b"
        );
        assert_eq!(
            redact_url("http://u:pw@h/s?token=hunter2&v&x=1"),
            "http://***@h/s?token=***&***&x=***"
        );
    }
}
