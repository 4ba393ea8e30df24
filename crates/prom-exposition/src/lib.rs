//! A strict validator of the Prometheus text exposition format (0.0.4), as
//! node_exporter's textfile collector reads it: `&str` in, families and a
//! list of problems out, each with its line and the rule it breaks.
//!
//! Errors are what the collector rejects (a parse error or a timestamp skips
//! the whole file), what it drops silently (a duplicate series, a name that
//! collides with a histogram's `_bucket`, one it exports itself), what
//! crashes it (a `__` label), and histograms or summaries that break the
//! format's MUSTs (buckets ascending and cumulative, a `+Inf` bucket equal
//! to `_count`, `_sum` and `_count` present). Warnings are `promtool check metrics`' lint problems
//! (no HELP, a counter without `_total`, ...): the collector accepts those.
//!
//! One pass over the text; a sample line allocates nothing, and a series
//! costs 16 bytes of memory unless [`parse`] is asked to keep samples.

mod exporter;
#[cfg(test)]
mod go_quirks;
mod lex;
mod lint;
mod parser;
mod rules;
mod scan;
mod series;
#[cfg(test)]
mod tests;

pub use rules::Rule;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// node_exporter would reject, drop or misread the data: never write it.
    Error,
    /// A lint problem of `promtool check metrics`; the data is read fine.
    Warning,
}

/// One problem, at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub line: usize,
    pub rule: Rule,
    pub severity: Severity,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let word = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "line {}: {word}[{}]: {}",
            self.line,
            self.rule.name(),
            self.message
        )
    }
}

/// The metric types of the text format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

impl Kind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
            Kind::Untyped => "untyped",
        }
    }

    /// Reads a TYPE word; case does not matter, as in the Go parser, which
    /// upper-cases it rune by rune (so `ſummary` is a summary there too).
    #[must_use]
    pub fn parse(word: &str) -> Option<Kind> {
        [
            Kind::Counter,
            Kind::Gauge,
            Kind::Histogram,
            Kind::Summary,
            Kind::Untyped,
        ]
        .into_iter()
        .find(|kind| same_upper(word, kind.as_str()))
    }
}

/// Whether `word` upper-cases to `ascii` (lower case) as Go's
/// `strings.ToUpper` does: one rune at a time, never one into several.
pub(crate) fn same_upper(word: &str, ascii: &str) -> bool {
    let simple = |c: char| {
        let mut up = c.to_uppercase();
        match (up.next(), up.next()) {
            (Some(u), None) => u,
            _ => c,
        }
    };
    word.chars()
        .map(simple)
        .eq(ascii.chars().map(|c| c.to_ascii_uppercase()))
}

/// One sample line, borrowing from the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    pub line: usize,
    /// As written: `x`, or `x_bucket`/`x_sum`/`x_count` in a histogram.
    pub name: &'a str,
    /// The label set between the braces, as written and already checked.
    pub labels: &'a str,
    pub value: f64,
}

impl<'a> Sample<'a> {
    /// `(name, value)` pairs, values still escaped (`\\`, `\"`, `\n`).
    pub fn labels(&self) -> impl Iterator<Item = (&'a str, &'a str)> + use<'a> {
        lex::pairs(self.labels)
    }
}

/// A metric family: a name with its HELP, TYPE and samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Family<'a> {
    pub name: &'a str,
    pub kind: Kind,
    /// Whether a TYPE line declared `kind` (else it is untyped by default).
    pub typed: bool,
    /// The HELP text as written (still escaped).
    pub help: Option<&'a str>,
    /// First line that names the family.
    pub line: usize,
    /// Number of sample lines.
    pub series: usize,
    /// What the lint rules need to know of its label names.
    labels: lint::LabelFacts<'a>,
    /// The samples; empty unless [`parse`] kept them.
    pub samples: Vec<Sample<'a>>,
}

/// The result of validating a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<'a> {
    /// Families in order of first mention, including those without samples.
    pub families: Vec<Family<'a>>,
    /// Problems sorted by line.
    pub problems: Vec<Problem>,
}

impl Parsed<'_> {
    /// True when nothing would stop node_exporter reading it as written.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.errors().next().is_none()
    }

    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Warning)
    }

    /// Number of sample lines.
    #[must_use]
    pub fn series(&self) -> usize {
        self.families.iter().map(|f| f.series).sum()
    }

    /// Families that have at least one sample.
    #[must_use]
    pub fn family_count(&self) -> usize {
        self.families.iter().filter(|f| f.series > 0).count()
    }
}

/// Validates `text` and keeps every sample (for rewriting it).
#[must_use]
pub fn parse(text: &str) -> Parsed<'_> {
    parser::Parser::new(text, true).run()
}

/// Validates `text` keeping only per-family totals: the cheap form for
/// deciding whether to write it.
#[must_use]
pub fn check(text: &str) -> Parsed<'_> {
    parser::Parser::new(text, false).run()
}

/// Undoes label-value escaping (`\\`, `\"`, `\n`).
#[must_use]
pub fn unescape(raw: &str) -> std::borrow::Cow<'_, str> {
    if !raw.contains('\\') {
        return raw.into();
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out.into()
}
