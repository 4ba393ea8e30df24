//! The problems of a text, bounded: every one is counted, the first
//! errors by line are kept, then the first warnings. Memory stays the same
//! whether a text has ten problems or ten million.

use super::{Problem, Severity};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A kept problem, ordered errors first, then by line, then by when it
/// was found.
struct Entry {
    order: (bool, usize, usize),
    problem: Problem,
}

fn is_warning(severity: Severity) -> bool {
    severity == Severity::Warning
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.order == other.order
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order.cmp(&other.order)
    }
}

/// The first `limit` problems, errors before warnings, by line (a
/// max-heap: the last one kept is dropped first), and how many of each
/// severity there were.
pub(crate) struct Kept {
    heap: BinaryHeap<Entry>,
    limit: usize,
    found: usize,
    pub errors: usize,
    pub warnings: usize,
}

impl Kept {
    pub fn new(limit: usize) -> Self {
        Kept {
            heap: BinaryHeap::new(),
            limit,
            found: 0,
            errors: 0,
            warnings: 0,
        }
    }

    /// Whether a problem at `line` would be kept: callers skip building
    /// its message when not.
    pub fn wants(&self, severity: Severity, line: usize) -> bool {
        let key = (is_warning(severity), line);
        self.heap.len() < self.limit
            || self
                .heap
                .peek()
                .is_some_and(|last| key < (last.order.0, last.order.1))
    }

    /// Counts a problem whose message is not worth building.
    pub fn count(&mut self, severity: Severity) {
        self.found += 1;
        match severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
        }
    }

    pub fn push(&mut self, problem: Problem) {
        let wanted = self.wants(problem.severity, problem.line);
        self.count(problem.severity);
        if !wanted {
            return;
        }
        let order = (is_warning(problem.severity), problem.line, self.found);
        self.heap.push(Entry { order, problem });
        if self.heap.len() > self.limit {
            self.heap.pop();
        }
    }

    /// The kept problems, sorted by line (as found, within a line).
    pub fn into_sorted(self) -> Vec<Problem> {
        let mut kept = self.heap.into_vec();
        kept.sort_unstable_by_key(|entry| (entry.order.1, entry.order.2));
        kept.into_iter().map(|entry| entry.problem).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rule;

    fn problem(line: usize, rule: Rule) -> Problem {
        Problem {
            line,
            rule,
            severity: rule.severity(),
            message: String::new(),
        }
    }

    #[test]
    fn keeps_the_first_errors_by_line_then_warnings_and_counts_all() {
        let mut kept = Kept::new(4);
        for (line, rule) in [
            (9, Rule::Value),
            (2, Rule::NoHelp),
            (5, Rule::Value),
            (2, Rule::Timestamp),
            (7, Rule::Value),
            (1, Rule::Value),
            (3, Rule::Timestamp),
        ] {
            kept.push(problem(line, rule));
        }
        assert_eq!((kept.errors, kept.warnings), (6, 1));
        assert!(!kept.wants(Severity::Error, 5), "line 5 is the last kept");
        assert!(kept.wants(Severity::Error, 4));
        assert!(!kept.wants(Severity::Warning, 1), "errors come first");
        let order: Vec<(usize, Rule)> = kept
            .into_sorted()
            .iter()
            .map(|p| (p.line, p.rule))
            .collect();
        let expected = [
            (1, Rule::Value),
            (2, Rule::Timestamp),
            (3, Rule::Timestamp),
            (5, Rule::Value),
        ];
        assert_eq!(order, expected);
    }
}
