//! Histograms and summaries: which series a sample is, and the MUSTs of the
//! text format that node_exporter does not check but that make the data
//! wrong (it invents `_count 0` when `_count` is missing, truncates counts
//! to integers, and serves buckets that are not cumulative as they are).

use super::super::lex::{self, SampleLine};
use super::super::series::{self, Group};
use super::super::{Kind, Rule, unescape};
use super::{Parser, Role};

impl Parser<'_> {
    /// Checks a histogram or summary sample and records it in its group.
    /// Returns false (after reporting) when the sample is unusable.
    pub(super) fn structure(
        &mut self,
        index: usize,
        line: usize,
        role: Role,
        sample: &SampleLine<'_>,
    ) -> bool {
        let (kind, label) = match self.families[index].kind {
            Kind::Histogram => (Kind::Histogram, "le"),
            Kind::Summary => (Kind::Summary, "quantile"),
            _ => return true,
        };
        let bound = self
            .scratch
            .iter()
            .find(|(name, _)| *name == label)
            .map(|(_, value)| *value);
        let family = self.families[index].name;
        match shape(family, kind, role, bound, sample) {
            Ok(bound) => {
                let hash = series::group_hash(family, &self.scratch, label);
                let group = self.extra[index].groups.get(hash, line);
                group.blank_label |= self
                    .scratch
                    .iter()
                    .any(|(n, v)| v.is_empty() && *n != label);
                let result = record(group, kind, role, bound, sample.value, line);
                if let Err((broken, why)) = result {
                    self.error(line, broken, why);
                    return false;
                }
                true
            }
            Err((broken, why)) => {
                self.error(line, broken, why);
                false
            }
        }
    }
}

/// Checks that the sample is one of the family's series, with `le` or
/// `quantile` exactly where it belongs; returns that bound, parsed.
fn shape(
    family: &str,
    kind: Kind,
    role: Role,
    bound: Option<&str>,
    sample: &SampleLine<'_>,
) -> Result<Option<f64>, (Rule, String)> {
    let (label, broken) = match kind {
        Kind::Histogram => ("le", Rule::Histogram),
        _ => ("quantile", Rule::Summary),
    };
    let wants_bound = matches!(
        (kind, role),
        (Kind::Histogram, Role::Bucket) | (Kind::Summary, Role::Plain)
    );
    let name = sample.name;
    match (wants_bound, bound) {
        (true, Some(text)) => lex::parse_value(&unescape(text))
            .map(Some)
            .map_err(|_| (broken, format!("{label}=\"{text}\" is not a number"))),
        (true, None) if role == Role::Plain => Err((
            Rule::SeriesName,
            format!(
                "{name} has no quantile label: the series of summary {family} are {family}{{quantile=\"..\"}}, {family}_sum and {family}_count (node_exporter ignores this line)"
            ),
        )),
        (true, None) => Err((
            broken,
            format!("{name} has no le label: every bucket needs its upper bound"),
        )),
        (false, Some(_)) => Err((broken, format!("{name} must not have a {label} label"))),
        (false, None) if role == Role::Plain => Err((
            Rule::SeriesName,
            format!(
                "{name} is not a series of histogram {family}: use {family}_bucket{{le=\"..\"}}, {family}_sum and {family}_count (node_exporter ignores this line)"
            ),
        )),
        (false, None) => Ok(None),
    }
}

impl Parser<'_> {
    /// After the last line: what each group still lacks.
    pub(super) fn check_groups(&mut self, index: usize) {
        let family = &self.families[index];
        let (kind, name) = (family.kind, family.name);
        let mut found = Vec::new();
        for group in &self.extra[index].groups.list {
            found.extend(missing(group, kind, name));
            if kind == Kind::Summary {
                found.extend(repeated_quantiles(group));
            }
        }
        for (line, rule, why) in found {
            self.error(line, rule, why);
        }
    }
}

fn record(
    group: &mut Group,
    kind: Kind,
    role: Role,
    bound: Option<f64>,
    value: f64,
    line: usize,
) -> Result<(), (Rule, String)> {
    let broken = if kind == Kind::Histogram {
        Rule::Histogram
    } else {
        Rule::Summary
    };
    // Recorded even when broken, so that one bad line makes one error.
    let recorded = match (role, bound) {
        (Role::Count, _) => {
            group.count = Some(value);
            Ok(())
        }
        (Role::Sum, _) => {
            group.sum = true;
            Ok(())
        }
        (_, Some(bound)) => point(group, kind, bound, value, line),
        (_, None) => Ok(()),
    };
    let counted = role == Role::Count || (kind == Kind::Histogram && role == Role::Bucket);
    if counted && !series::is_count(value) {
        return Err((
            broken,
            format!(
                "count {value} is not a whole number from 0 to below 2^64: node_exporter stores counts as unsigned 64-bit integers"
            ),
        ));
    }
    recorded
}

