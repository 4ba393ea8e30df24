//! The problems of a text, bounded: every one is counted, the first ones
//! by line are kept. Memory stays the same whether a text has ten
//! problems or ten million.

use super::{Problem, Severity};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A kept problem, ordered by line, then by when it was found: the same
/// order as a stable sort by line.
struct Entry {
    order: (usize, usize),
    problem: Problem,
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

/// The first `limit` problems by line (a max-heap: the last one kept is
/// dropped first), and how many of each severity there were.
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
    pub fn wants(&self, line: usize) -> bool {
        self.heap.len() < self.limit || self.heap.peek().is_some_and(|last| line < last.order.0)
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
        let wanted = self.wants(problem.line);
        self.count(problem.severity);
        if !wanted {
            return;
        }
        let order = (problem.line, self.found);
        self.heap.push(Entry { order, problem });
        if self.heap.len() > self.limit {
            self.heap.pop();
        }
    }

    /// The kept problems, sorted by line.
    pub fn into_sorted(self) -> Vec<Problem> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|entry| entry.problem)
            .collect()
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
    fn keeps_the_first_by_line_in_the_order_found_and_counts_all() {
        let mut kept = Kept::new(3);
        for (line, rule) in [
            (9, Rule::Value),
            (2, Rule::NoHelp),
            (5, Rule::Value),
            (2, Rule::Timestamp),
            (7, Rule::Value),
            (1, Rule::Value),
        ] {
            kept.push(problem(line, rule));
        }
        assert_eq!((kept.errors, kept.warnings), (5, 1));
        assert!(!kept.wants(2), "line 2 is taken twice already");
        let order: Vec<(usize, Rule)> = kept
            .into_sorted()
            .iter()
            .map(|p| (p.line, p.rule))
            .collect();
        assert_eq!(
            order,
            [(1, Rule::Value), (2, Rule::NoHelp), (2, Rule::Timestamp)]
        );
    }
}
