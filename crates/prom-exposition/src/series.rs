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
use std::hash::{BuildHasherDefault, Hasher};

/// Labels of one sample, in input order.
pub(super) type Labels<'a> = Vec<(&'a str, &'a str)>;

/// Hashes the identity of a series. Label order does not matter: each
/// `(name, value)` pair is hashed alone and the pair hashes are summed, so
/// no sorting is needed. Labels with an empty value are left out. Not cryptographic (the FxHash step, 8 bytes at a time, then
/// MurmurHash3's finaliser): every match is verified, so a collision costs
/// time, never a wrong verdict.
pub(super) fn identity_hash(name: &str, labels: &[(&str, &str)]) -> u64 {
    hash_pairs(name, labels.iter().filter(|(_, value)| !value.is_empty()))
}

/// Hashes which histogram or summary a sample belongs to: its labels but
/// `skip` (`le` or `quantile`), empty values included. The Go parser groups
/// by exactly these, so `x_bucket{a=""}` and `x_sum` are two histograms
/// there, which node_exporter then pads to one label set and drops one of.
pub(super) fn group_hash(name: &str, labels: &[(&str, &str)], skip: &str) -> u64 {
    hash_pairs(name, labels.iter().filter(|(key, _)| *key != skip))
}

fn hash_pairs<'a>(name: &str, labels: impl Iterator<Item = &'a (&'a str, &'a str)>) -> u64 {
    let mut sum = mix(SEED, name);
    for (key, value) in labels {
        sum = sum.wrapping_add(finish(mix(mix(SEED, key), value)));
    }
    finish(sum)
}

const SEED: u64 = 0x243f_6a88_85a3_08d3;

fn step(hash: u64, word: u64) -> u64 {
    (hash.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95)
}

/// Folds a string in, its length first so that `ab`+`c` and `a`+`bc` differ.
fn mix(hash: u64, text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut hash = step(hash, bytes.len() as u64);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        hash = step(hash, u64::from_le_bytes(word));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        hash = step(hash, tail(rest));
    }
    hash
}

/// 1 to 7 bytes as a word, with overlapping reads instead of a byte loop.
fn tail(rest: &[u8]) -> u64 {
    let n = rest.len();
    if n >= 4 {
        let low = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let high = u32::from_le_bytes([rest[n - 4], rest[n - 3], rest[n - 2], rest[n - 1]]);
        u64::from(low) | (u64::from(high) << 32)
    } else {
        u64::from(rest[0]) | (u64::from(rest[n / 2]) << 8) | (u64::from(rest[n - 1]) << 16)
    }
}

fn finish(hash: u64) -> u64 {
    let mut h = hash;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
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
    /// Room for `series` entries up front: growing rehashes them all.
    pub fn with_capacity(series: usize) -> Self {
        SeriesSet {
            first: HashIndex::with_capacity_and_hasher(series, BuildHasherDefault::default()),
            more: Vec::new(),
        }
    }

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

/// Whether the sample line `line` is the series `name` with `labels`
/// (empty values ignored, order ignored).
pub(super) fn same_series(line: &str, name: &str, labels: &[(&str, &str)]) -> bool {
    let mut theirs = Vec::new();
    let Ok(lex::Line::Sample(earlier)) = lex::line(line, &mut theirs) else {
        return false;
    };
    let mut ours: Labels<'_> = labels.to_vec();
    for list in [&mut theirs, &mut ours] {
        list.retain(|(_, v)| !v.is_empty());
        list.sort_unstable();
    }
    earlier.name == name && theirs == ours
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
    /// Some label has an empty value: worth a hint when parts are missing.
    pub blank_label: bool,
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

/// Counts are at most this: node_exporter converts them to `uint64`, and a
/// larger value comes out as 2^63 (served as 9.223372036854776e+18).
const COUNT_LIMIT: f64 = 18_446_744_073_709_551_616.0; // 2^64

/// A count as node_exporter stores it (`uint64`): whole, not negative,
/// below 2^64.
pub(super) fn is_count(value: f64) -> bool {
    (0.0..COUNT_LIMIT).contains(&value) && value.fract() == 0.0
}
