//! The lint problems `promtool check metrics` (2.42, client_golang 1.14
//! promlint) reports, as warnings: node_exporter reads such data fine, so
//! they never stop a write, but a clean file passes promtool with exit 0.

use super::kept::Kept;
use super::{Family, Kind, Problem, Rule};
use std::fmt::Arguments;

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
pub(super) fn family(family: &Family<'_>, out: &mut Kept) {
    // A message is built only for a problem that is kept.
    let mut warn = |rule: Rule, message: Arguments<'_>| {
        if !out.wants(rule.severity(), family.line) {
            out.count(rule.severity());
            return;
        }
        out.push(Problem {
            line: family.line,
            rule,
            severity: rule.severity(),
            message: format!("{}: {message}", family.name),
        });
    };
    if family.help.is_none() {
        warn(Rule::NoHelp, format_args!("no HELP text"));
    }
    units(family.name, &mut warn);
    let total = family.name.ends_with("_total");
    match family.kind {
        Kind::Counter if !total => warn(
            Rule::CounterTotal,
            format_args!("counter names should end in _total"),
        ),
        Kind::Gauge | Kind::Histogram | Kind::Summary if total => warn(
            Rule::NonCounterTotal,
            format_args!("only counter names should end in _total"),
        ),
        _ => {}
    }
    reserved(family, &mut warn);
    spelling(family, &mut warn);
}

/// Non-base units (`milliseconds`) and abbreviated ones (`_ms`).
fn units(name: &str, warn: &mut impl FnMut(Rule, Arguments<'_>)) {
    if let Some((unit, base)) = non_base_unit(name) {
        warn(
            Rule::BaseUnit,
            format_args!("use base unit {base:?} instead of {unit:?}"),
        );
    }
    let lower = name.to_ascii_lowercase();
    if ABBREVIATIONS.iter().any(|a| has_word(&lower, a)) {
        warn(
            Rule::UnitAbbreviation,
            format_args!("the name should not contain abbreviated units (write seconds, bytes)"),
        );
    }
}

/// Type words in the name, colons, camelCase names and label names.
fn spelling(family: &Family<'_>, warn: &mut impl FnMut(Rule, Arguments<'_>)) {
    let name = family.name;
    let lower = name.to_ascii_lowercase();
    for word in TYPE_WORDS {
        if has_word(&lower, word) {
            warn(
                Rule::TypeInName,
                format_args!("the name should not include the type {word:?}"),
            );
        }
    }
    if name.contains(':') {
        warn(
            Rule::Colon,
            format_args!("':' in metric names is for recording rules"),
        );
    }
    if is_camel(name) {
        warn(
            Rule::CamelCase,
            format_args!("write metric names in snake_case"),
        );
    }
    if let Some(label) = family.labels.camel {
        warn(
            Rule::CamelCase,
            format_args!("write label names in snake_case, not {label}"),
        );
    }
}

/// `_bucket`/`_count`/`_sum` suffixes and `le`/`quantile` labels outside
/// histograms and summaries; untyped families are exempt, as in promtool.
fn reserved(family: &Family<'_>, warn: &mut impl FnMut(Rule, Arguments<'_>)) {
    let (name, kind) = (family.name, family.kind);
    if kind == Kind::Untyped {
        return;
    }
    let histogram = kind == Kind::Histogram;
    let summary = kind == Kind::Summary;
    if !histogram && name.ends_with("_bucket") {
        warn(
            Rule::ReservedSuffix,
            format_args!("only histograms should end in _bucket"),
        );
    }
    for suffix in ["_count", "_sum"] {
        if !histogram && !summary && name.ends_with(suffix) {
            warn(
                Rule::ReservedSuffix,
                format_args!("only histograms and summaries should end in {suffix}"),
            );
        }
    }
    if !histogram && family.labels.le {
        warn(
            Rule::StructuralLabel,
            format_args!("only histograms should have an le label"),
        );
    }
    if !summary && family.labels.quantile {
        warn(
            Rule::StructuralLabel,
            format_args!("only summaries should have a quantile label"),
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
    name.match_indices(word).any(|(at, _)| {
        let end = at + word.len();
        at > 0
            && name.as_bytes()[at - 1] == b'_'
            && (end == name.len() || name.as_bytes()[end] == b'_')
    })
}

/// A lower-case letter followed by an upper-case one.
fn is_camel(name: &str) -> bool {
    name.as_bytes()
        .windows(2)
        .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
}
