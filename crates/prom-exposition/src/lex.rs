//! One line of exposition text, lexed without allocating. The grammar is
//! the Go text parser's (`expfmt/text_parse.go` in prometheus/common 0.37,
//! which node_exporter 1.5 and promtool 2.42 use), so a line we accept is a
//! line they accept; its errors become rule-tagged messages.

use super::Rule;
use super::scan::{
    blanks_at, first_char, label_name, metric_name, skip_blanks, starts_blank, token,
};

/// What a line is, borrowing from the input.
#[derive(Debug, PartialEq)]
pub(super) enum Line<'a> {
    /// Empty or only blanks.
    Blank,
    /// `#` followed by anything but a complete HELP or TYPE line.
    Comment,
    /// `# HELP name` or `# TYPE name` with only blanks after the name: the
    /// Go parser creates the family (so a later `name` sample is its own
    /// family, not a histogram's `_count`) but sets nothing.
    Mention(&'a str),
    /// `# HELP name text`, the text still escaped.
    Help {
        name: &'a str,
        text: &'a str,
    },
    /// `# TYPE name kind`, the kind as written.
    Type {
        name: &'a str,
        kind: &'a str,
    },
    Sample(SampleLine<'a>),
}

#[derive(Debug, PartialEq)]
pub(super) struct SampleLine<'a> {
    pub name: &'a str,
    /// Text between `{` and `}`, already checked; walk it with [`pairs`].
    pub labels: &'a str,
    pub value: f64,
}

/// A line-level error: the rule it breaks and what to tell the user.
#[derive(Debug, PartialEq)]
pub(super) struct LexError {
    pub rule: Rule,
    pub message: String,
}

fn fail<T>(rule: Rule, message: impl Into<String>) -> Result<T, LexError> {
    Err(LexError {
        rule,
        message: message.into(),
    })
}

/// Lexes one line (without its `\n`); a sample's labels are also
/// appended to `labels` as `(name, escaped value)`, in input order.
pub(super) fn line<'a>(
    text: &'a str,
    labels: &mut Vec<(&'a str, &'a str)>,
) -> Result<Line<'a>, LexError> {
    let rest = skip_blanks(text);
    let result = match rest.as_bytes().first() {
        None => Ok(Line::Blank),
        Some(b'#') => comment(&rest[1..]),
        Some(_) => sample(rest, labels).map(Line::Sample),
    };
    match result {
        Err(_) if text.ends_with('\r') => fail(
            Rule::LineEnding,
            "line ends in \\r (CRLF line endings): node_exporter rejects the file; write \\n only",
        ),
        other => other,
    }
}

fn comment(text: &str) -> Result<Line<'_>, LexError> {
    let (keyword, rest) = token(skip_blanks(text));
    if rest.is_empty() || (keyword != "HELP" && keyword != "TYPE") {
        return Ok(Line::Comment);
    }
    let (name, after) = metric_name(skip_blanks(rest));
    if after.is_empty() {
        // `# HELP name` without text sets nothing, as in the Go parser.
        return Ok(Line::Comment);
    }
    if !starts_blank(after) {
        return fail(
            Rule::MetricName,
            format!("invalid metric name in the # {keyword} line"),
        );
    }
    let body = skip_blanks(after);
    if body.is_empty() {
        return Ok(Line::Mention(name));
    }
    if keyword == "TYPE" {
        return Ok(Line::Type { name, kind: body });
    }
    check_help_escapes(body)?;
    Ok(Line::Help { name, text: body })
}

/// HELP text knows only `\\` and `\n`; anything else after `\` is an error.
fn check_help_escapes(text: &str) -> Result<(), LexError> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(skip) = bytes[i..].iter().position(|&b| b == b'\\') {
        i += skip;
        if !matches!(bytes.get(i + 1), Some(b'\\' | b'n')) {
            let why = bad_escape("HELP text", &text[i + 1..], "\\\\ and \\n");
            return fail(Rule::Escape, why);
        }
        i += 2;
    }
    Ok(())
}

/// `after` is the text after the backslash.
fn bad_escape(place: &str, after: &str, allowed: &str) -> String {
    match after.chars().next() {
        Some(c) => format!(
            "invalid escape sequence '\\{}' in {place} (only {allowed} are allowed)",
            c.escape_debug()
        ),
        None => format!("{place} ends in a lone backslash: write \\\\"),
    }
}

fn sample<'a>(
    text: &'a str,
    pairs: &mut Vec<(&'a str, &'a str)>,
) -> Result<SampleLine<'a>, LexError> {
    let (name, rest) = metric_name(text);
    if name.is_empty() {
        return fail(
            Rule::MetricName,
            format!(
                "invalid metric name starting at {:?}: names match [a-zA-Z_:][a-zA-Z0-9_:]*",
                first_char(text)
            ),
        );
    }
    let mut rest = skip_blanks(rest);
    let mut labels = "";
    if let Some(inner) = rest.strip_prefix('{') {
        let end = label_set(inner, name, pairs)?;
        labels = &inner[..end];
        rest = skip_blanks(&inner[end + 1..]);
    }
    let (value_text, after) = token(rest);
    let value = parse_value(value_text).or_else(|why| fail(Rule::Value, why))?;
    if !after.is_empty() {
        return trailing(after);
    }
    Ok(SampleLine {
        name,
        labels,
        value,
    })
}

