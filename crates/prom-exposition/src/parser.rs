//! The pass over the lines: families, HELP/TYPE placement, duplicates and
//! histogram/summary structure. Names resolve to families as in the Go
//! parser: the exact name first, then `x_count`/`x_sum` (and `x_bucket`)
//! of an existing summary (or histogram) `x`.

use super::lex::{self, Line, SampleLine};
use super::lint::LabelFacts;
use super::series::{self, Groups, Labels, Seen, SeriesSet};
use super::{Family, Kind, Parsed, Problem, Rule, Sample};
use std::collections::HashMap;

/// Which series of its family a sample name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Plain,
    Bucket,
    Count,
    Sum,
}

const SUFFIXES: [(&str, Role); 3] = [
    ("_count", Role::Count),
    ("_sum", Role::Sum),
    ("_bucket", Role::Bucket),
];

/// Per-family state that is not part of the result.
#[derive(Default)]
struct Extra {
    help_line: usize,
    type_line: usize,
    groups: Groups,
}

pub(super) struct Parser<'a> {
    text: &'a str,
    keep: bool,
    families: Vec<Family<'a>>,
    extra: Vec<Extra>,
    by_name: HashMap<&'a str, usize>,
    last: Option<usize>,
    series: SeriesSet,
    problems: Vec<Problem>,
    /// Labels of the current sample, sorted; reused so lines do not allocate.
    scratch: Labels<'a>,
}

impl<'a> Parser<'a> {
    pub fn new(text: &'a str, keep: bool) -> Self {
        Parser {
            text,
            keep,
            families: Vec::new(),
            extra: Vec::new(),
            by_name: HashMap::new(),
            last: None,
            // A guess at the number of sample lines; too low only costs a rehash.
            series: SeriesSet::with_capacity(text.len() / 100),
            problems: Vec::new(),
            scratch: Vec::new(),
        }
    }

    pub fn run(mut self) -> Parsed<'a> {
        if u32::try_from(self.text.len()).is_err() {
            self.error(1, Rule::Encoding, "input larger than 4 GiB".into());
            return self.finish();
        }
        let text = self.text;
        let mut offset = 0;
        for (index, line) in text.split('\n').enumerate() {
            let number = index + 1;
            if offset + line.len() == text.len() {
                if !line.trim_matches([' ', '\t']).is_empty() {
                    let why = "the last line has no final newline: node_exporter rejects the file";
                    self.error(number, Rule::FinalNewline, why.into());
                    self.line(number, offset, line);
                }
                break;
            }
            self.line(number, offset, line);
            offset += line.len() + 1;
        }
        self.finish()
    }

    fn line(&mut self, number: usize, offset: usize, text: &'a str) {
        self.scratch.clear();
        match lex::line(text, &mut self.scratch) {
            Ok(Line::Blank | Line::Comment) => {}
            Ok(Line::Mention(name)) => {
                self.resolve(name, number);
            }
            Ok(Line::Help { name, text: help }) => self.help(number, name, help),
            Ok(Line::Type { name, kind }) => self.declare(number, name, kind),
            Ok(Line::Sample(sample)) => self.sample(number, offset, &sample),
            Err(err) => self.error(number, err.rule, err.message),
        }
    }

    fn error(&mut self, line: usize, rule: Rule, message: String) {
        self.problems.push(Problem {
            line,
            rule,
            severity: rule.severity(),
            message,
        });
    }

    fn resolve(&mut self, name: &'a str, line: usize) -> (usize, Role) {
        if let Some(&index) = self.by_name.get(name) {
            return (index, Role::Plain);
        }
        for (suffix, role) in SUFFIXES {
            if let Some(base) = name.strip_suffix(suffix)
                && let Some(&index) = self.by_name.get(base)
            {
                let kind = self.families[index].kind;
                if kind == Kind::Histogram || (kind == Kind::Summary && role != Role::Bucket) {
                    return (index, role);
                }
            }
        }
        let index = self.families.len();
        self.by_name.insert(name, index);
        self.families.push(Family {
            name,
            kind: Kind::Untyped,
            typed: false,
            help: None,
            line,
            series: 0,
            labels: LabelFacts::default(),
            samples: Vec::new(),
        });
        self.extra.push(Extra::default());
        (index, Role::Plain)
    }

    fn help(&mut self, line: usize, name: &'a str, text: &'a str) {
        // HELP/TYPE for `x_sum` of summary `x` applies to `x`, as in Go.
        let index = self.resolve(name, line).0;
        if self.families[index].help.is_some() {
            let first = self.extra[index].help_line;
            let why = format!("second HELP for {name} (the first is on line {first})");
            self.error(line, Rule::DuplicateHelp, why);
            return;
        }
        self.families[index].help = Some(text);
        self.extra[index].help_line = line;
    }

    fn declare(&mut self, line: usize, name: &'a str, word: &'a str) {
        // HELP/TYPE for `x_sum` of summary `x` applies to `x`, as in Go.
        let index = self.resolve(name, line).0;
        let family = &self.families[index];
        let problem = if family.series > 0 {
            let why = format!("TYPE for {name} comes after its samples: move it above them");
            Some((Rule::TypeAfterSamples, why))
        } else if family.typed {
            let first = self.extra[index].type_line;
            let why = format!("second TYPE for {name} (the first is on line {first})");
            Some((Rule::DuplicateType, why))
        } else if word.ends_with('\r') {
            let why = "line ends in \\r (CRLF line endings): node_exporter rejects the file";
            Some((Rule::LineEnding, why.to_owned()))
        } else if Kind::parse(word).is_none() {
            Some((Rule::UnknownType, unknown_type(word)))
        } else {
            None
        };
        if let Some((rule, why)) = problem {
            self.error(line, rule, why);
            return;
        }
        let family = &mut self.families[index];
        family.kind = Kind::parse(word).unwrap_or(Kind::Untyped);
        family.typed = true;
        self.extra[index].type_line = line;
    }

    fn sample(&mut self, line: usize, offset: usize, sample: &SampleLine<'a>) {
        let (index, role) = match self.last {
            // Samples of a family usually follow each other: skip the lookup.
            Some(last) if self.families[last].name == sample.name => (last, Role::Plain),
            _ => self.resolve(sample.name, line),
        };
        self.last = Some(index);
        if let Some(name) = repeated_label(&self.scratch) {
            let why = format!("label {name:?} appears twice in {}", sample.name);
            self.error(line, Rule::DuplicateLabel, why);
            return;
        }
        if self.duplicate(line, offset, sample) || !self.structure(index, line, role, sample) {
            return;
        }
        let family = &mut self.families[index];
        family.series += 1;
        let structural = structural_label(family.kind);
        for (name, _) in &self.scratch {
            if Some(*name) != structural {
                family.labels.see(name);
            }
        }
        if self.keep {
            family.samples.push(Sample {
                line,
                name: sample.name,
                labels: sample.labels,
                value: sample.value,
            });
        }
    }

    /// Records the series; reports it and returns true if seen before.
    fn duplicate(&mut self, line: usize, offset: usize, sample: &SampleLine<'a>) -> bool {
        let hash = series::identity_hash(sample.name, &self.scratch);
        let at = Seen {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            offset: u32::try_from(offset).unwrap_or(u32::MAX),
        };
        let (text, labels, name) = (self.text, &self.scratch, sample.name);
        let same = |earlier: u32| series::same_series(line_at(text, earlier), name, labels);
        let Some(earlier) = self.series.insert(hash, at, same) else {
            return false;
        };
        let labels = sample.labels.trim();
        let series = if labels.is_empty() {
            name.to_owned()
        } else {
            format!("{name}{{{labels}}}")
        };
        let why = format!(
            "{series} repeats the series on line {}: node_exporter keeps one and silently drops the other",
            earlier.line
        );
        self.error(line, Rule::DuplicateSeries, why);
        true
    }

    fn finish(mut self) -> Parsed<'a> {
        for index in 0..self.families.len() {
            self.check_groups(index);
            self.check_collisions(index);
            self.check_exporter_name(index);
            if self.families[index].series > 0 {
                super::lint::family(&self.families[index], &mut self.problems);
            }
        }
        self.problems.sort_by_key(|p| p.line);
        Parsed {
            families: self.families,
            problems: self.problems,
        }
    }

    /// A family named `x_bucket`, `x_count` or `x_sum` beside histogram or
    /// summary `x`: the registry in node_exporter drops one of them.
    fn check_collisions(&mut self, index: usize) {
        let family = &self.families[index];
        let suffixes: &[&str] = match family.kind {
            Kind::Histogram => &["_bucket", "_count", "_sum"],
            Kind::Summary => &["_count", "_sum"],
            _ => return,
        };
        if family.series == 0 {
            return;
        }
        let mut found = Vec::new();
        for suffix in suffixes {
            let name = format!("{}{suffix}", family.name);
            if let Some(&other) = self.by_name.get(name.as_str())
                && self.families[other].series > 0
            {
                let why = format!(
                    "family {name} collides with the {name} series of {} {}: node_exporter drops one of them silently; rename one",
                    family.kind.as_str(),
                    family.name
                );
                found.push((self.families[other].line, why));
            }
        }
        for (line, why) in found {
            self.error(line, Rule::NameCollision, why);
        }
    }
}

