//! Finding a key given twice in one JSON object, at any depth: parsers disagree on which value
//! counts, so such a record is ambiguous and refused.
//!
//! The parse ([`super::parse`]) notices that some object repeats a key; only then are the bytes
//! walked again here, for the first such key and its JSON path. The walk allocates little: the
//! path is a chain of borrowed steps on the stack, written out only for the duplicate found,
//! and an object's keys are compared in a short list (a hash set only for objects with many
//! keys).

use std::collections::HashSet;
use std::fmt;

/// Keys an object may have before they go into a hash set instead of a list.
const LIST_KEYS: usize = 16;

/// Where the walk is: the root, a key of an object, or an element of an array.
enum Step<'a> {
    Root,
    Key(&'a Step<'a>, &'a str),
    Index(&'a Step<'a>, usize),
}

impl fmt::Display for Step<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Root => f.write_str("$"),
            Step::Key(parent, key) => write!(f, "{parent}.{key}"),
            Step::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// The keys of one object seen so far.
enum Keys {
    List(Vec<String>),
    Set(HashSet<String>),
}

impl Keys {
    fn contains(&self, key: &str) -> bool {
        match self {
            Keys::List(keys) => keys.iter().any(|k| k == key),
            Keys::Set(keys) => keys.contains(key),
        }
    }

    fn insert(&mut self, key: String) {
        match self {
            Keys::List(keys) if keys.len() < LIST_KEYS => keys.push(key),
            Keys::List(keys) => {
                let mut set: HashSet<String> = keys.drain(..).collect();
                set.insert(key);
                *self = Keys::Set(set);
            }
            Keys::Set(keys) => {
                keys.insert(key);
            }
        }
    }
}

/// The JSON path and key of the first key that appears twice in one object, at any depth;
/// `None` if there is none (or the bytes are not JSON, which the caller reports).
/// `serde_json::Value` keeps the last of two equal keys silently, so the bytes are read again
/// with a visitor that sees every key.
pub(super) fn duplicate_key(bytes: &[u8]) -> Option<(String, String)> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::cell::RefCell;

    struct Walk<'a> {
        step: &'a Step<'a>,
        found: &'a RefCell<Option<(String, String)>>,
    }

    impl<'de> DeserializeSeed<'de> for Walk<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Walk<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut keys = Keys::List(Vec::new());
            while let Some(key) = map.next_key::<String>()? {
                {
                    let step = Step::Key(self.step, &key);
                    if self.found.borrow().is_none() && keys.contains(&key) {
                        *self.found.borrow_mut() = Some((step.to_string(), key.clone()));
                    }
                    map.next_value_seed(Walk {
                        step: &step,
                        found: self.found,
                    })?;
                }
                keys.insert(key);
            }
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut index = 0;
            loop {
                let step = Step::Index(self.step, index);
                let walk = Walk {
                    step: &step,
                    found: self.found,
                };
                if seq.next_element_seed(walk)?.is_none() {
                    return Ok(());
                }
                index += 1;
            }
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    }

    let found = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let walk = Walk {
        step: &Step::Root,
        found: &found,
    };
    walk.deserialize(&mut deserializer).ok()?;
    found.into_inner()
}
