//! Finding records that share an `external_id`, in memory that does not grow with the input.
//!
//! Feishu keeps one interview per `external_id` (for 24 h), so of two records with the same
//! id only one can be created: the importer sends the first and reports the others before
//! anything is sent.
//!
//! A set of every id would take tens of MiB for a million records, so the scan is in two
//! steps: a fixed 2 MiB Bloom filter ([`SeenIds`]) remembers the ids seen; an id it has
//! (probably) seen before becomes a *candidate*. Only if there are candidates is the input
//! read a second time, when [`FirstUse`] remembers the first record of each candidate and
//! reports the later ones. False positives of the filter only cost a few candidates
//! (about 0.2% of the ids at a million records); they are never reported.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

/// Bits in the filter: 2^24 = 16 Mi bits = 2 MiB.
const FILTER_BITS: u64 = 1 << 24;
/// Bits set per id.
const HASHES: u64 = 4;

/// The first step: a Bloom filter over the ids seen, and the ids seen (probably) twice.
#[derive(Debug, Clone)]
pub struct SeenIds {
    bits: Vec<u64>,
    candidates: HashSet<String>,
}

impl Default for SeenIds {
    fn default() -> Self {
        Self::new()
    }
}

impl SeenIds {
    /// An empty filter.
    pub fn new() -> Self {
        Self {
            bits: vec![0; (FILTER_BITS / 64) as usize],
            candidates: HashSet::new(),
        }
    }

    /// Notes `id`; if it was (probably) seen before, it becomes a candidate.
    pub fn insert(&mut self, id: &str) {
        // `DefaultHasher::new()` has fixed keys, so positions are the same on every run.
        let mut hasher = DefaultHasher::new();
        id.hash(&mut hasher);
        let hash = hasher.finish();
        let (first, step) = (hash & 0xffff_ffff, (hash >> 32) | 1);
        let mut all_set = true;
        for i in 0..HASHES {
            let bit = first.wrapping_add(i.wrapping_mul(step)) % FILTER_BITS;
            let (word, mask) = ((bit / 64) as usize, 1u64 << (bit % 64));
            if let Some(slot) = self.bits.get_mut(word) {
                all_set &= *slot & mask != 0;
                *slot |= mask;
            }
        }
        if all_set {
            self.candidates.insert(id.to_owned());
        }
    }

    /// Whether no id may have been seen twice (then no second pass is needed).
    pub fn no_candidates(&self) -> bool {
        self.candidates.is_empty()
    }

    /// The second step, over the candidates.
    pub fn into_first_use(self) -> FirstUse {
        FirstUse {
            first: self.candidates.into_iter().map(|id| (id, None)).collect(),
        }
    }
}

/// The second step: the first record of each candidate id.
#[derive(Debug, Clone, Default)]
pub struct FirstUse {
    first: HashMap<String, Option<u64>>,
}

impl FirstUse {
    /// Notes that the record on `line` uses `id`; returns the line of an earlier record
    /// with the same id.
    pub fn earlier_use(&mut self, id: &str, line: u64) -> Option<u64> {
        match self.first.get_mut(id) {
            None => None,
            Some(slot @ None) => {
                *slot = Some(line);
                None
            }
            Some(Some(first)) => Some(*first),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_become_candidates_and_are_resolved_to_their_first_line() {
        let ids = ["a", "b", "a", "c", "b", "a"];
        let mut seen = SeenIds::new();
        for id in ids {
            seen.insert(id);
        }
        assert!(!seen.no_candidates());
        let mut first = seen.into_first_use();
        let found: Vec<Option<u64>> = ids
            .iter()
            .zip(1..)
            .map(|(id, line)| first.earlier_use(id, line))
            .collect();
        assert_eq!(found, vec![None, None, Some(1), None, Some(2), Some(1)]);
    }

    #[test]
    fn distinct_ids_give_few_false_candidates() {
        let mut seen = SeenIds::new();
        for i in 0..100_000 {
            seen.insert(&format!("interview-{i}"));
        }
        // Expected false-positive rate at 100k ids: well under 0.01%.
        assert!(seen.candidates.len() < 10, "{}", seen.candidates.len());
        let mut first = seen.into_first_use();
        for i in 0..100_000 {
            assert_eq!(first.earlier_use(&format!("interview-{i}"), i), None);
        }
    }
}