fn unknown_type(word: &str) -> String {
    if super::same_upper(word, "gauge_histogram") {
        // The Go parser knows the word; node_exporter's collector does not.
        return format!(
            "metric type {word:?}: node_exporter 1.5 panics on a gauge_histogram family (promtool does not warn); use gauge or histogram"
        );
    }
    format!("unknown metric type {word:?}: use counter, gauge, histogram, summary or untyped")
}

impl Parser<'_> {
    fn check_exporter_name(&mut self, index: usize) {
        let family = &self.families[index];
        if family.series == 0 || !super::exporter::owns(family.name) {
            return;
        }
        let why = format!(
            "node_exporter exports {} itself: it drops this family with only a log line, or serves it in place of its own; rename it",
            family.name
        );
        self.error(family.line, Rule::ExporterName, why);
    }
}

/// A label name given twice. Pairwise for the usual handful of labels,
/// where unequal lengths make most comparisons free; sorted for many, so a
/// line with thousands of labels is not quadratic.
fn repeated_label<'a>(labels: &[(&'a str, &'a str)]) -> Option<&'a str> {
    if labels.len() > 32 {
        let mut names: Vec<&str> = labels.iter().map(|(name, _)| *name).collect();
        names.sort_unstable();
        return names.windows(2).find(|w| w[0] == w[1]).map(|w| w[0]);
    }
    labels
        .iter()
        .enumerate()
        .find(|(i, (name, _))| labels[i + 1..].iter().any(|(other, _)| other == name))
        .map(|(_, (name, _))| *name)
}

fn structural_label(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Histogram => Some("le"),
        Kind::Summary => Some("quantile"),
        _ => None,
    }
}

/// The line that starts at `offset`.
fn line_at(text: &str, offset: u32) -> &str {
    let rest = &text[offset as usize..];
    rest.split('\n').next().unwrap_or(rest)
}

mod structure;
