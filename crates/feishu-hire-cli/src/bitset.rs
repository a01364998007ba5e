//! A growable set of record ordinals: one bit per record, so a million records take 125 KiB.

/// A set of small non-negative integers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bitset {
    words: Vec<u64>,
    len: u64,
}

impl Bitset {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `index`; returns whether it was new.
    pub fn insert(&mut self, index: u64) -> bool {
        let (word, mask) = Self::locate(index);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let fresh = self.words[word] & mask == 0;
        self.words[word] |= mask;
        self.len += u64::from(fresh);
        fresh
    }

    /// Removes `index`; returns whether it was there.
    pub fn remove(&mut self, index: u64) -> bool {
        let (word, mask) = Self::locate(index);
        let Some(slot) = self.words.get_mut(word) else {
            return false;
        };
        let present = *slot & mask != 0;
        *slot &= !mask;
        self.len -= u64::from(present);
        present
    }

    /// Whether `index` is in the set.
    pub fn contains(&self, index: u64) -> bool {
        let (word, mask) = Self::locate(index);
        self.words.get(word).is_some_and(|w| w & mask != 0)
    }

    /// Number of members.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn locate(index: u64) -> (usize, u64) {
        ((index / 64) as usize, 1 << (index % 64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_removes_and_counts() {
        let mut set = Bitset::new();
        assert!(set.insert(3));
        assert!(!set.insert(3));
        assert!(set.insert(1000));
        assert!(set.contains(3) && set.contains(1000) && !set.contains(4));
        assert_eq!(set.len(), 2);
        assert!(set.remove(3));
        assert!(!set.remove(3));
        assert!(!set.remove(1 << 40));
        assert_eq!(set.len(), 1);
    }
}