/// What follows the value: the Go parser reads it as a timestamp.
fn trailing<T>(after: &str) -> Result<T, LexError> {
    let (stamp, rest) = token(skip_blanks(after));
    if stamp.is_empty() {
        return fail(
            Rule::TrailingText,
            "trailing whitespace after the value: node_exporter reads it as a missing timestamp and rejects the file",
        );
    }
    if stamp.parse::<i64>().is_ok() && rest.is_empty() {
        return fail(
            Rule::Timestamp,
            format!(
                "sample has a timestamp ({stamp}): node_exporter's textfile collector skips the whole file; drop it"
            ),
        );
    }
    fail(
        Rule::TrailingText,
        format!("unexpected text after the value: {:?}", after.trim()),
    )
}

/// Checks a label set and collects its pairs; `text` starts after `{`.
/// Returns the index of `}`.
fn label_set<'a>(
    text: &'a str,
    metric: &str,
    pairs: &mut Vec<(&'a str, &'a str)>,
) -> Result<usize, LexError> {
    let mut pos = 0;
    loop {
        pos += blanks_at(text, pos);
        let rest = &text[pos..];
        if rest.starts_with('}') {
            return Ok(pos);
        }
        let (name, after) = label_name(rest);
        check_label_name(name, rest, metric)?;
        let after = skip_blanks(after);
        let Some(after) = after.strip_prefix('=') else {
            return fail(
                Rule::LabelSyntax,
                format!("expected '=' after label name {name:?} of {metric}"),
            );
        };
        let after = skip_blanks(after);
        let Some(quoted) = after.strip_prefix('"') else {
            return fail(
                Rule::LabelSyntax,
                format!("label {name:?} of {metric}: its value must start with '\"'"),
            );
        };
        let len = label_value_len(quoted, name)?;
        pairs.push((name, &quoted[..len]));
        let after = skip_blanks(&quoted[len + 1..]);
        pos = text.len() - after.len();
        match after.as_bytes().first() {
            Some(b',') => pos += 1,
            Some(b'}') => return Ok(pos),
            _ => {
                return fail(
                    Rule::LabelSyntax,
                    format!("expected ',' or '}}' after the value of label {name:?} of {metric}"),
                );
            }
        }
    }
}

fn check_label_name(name: &str, rest: &str, metric: &str) -> Result<(), LexError> {
    if name.is_empty() {
        return fail(
            Rule::LabelName,
            format!(
                "invalid label name starting at {:?} in {metric}: names match [a-zA-Z_][a-zA-Z0-9_]*",
                first_char(rest)
            ),
        );
    }
    if name.starts_with("__") {
        return fail(
            Rule::ReservedLabel,
            format!(
                "label name {name:?} starts with '__', reserved for Prometheus (node_exporter 1.5 crashes on it)"
            ),
        );
    }
    Ok(())
}

/// Length of a label value up to its closing quote; `text` starts after
/// the opening quote. Only `\\`, `\"` and `\n` are escapes.
fn label_value_len(text: &str, name: &str) -> Result<usize, LexError> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(skip) = bytes[i..].iter().position(|&b| b == b'"' || b == b'\\') {
        i += skip;
        match bytes[i] {
            b'"' => return Ok(i),
            _ if matches!(bytes.get(i + 1), Some(b'\\' | b'"' | b'n')) => i += 2,
            _ => {
                let place = format!("the value of label {name:?}");
                let why = bad_escape(&place, &text[i + 1..], "\\\\, \\\" and \\n");
                return fail(Rule::Escape, why);
            }
        }
    }
    fail(
        Rule::LabelSyntax,
        format!("the value of label {name:?} has no closing '\"' on this line"),
    )
}

/// Walks a checked label set: `(name, escaped value)` pairs.
pub(super) fn pairs(labels: &str) -> impl Iterator<Item = (&str, &str)> {
    let mut rest = labels;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return None;
        }
        let (name, after) = label_name(rest);
        let after = skip_blanks(skip_blanks(after).strip_prefix('=')?);
        let quoted = after.strip_prefix('"')?;
        let len = label_value_len(quoted, name).ok()?;
        rest = &quoted[len + 1..];
        Some((name, &quoted[..len]))
    })
}

/// A sample value as Go's `strconv.ParseFloat` reads it, minus what the
/// text parser refuses (`p`, `_`, so no hex floats).
pub(super) fn parse_value(text: &str) -> Result<f64, String> {
    if text.is_empty() {
        return Err("expected a value after the metric name and labels".into());
    }
    // Most values are small integers: exact in an f64, and quick to read.
    if text.len() <= 15 && text.bytes().all(|b| b.is_ascii_digit()) {
        let whole = text.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
        return Ok(whole as f64);
    }
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let refused = text.bytes().any(|b| matches!(b, b'p' | b'P' | b'_'))
        || (unsigned.len() < text.len() && unsigned.starts_with(['n', 'N']))
        || unsigned.starts_with("0x")
        || unsigned.starts_with("0X");
    let value: f64 = match text.parse() {
        Ok(v) if !refused => v,
        _ => {
            return Err(format!(
                "expected a number, NaN, +Inf or -Inf as the value, got {text:?}"
            ));
        }
    };
    if value.is_infinite() && !unsigned.starts_with(['i', 'I']) {
        return Err(format!("value {text} is out of range for a 64-bit float"));
    }
    Ok(value)
}
