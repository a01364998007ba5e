//! Request ids (`Oapi-Sdk-Request-Id`) without a system call per call: one random UUID per
//! client, and per call that UUID with a counter folded into its low bits.

use std::sync::atomic::{AtomicU64, Ordering};

use uuid::Uuid;

/// The counter is folded into the low 62 bits, which leaves the version (4) and variant bits
/// of the random base untouched: every id still reads as a version-4 UUID.
const COUNTER_BITS: u128 = (1 << 62) - 1;

/// Hands out a client's request ids, shared by its clones.
///
/// `Uuid::new_v4` per call costs a `getrandom` system call; here the randomness is drawn once
/// per client. Ids stay unique: within a client the counter makes each different (XOR with a
/// fixed base is one-to-one, for 2^62 calls), and two clients (or processes) share ids only if
/// their random bases agree in the 60 random bits above the counter.
pub(crate) struct RequestIds {
    base: u128,
    next: AtomicU64,
}

impl RequestIds {
    pub(crate) fn new() -> Self {
        Self {
            base: Uuid::new_v4().as_u128(),
            next: AtomicU64::new(0),
        }
    }

    /// The next id, as a hyphenated lowercase UUID.
    pub(crate) fn next(&self) -> String {
        let count = u128::from(self.next.fetch_add(1, Ordering::Relaxed)) & COUNTER_BITS;
        let id = Uuid::from_u128(self.base ^ count);
        id.hyphenated()
            .encode_lower(&mut Uuid::encode_buffer())
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_distinct_version_4_uuids() {
        let ids = RequestIds::new();
        let mut seen = HashSet::new();
        for _ in 0..10_000 {
            let id = ids.next();
            let parsed = Uuid::parse_str(&id).unwrap();
            assert_eq!(parsed.get_version_num(), 4, "{id}");
            assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122, "{id}");
            assert_eq!(id, parsed.hyphenated().to_string());
            assert!(seen.insert(id));
        }
        let other = RequestIds::new();
        assert!(!seen.contains(&other.next()));
    }
}
