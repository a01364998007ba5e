//! Request ids (`Oapi-Sdk-Request-Id`) without a system call per call: one random UUID per
//! client, and per call that UUID with a counter folded into its low bits.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use reqwest::header::HeaderValue;
use uuid::Uuid;

/// The counter is folded into the low 62 bits, which leaves the version (4) and variant bits
/// of the random base untouched: every id still reads as a version-4 UUID.
const COUNTER_BITS: u128 = (1 << 62) - 1;

/// The length of a hyphenated UUID, the longest id kept.
const ID_LEN: usize = uuid::fmt::Hyphenated::LENGTH;

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
    pub(crate) fn next(&self) -> RequestId {
        let count = u128::from(self.next.fetch_add(1, Ordering::Relaxed)) & COUNTER_BITS;
        let mut id = RequestId {
            len: ID_LEN as u8,
            text: [0; ID_LEN],
        };
        Uuid::from_u128(self.base ^ count)
            .hyphenated()
            .encode_lower(&mut id.text);
        id
    }
}

/// A request id, kept inline: a call's errors and attempts copy it without allocating (a
/// `String` allocated on one worker thread is often freed on another, which glibc's malloc
/// makes expensive).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestId {
    len: u8,
    /// UTF-8 (ASCII for the ids [`RequestIds`] makes) up to `len`.
    text: [u8; ID_LEN],
}

impl RequestId {
    /// An id from its text, as a [`CallMeta`](crate::CallMeta) carries it. The client's ids
    /// are all [`ID_LEN`] bytes; longer text is cut at a character boundary.
    pub(crate) fn from_text(text: &str) -> Self {
        let mut len = text.len().min(ID_LEN);
        while !text.is_char_boundary(len) {
            len -= 1;
        }
        let mut id = RequestId {
            len: len as u8,
            text: [0; ID_LEN],
        };
        id.text[..len].copy_from_slice(&text.as_bytes()[..len]);
        id
    }

    pub(crate) fn as_str(&self) -> &str {
        // Always valid: the bytes come from a `str`, cut at a character boundary.
        std::str::from_utf8(self.as_ref()).unwrap_or_default()
    }

    /// The `Oapi-Sdk-Request-Id` header's value. Made once per call and cloned per attempt:
    /// the bytes are shared by reference count, so neither this nor the clones copy them.
    pub(crate) fn header_value(self) -> Option<HeaderValue> {
        HeaderValue::from_maybe_shared(Bytes::from_owner(self)).ok()
    }
}

impl AsRef<[u8]> for RequestId {
    fn as_ref(&self) -> &[u8] {
        &self.text[..usize::from(self.len)]
    }
}

/// As the text (a `String` showed it the same way before).
impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
            let id = ids.next().as_str().to_owned();
            let parsed = Uuid::parse_str(&id).unwrap();
            assert_eq!(parsed.get_version_num(), 4, "{id}");
            assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122, "{id}");
            assert_eq!(id, parsed.hyphenated().to_string());
            assert!(seen.insert(id));
        }
        let other = RequestIds::new();
        assert!(!seen.contains(other.next().as_str()));
    }

    #[test]
    fn ids_read_back_as_their_text() {
        let id = RequestIds::new().next();
        assert_eq!(RequestId::from_text(id.as_str()), id);
        assert_eq!(format!("{id:?}"), format!("{:?}", id.as_str()));
        assert_eq!(id.to_string(), id.as_str());
        let header = id.header_value().unwrap();
        assert_eq!(header.to_str().unwrap(), id.as_str());
        assert_eq!(RequestId::from_text("r").as_str(), "r");
        // Cut at a character boundary: 35 ASCII bytes and a 3-byte character.
        let long = format!("{}字", "a".repeat(35));
        assert_eq!(RequestId::from_text(&long).as_str(), "a".repeat(35));
    }
}
