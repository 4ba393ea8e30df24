//! The rules a text can break, with stable names for output and scripts.

use super::Severity;

/// A rule of the text format, of node_exporter's textfile collector, or of
/// `promtool check metrics`' linter. [`Rule::name`] is stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// Not UTF-8, or too large to index.
    Encoding,
    /// The last line has no `\n`: the collector rejects the file.
    FinalNewline,
    /// A `\r` before `\n`.
    LineEnding,
    MetricName,
    LabelName,
    /// `__name__` or another `__` label.
    ReservedLabel,
    /// Quotes, `=`, `,` or `}` out of place.
    LabelSyntax,
    /// An escape other than `\\`, `\"`, `\n` (or `\\`, `\n` in HELP).
    Escape,
    DuplicateLabel,
    Value,
    /// A sample timestamp: the collector skips the whole file.
    Timestamp,
    /// Anything after the value (trailing blanks included).
    TrailingText,
    DuplicateHelp,
    DuplicateType,
    TypeAfterSamples,
    UnknownType,
    /// A histogram or summary sample that is none of its series.
    SeriesName,
    /// The same name and labels twice: the collector drops one silently.
    DuplicateSeries,
    /// A family named like another's `_bucket`/`_sum`/`_count`.
    NameCollision,
    /// A name node_exporter exports itself (`node_textfile_scrape_error`).
    ExporterName,
    Histogram,
    Summary,
    // Lint problems, as promtool 2.42 reports them.
    NoHelp,
    CounterTotal,
    NonCounterTotal,
    ReservedSuffix,
    StructuralLabel,
    TypeInName,
    Colon,
    CamelCase,
    BaseUnit,
    UnitAbbreviation,
}

impl Rule {
    /// Kebab-case name, shown as `error[name]` and in JSON.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Rule::Encoding => "encoding",
            Rule::FinalNewline => "final-newline",
            Rule::LineEnding => "line-ending",
            Rule::MetricName => "metric-name",
            Rule::LabelName => "label-name",
            Rule::ReservedLabel => "reserved-label",
            Rule::LabelSyntax => "label-syntax",
            Rule::Escape => "escape",
            Rule::DuplicateLabel => "duplicate-label",
            Rule::Value => "value",
            Rule::Timestamp => "timestamp",
            Rule::TrailingText => "trailing-text",
            Rule::DuplicateHelp => "duplicate-help",
            Rule::DuplicateType => "duplicate-type",
            Rule::TypeAfterSamples => "type-after-samples",
            Rule::UnknownType => "unknown-type",
            Rule::SeriesName => "series-name",
            Rule::DuplicateSeries => "duplicate-series",
            Rule::NameCollision => "name-collision",
            Rule::ExporterName => "exporter-name",
            Rule::Histogram => "histogram",
            Rule::Summary => "summary",
            Rule::NoHelp => "no-help",
            Rule::CounterTotal => "counter-total",
            Rule::NonCounterTotal => "non-counter-total",
            Rule::ReservedSuffix => "reserved-suffix",
            Rule::StructuralLabel => "structural-label",
            Rule::TypeInName => "type-in-name",
            Rule::Colon => "colon",
            Rule::CamelCase => "camel-case",
            Rule::BaseUnit => "base-unit",
            Rule::UnitAbbreviation => "unit-abbreviation",
        }
    }

    /// Lint rules are warnings; every other rule is an error.
    #[must_use]
    pub fn severity(self) -> Severity {
        match self {
            Rule::NoHelp
            | Rule::CounterTotal
            | Rule::NonCounterTotal
            | Rule::ReservedSuffix
            | Rule::StructuralLabel
            | Rule::TypeInName
            | Rule::Colon
            | Rule::CamelCase
            | Rule::BaseUnit
            | Rule::UnitAbbreviation => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

impl serde::Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
