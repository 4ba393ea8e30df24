//! What node_exporter's textfile collector can serve within a scrape
//! timeout, and how many problems a check keeps: every bound on the work
//! and memory a text may cost, each with the reason it exists.

/// Bounds a text must stay within. [`Limits::default`] is what the
/// collector serves in time; raise one only for a collector you measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes in one line, `\n` excluded: a runaway HELP text or label
    /// value is a producer bug, and the collector holds the line in memory.
    pub line_bytes: usize,
    /// Labels on one sample: the collector's work per series grows with
    /// the square of its labels (10,000 labels on one series took
    /// node_exporter 1.5 about 13 s to scrape, past a 10 s timeout).
    pub labels: usize,
    /// Distinct label names in one family: the collector gives every
    /// series all of its family's names, so the work grows with series x
    /// names (10,000 series over 1,000 names took over 100 s).
    pub family_labels: usize,
    /// Metric families in one text: the collector's work grows with the
    /// families far more than with the series (100,000 families took it
    /// 7.9 s to scrape, as many series of one family 1.5 s). It also
    /// bounds the memory a check needs per family.
    pub families: usize,
    /// Bytes in one label value, escaped as written: Grafana Mimir and
    /// Cortex refuse values over 2,048 bytes by default.
    pub label_value_bytes: usize,
    /// Problems kept, the first by line; the rest are only counted, so
    /// memory does not grow with the number of problems found.
    pub problems: usize,
}

impl Limits {
    /// No bound at all but the problems kept: for text already checked.
    pub const NONE: Limits = Limits {
        line_bytes: usize::MAX,
        labels: usize::MAX,
        family_labels: usize::MAX,
        families: usize::MAX,
        label_value_bytes: usize::MAX,
        problems: 1000,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            line_bytes: 65_536,
            labels: 32,
            family_labels: 64,
            families: 10_000,
            label_value_bytes: 2048,
            problems: 1000,
        }
    }
}

/// The label names a family has used, up to one past the limit. Samples
/// of a family usually name their labels alike and in the same order, so
/// the name at the same position is tried first.
#[derive(Debug, Default)]
pub(crate) struct LabelNames<'a> {
    names: Vec<&'a str>,
    /// Set once the family went past the limit (reported once).
    pub over: bool,
}

impl<'a> LabelNames<'a> {
    /// Adds the names of one sample, telling `new` of each name not seen
    /// before; true when this sample takes the family past `limit` names
    /// for the first time.
    pub fn add(
        &mut self,
        labels: &[(&'a str, &'a str)],
        skip: Option<&str>,
        limit: usize,
        mut new: impl FnMut(&'a str),
    ) -> bool {
        if self.over {
            return false;
        }
        for (position, (name, _)) in labels.iter().enumerate() {
            if Some(*name) == skip
                || self.names.get(position) == Some(name)
                || self.names.contains(name)
            {
                continue;
            }
            if self.names.len() >= limit {
                self.over = true;
                self.names = Vec::new();
                return true;
            }
            self.names.push(name);
            new(name);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::{LabelNames, Limits};
    use crate::check_with;

    /// `(line, rule name)` of every error within `limits`.
    fn errors(text: &str, limits: &Limits) -> Vec<(usize, &'static str)> {
        let checked = check_with(text, limits);
        checked.errors().map(|p| (p.line, p.rule.name())).collect()
    }

    fn sample(labels: usize, value: &str) -> String {
        let pairs: Vec<String> = (0..labels).map(|i| format!("l{i}=\"{value}\"")).collect();
        format!("# HELP a A.\n# TYPE a gauge\na{{{}}} 1\n", pairs.join(","))
    }

    #[test]
    fn labels_past_the_limit_are_refused_with_the_reason_and_can_be_allowed() {
        let limits = Limits::default();
        assert_eq!(errors(&sample(32, "v"), &limits), []);
        assert_eq!(errors(&sample(33, "v"), &limits), [(3, "label-count")]);
        let message = &check_with(&sample(33, "v"), &limits).problems[0].message;
        assert!(
            message.contains("more than 32 labels") && message.contains("scrape"),
            "{message}"
        );
        let wider = Limits {
            labels: 33,
            ..limits
        };
        assert_eq!(errors(&sample(33, "v"), &wider), []);
    }

    #[test]
    fn a_long_label_value_or_line_is_refused_and_can_be_allowed() {
        let limits = Limits::default();
        assert_eq!(errors(&sample(1, &"v".repeat(2048)), &limits), []);
        let long = sample(1, &"v".repeat(2049));
        assert_eq!(errors(&long, &limits), [(3, "label-value-length")]);
        let wider = Limits {
            label_value_bytes: 2049,
            ..limits
        };
        assert_eq!(errors(&long, &wider), []);
        let help = format!("# HELP a {}\n# TYPE a gauge\na 1\n", "h".repeat(70_000));
        assert_eq!(errors(&help, &limits), [(1, "line-length")]);
        let wider = Limits {
            line_bytes: 70_010,
            ..limits
        };
        assert_eq!(errors(&help, &wider), []);
    }

    #[test]
    fn a_family_past_the_label_name_limit_is_reported_once_where_it_crosses() {
        let samples: Vec<String> = (0..70).map(|i| format!("a{{n{i}=\"v\"}} 1\n")).collect();
        let text = format!("# HELP a A.\n# TYPE a gauge\n{}", samples.concat());
        // Line 3 holds the first name: the 65th is on line 67.
        assert_eq!(errors(&text, &Limits::default()), [(67, "family-labels")]);
        let wider = Limits {
            family_labels: 70,
            ..Limits::default()
        };
        assert_eq!(errors(&text, &wider), []);
    }

    #[test]
    fn families_past_the_limit_are_refused_once_and_not_kept() {
        let lines: Vec<String> = (0..20).map(|i| format!("f{i} 1\n")).collect();
        let text = lines.concat();
        let limits = Limits {
            families: 10,
            ..Limits::default()
        };
        let checked = check_with(&text, &limits);
        let errors: Vec<(usize, &str)> =
            checked.errors().map(|p| (p.line, p.rule.name())).collect();
        assert_eq!(errors, [(11, "family-count")]);
        assert_eq!(checked.families.len(), 10);
    }

    #[test]
    fn problems_past_the_limit_are_counted_not_kept() {
        let text = "y\n".repeat(5000);
        let checked = check_with(&text, &Limits::default());
        assert_eq!(checked.problems.len(), 1000);
        assert_eq!((checked.error_count, checked.omitted()), (5000, 4000));
        assert_eq!(checked.problems[0].line, 1);
        assert_eq!(checked.problems[999].line, 1000);
        assert!(!checked.is_valid());
    }

    #[test]
    fn names_are_counted_once_whatever_their_order() {
        let mut names = LabelNames::default();
        let mut seen = Vec::new();
        let mut add = |labels: &[(&'static str, &'static str)], skip| {
            names.add(labels, skip, 3, |name| seen.push(name))
        };
        assert!(!add(&[("a", "1"), ("b", "2")], None));
        assert!(!add(&[("b", "2"), ("a", "1"), ("le", "1")], Some("le")));
        assert!(!add(&[("c", "1")], None));
        assert!(add(&[("d", "1")], None), "the fourth name is one too many");
        assert!(!add(&[("e", "1")], None), "reported once");
        assert_eq!(seen, ["a", "b", "c"]);
    }
}
