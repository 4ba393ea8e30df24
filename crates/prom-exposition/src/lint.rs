//! The lint problems `promtool check metrics` (2.42, client_golang 1.14
//! promlint) reports, as warnings: node_exporter reads such data fine, so
//! they never stop a write, but a clean file passes promtool with exit 0.

use super::{Family, Kind, Problem, Rule};

/// Base units, and other units mapped to the base promtool suggests.
const UNITS: [(&str, &str); 24] = [
    ("amperes", "amperes"),
    ("bytes", "bytes"),
    ("celsius", "celsius"),
    ("grams", "grams"),
    ("joules", "joules"),
    ("kelvin", "kelvin"),
    ("meters", "meters"),
    ("metres", "metres"),
    ("seconds", "seconds"),
    ("volts", "volts"),
    ("minutes", "seconds"),
    ("hours", "seconds"),
    ("days", "seconds"),
    ("weeks", "seconds"),
    ("kelvins", "kelvin"),
    ("fahrenheit", "celsius"),
    ("rankine", "celsius"),
    ("inches", "meters"),
    ("yards", "meters"),
    ("miles", "meters"),
    ("bits", "bytes"),
    ("calories", "joules"),
    ("pounds", "grams"),
    ("ounces", "grams"),
];

const PREFIXES: [&str; 19] = [
    "", "pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi", "mega",
    "mibi", "giga", "gibi", "tera", "tebi", "peta", "pebi",
];

const ABBREVIATIONS: [&str; 14] = [
    "s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d",
];

const TYPE_WORDS: [&str; 5] = [
    "counter",
    "gauge",
    "summary",
    "histogram",
    "gauge_histogram",
];

/// What the lint rules need to know about a family's label names, kept
/// per sample without storing names (a string compare per label and line
/// cost more than the rest of the validation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct LabelFacts<'a> {
    pub le: bool,
    pub quantile: bool,
    pub camel: Option<&'a str>,
}

impl<'a> LabelFacts<'a> {
    pub fn see(&mut self, name: &'a str) {
        match name {
            "le" => self.le = true,
            "quantile" => self.quantile = true,
            _ if self.camel.is_none() && is_camel(name) => self.camel = Some(name),
            _ => {}
        }
    }
}

/// Appends the lint problems of one family (which has samples).
pub(super) fn family(family: &Family<'_>, out: &mut Vec<Problem>) {
    let mut warn = |rule: Rule, message: String| {
        out.push(Problem {
            line: family.line,
            rule,
            severity: rule.severity(),
            message: format!("{}: {message}", family.name),
        });
    };
    if family.help.is_none() {
        warn(Rule::NoHelp, "no HELP text".into());
    }
    units(family.name, &mut warn);
    let total = family.name.ends_with("_total");
    match family.kind {
        Kind::Counter if !total => warn(
            Rule::CounterTotal,
            "counter names should end in _total".into(),
        ),
        Kind::Gauge | Kind::Histogram | Kind::Summary if total => warn(
            Rule::NonCounterTotal,
            "only counter names should end in _total".into(),
        ),
        _ => {}
    }
    reserved(family, &mut warn);
    spelling(family, &mut warn);
}

/// Non-base units (`milliseconds`) and abbreviated ones (`_ms`).
fn units(name: &str, warn: &mut impl FnMut(Rule, String)) {
    if let Some((unit, base)) = non_base_unit(name) {
        warn(
            Rule::BaseUnit,
            format!("use base unit {base:?} instead of {unit:?}"),
        );
    }
    let lower = name.to_ascii_lowercase();
    if ABBREVIATIONS.iter().any(|a| has_word(&lower, a)) {
        warn(
            Rule::UnitAbbreviation,
            "the name should not contain abbreviated units (write seconds, bytes)".into(),
        );
    }
}

/// Type words in the name, colons, camelCase names and label names.
fn spelling(family: &Family<'_>, warn: &mut impl FnMut(Rule, String)) {
    let name = family.name;
    let lower = name.to_ascii_lowercase();
    for word in TYPE_WORDS {
        if has_word(&lower, word) {
            warn(
                Rule::TypeInName,
                format!("the name should not include the type {word:?}"),
            );
        }
    }
    if name.contains(':') {
        warn(
            Rule::Colon,
            "':' in metric names is for recording rules".into(),
        );
    }
    if is_camel(name) {
        warn(Rule::CamelCase, "write metric names in snake_case".into());
    }
    if let Some(label) = family.labels.camel {
        warn(
            Rule::CamelCase,
            format!("write label names in snake_case, not {label}"),
        );
    }
}

/// `_bucket`/`_count`/`_sum` suffixes and `le`/`quantile` labels outside
/// histograms and summaries; untyped families are exempt, as in promtool.
fn reserved(family: &Family<'_>, warn: &mut impl FnMut(Rule, String)) {
    let (name, kind) = (family.name, family.kind);
    if kind == Kind::Untyped {
        return;
    }
    let histogram = kind == Kind::Histogram;
    let summary = kind == Kind::Summary;
    if !histogram && name.ends_with("_bucket") {
        warn(
            Rule::ReservedSuffix,
            "only histograms should end in _bucket".into(),
        );
    }
    for suffix in ["_count", "_sum"] {
        if !histogram && !summary && name.ends_with(suffix) {
            warn(
                Rule::ReservedSuffix,
                format!("only histograms and summaries should end in {suffix}"),
            );
        }
    }
    if !histogram && family.labels.le {
        warn(
            Rule::StructuralLabel,
            "only histograms should have an le label".into(),
        );
    }
    if !summary && family.labels.quantile {
        warn(
            Rule::StructuralLabel,
            "only summaries should have a quantile label".into(),
        );
    }
}

/// A unit part of the name that is not the base unit: `milliseconds`.
fn non_base_unit(name: &str) -> Option<(String, &'static str)> {
    for part in name.split('_') {
        for (unit, base) in UNITS {
            if let Some(prefix) = part.strip_suffix(unit)
                && PREFIXES.contains(&prefix)
                && part != base
            {
                return Some((part.to_owned(), base));
            }
        }
    }
    None
}

/// `_word_` inside or `_word` at the end of `name`.
fn has_word(name: &str, word: &str) -> bool {
    name.strip_suffix(word).is_some_and(|n| n.ends_with('_')) || name.contains(&format!("_{word}_"))
}

/// A lower-case letter followed by an upper-case one.
fn is_camel(name: &str) -> bool {
    name.as_bytes()
        .windows(2)
        .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
}