/// A bucket or quantile: bucket bounds ascend and counts never fall;
/// quantiles lie in 0..1 (repeats are found at the end). A bucket is kept
/// even when it breaks a rule, so one bad line is one error.
fn point(
    group: &mut Group,
    kind: Kind,
    bound: f64,
    value: f64,
    line: usize,
) -> Result<(), (Rule, String)> {
    if kind == Kind::Histogram {
        let broken = order(group.points.last(), bound, value);
        group.points.push((bound, value, line));
        return broken;
    }
    if !(0.0..=1.0).contains(&bound) {
        return Err((Rule::Summary, format!("quantile {bound} is outside 0..1")));
    }
    group.points.push((bound, value, line));
    Ok(())
}

fn order(last: Option<&(f64, f64, usize)>, bound: f64, value: f64) -> Result<(), (Rule, String)> {
    if bound.is_nan() {
        return Err((Rule::Histogram, "le=\"NaN\" is not a bound".into()));
    }
    let Some(&(last, count, at)) = last else {
        return Ok(());
    };
    if bound <= last {
        return Err((
            Rule::Histogram,
            format!("le=\"{bound}\" comes after le=\"{last}\" on line {at}: le values must ascend"),
        ));
    }
    if value < count {
        return Err((
            Rule::Histogram,
            format!(
                "bucket le=\"{bound}\" counts {value}, fewer than le=\"{last}\" on line {at} ({count}): buckets are cumulative"
            ),
        ));
    }
    Ok(())
}

/// Quantiles may come in any order (node_exporter sorts them; a producer
/// iterating a map cannot keep one), but each once: it keeps only one.
/// Sorted rather than searched, so 100,000 quantiles cost no more than
/// 100,000 buckets.
// Exact equality is what collides: node_exporter keys quantiles by value.
#[allow(clippy::float_cmp)]
fn repeated_quantiles(group: &Group) -> Vec<(usize, Rule, String)> {
    // `+ 0.0` turns -0 into 0, which is the same map key in Go.
    let mut seen: Vec<(f64, usize)> = group.points.iter().map(|p| (p.0 + 0.0, p.2)).collect();
    seen.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    seen.windows(2)
        .filter(|pair| pair[0].0 == pair[1].0)
        .map(|pair| {
            let why = format!(
                "quantile {} repeats the one on line {}: node_exporter keeps only one of them",
                pair[1].0, pair[0].1
            );
            (pair[1].1, Rule::Summary, why)
        })
        .collect()
}

// Counts are checked to be whole numbers, so equality is exact here.
#[allow(clippy::float_cmp)]
fn missing(group: &Group, kind: Kind, name: &str) -> Vec<(usize, Rule, String)> {
    let rule = if kind == Kind::Histogram {
        Rule::Histogram
    } else {
        Rule::Summary
    };
    let mut out = Vec::new();
    let mut what = format!("the {} {name} that starts here", kind.as_str());
    if group.blank_label {
        // The Go parser groups by labels as written, empty values included.
        what.push_str(" (a label with an empty value makes it a group of its own)");
    }
    if group.count.is_none() {
        let why = format!("{what} has no {name}_count: node_exporter would report 0");
        out.push((group.line, rule, why));
    }
    if !group.sum {
        let why = format!("{what} has no {name}_sum: node_exporter would report 0");
        out.push((group.line, rule, why));
    }
    if kind == Kind::Histogram {
        match (group.points.last(), group.count) {
            (Some(&(bound, inf, at)), Some(count)) if bound == f64::INFINITY && inf != count => {
                let why = format!(
                    "the le=\"+Inf\" bucket ({inf}) differs from {name}_count ({count}): they must be equal"
                );
                out.push((at, rule, why));
            }
            (Some(&(bound, _, _)), _) if bound == f64::INFINITY => {}
            _ => {
                let why = format!("{what} has no le=\"+Inf\" bucket");
                out.push((group.line, rule, why));
            }
        }
    }
    out
}
