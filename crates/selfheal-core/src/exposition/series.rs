//! Series identity and the checks that span lines: duplicate series (which
//! node_exporter drops silently) and histogram/summary consistency.
//!
//! A series is its name plus its labels sorted by name, labels with an
//! empty value left out: Prometheus treats `x=""` as no label at all, and
//! node_exporter pads missing labels with `""`, so `a{x=""}` and `a` are
//! the same series there. The set keeps only a 64-bit hash and where the
//! first occurrence is; a hash match is confirmed against the earlier line
//! itself, so a collision can never report a false duplicate.

use super::lex;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

/// Labels of one sample, sorted by name.
pub(super) type Labels<'a> = Vec<(&'a str, &'a str)>;

/// Hashes the identity of a series (`labels` sorted by name).
pub(super) fn identity_hash(name: &str, labels: &[(&str, &str)], skip: Option<&str>) -> u64 {
    let mut hasher = DefaultHasher::new();
    name.hash(&mut hasher);
    for (key, value) in labels {
        if !value.is_empty() && Some(*key) != skip {
            key.hash(&mut hasher);
            value.hash(&mut hasher);
        }
    }
    hasher.finish()
}

/// The keys are already hashes: hashing them again would only cost time.
#[derive(Default)]
pub(super) struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type HashIndex<V> = HashMap<u64, V, BuildHasherDefault<Prehashed>>;

/// Where a series was first seen: line number and byte offset of the line.
#[derive(Debug, Clone, Copy)]
pub(super) struct Seen {
    pub line: u32,
    pub offset: u32,
}

#[derive(Default)]
pub(super) struct SeriesSet {
    first: HashIndex<Seen>,
    /// Distinct series whose hash collided with another's (practically never).
    more: Vec<(u64, Seen)>,
}

impl SeriesSet {
    /// Records a series; returns where it was seen before, if it was.
    /// `same(offset)` tells whether the line at `offset` is this series.
    pub fn insert(&mut self, hash: u64, at: Seen, same: impl Fn(u32) -> bool) -> Option<Seen> {
        let Some(&earlier) = self.first.get(&hash) else {
            self.first.insert(hash, at);
            return None;
        };
        if same(earlier.offset) {
            return Some(earlier);
        }
        let found = self
            .more
            .iter()
            .find(|(h, seen)| *h == hash && same(seen.offset))
            .map(|&(_, seen)| seen);
        if found.is_none() {
            self.more.push((hash, at));
        }
        found
    }
}

/// Whether the sample line starting at `line` is the series `name` with
/// `labels` (sorted, empty values ignored).
pub(super) fn same_series(line: &str, name: &str, labels: &[(&str, &str)]) -> bool {
    let Ok(lex::Line::Sample(earlier)) = lex::line(line) else {
        return false;
    };
    if earlier.name != name {
        return false;
    }
    let mut theirs: Labels<'_> = lex::pairs(earlier.labels)
        .filter(|(_, v)| !v.is_empty())
        .collect();
    theirs.sort_unstable();
    labels
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .eq(theirs.iter())
}

/// One histogram or summary: the samples that share labels other than
/// `le`/`quantile`.
#[derive(Debug, Default)]
pub(super) struct Group {
    pub line: usize,
    /// `(le or quantile, value, line)` in input order.
    pub points: Vec<(f64, f64, usize)>,
    pub count: Option<f64>,
    pub sum: bool,
}

/// The groups of one family, keyed by label identity.
#[derive(Debug, Default)]
pub(super) struct Groups {
    index: HashIndex<usize>,
    pub list: Vec<Group>,
}

impl Groups {
    /// The group for `hash`, created at `line` if new. Labels hash with
    /// 64 bits; merging two different label sets would need a collision
    /// inside one family, which is not a practical risk.
    pub fn get(&mut self, hash: u64, line: usize) -> &mut Group {
        let next = self.list.len();
        let index = *self.index.entry(hash).or_insert(next);
        if index == next {
            self.list.push(Group {
                line,
                ..Group::default()
            });
        }
        &mut self.list[index]
    }
}

/// A count as node_exporter stores it (`uint64`): finite, whole, not negative.
pub(super) fn is_count(value: f64) -> bool {
    value.is_finite() && value >= 0.0 && value.fract() == 0.0
}
