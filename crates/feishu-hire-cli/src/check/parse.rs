//! Parsing a record's text into a [`Value`], noticing on the way whether an object gives a key
//! twice, so that only such a record is read again for [`duplicate_key`]'s path.

use std::cell::Cell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::duplicate_key::duplicate_key;

/// The keys the parse saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keys {
    /// Every object's keys are distinct.
    Distinct,
    /// An object gives a key twice.
    Repeated,
    /// A key begins with `$`. When it builds a `Value`, `serde_json` reads some such keys
    /// specially (a raw value or an arbitrary-precision number, first in an object, with those
    /// features on), so the record is parsed again by `serde_json` itself. No key of the
    /// request begins with `$`, so such a record is invalid anyway.
    Special,
}

/// The record parsed as `serde_json::from_str::<Value>` parses it, or its error, and the
/// first key given twice in one object as [`duplicate_key`] finds it (its JSON path and the
/// key).
pub(super) fn parse(text: &str) -> serde_json::Result<(Value, Option<(String, String)>)> {
    let keys = Cell::new(Keys::Distinct);
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = Build { keys: &keys }
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    match (keys.get(), parsed) {
        (Keys::Special, _) => {
            let value = serde_json::from_str(text)?;
            Ok((value, duplicate_key(text.as_bytes())))
        }
        (_, Err(error)) => Err(error),
        (Keys::Distinct, Ok(value)) => Ok((value, None)),
        (Keys::Repeated, Ok(value)) => Ok((value, duplicate_key(text.as_bytes()))),
    }
}

/// Builds a `Value` as `Value`'s own `Deserialize` does (for keys not beginning with `$`),
/// noting in `keys` what it saw.
#[derive(Clone, Copy)]
struct Build<'a> {
    keys: &'a Cell<Keys>,
}

impl<'de> DeserializeSeed<'de> for Build<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Build<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key.starts_with('$') {
                self.keys.set(Keys::Special);
            }
            let value = map.next_value_seed(self)?;
            // `Value` keeps the last of two equal keys, as here.
            if object.insert(key, value).is_some() && self.keys.get() == Keys::Distinct {
                self.keys.set(Keys::Repeated);
            }
        }
        Ok(Value::Object(object))
    }
}
