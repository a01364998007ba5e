//! Reading JSON into a [`Value`] with every key taken literally.
//!
//! `serde_json`'s own `Value` reads a few keys beginning with `$` specially when some of its
//! features are on anywhere in the build: with `raw_value`,
//! `{"$serde_json::private::RawValue": "…"}` becomes the document inside the string, and with
//! `arbitrary_precision`, `{"$serde_json::private::Number": "…"}` a number. A body checked
//! through it may then not be the body sent: Feishu reads such a key as any other (a field it
//! does not know). [`parse_literally`] reads it as any other too.

use std::cell::Cell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// A JSON text read by [`parse_literally`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LiteralJson {
    /// The text's value, each key as written (unescaped); of a key given twice in one object,
    /// the last value, as with `serde_json`'s `Value`.
    pub value: Value,
    /// Whether an object in the text gives a key twice (which value counts differs between
    /// JSON readers).
    pub repeated_key: bool,
}

/// Reads `json` (one JSON value, with nothing but whitespace after it) as
/// `serde_json::from_slice::<Value>` does, except that every key is read literally (see the
/// module docs); the error is `serde_json`'s, with its line and column.
pub fn parse_literally(json: &[u8]) -> serde_json::Result<LiteralJson> {
    let repeated = Cell::new(false);
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let value = Build {
        repeated: &repeated,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(LiteralJson {
        value,
        repeated_key: repeated.get(),
    })
}

/// Builds a `Value` as `Value`'s own `Deserialize` does for keys not beginning with `$` (and
/// literally for those), noting in `repeated` whether an object gave a key twice.
#[derive(Clone, Copy)]
struct Build<'a> {
    repeated: &'a Cell<bool>,
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
            let value = map.next_value_seed(self)?;
            // `Value` keeps the last of two equal keys, as here.
            if object.insert(key, value).is_some() {
                self.repeated.set(true);
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_keys_are_read_as_written() {
        let text = br#"{"$serde_json::private::RawValue":"{\"a\":1}"}"#;
        let literal = parse_literally(text).unwrap();
        assert_eq!(
            literal.value,
            serde_json::json!({"$serde_json::private::RawValue": "{\"a\":1}"})
        );
        assert!(!literal.repeated_key);
    }

    #[test]
    fn values_read_as_serde_json_reads_them_and_repeats_are_noticed() {
        for (text, repeated) in [
            (
                r#"{"a":[1,-2,3.5,1e300,"x\u00e9",true,null,{}],"b":{"c":{}}}"#,
                false,
            ),
            (r#" {"a":1,"b":{"c":1,"c":2},"a":3} "#, true),
            (r#"[{"a":1},{"a":2}]"#, false),
            (r#""text""#, false),
        ] {
            let literal = parse_literally(text.as_bytes()).unwrap();
            let own: Value = serde_json::from_str(text).unwrap();
            assert_eq!(literal.value, own, "{text}");
            assert_eq!(literal.repeated_key, repeated, "{text}");
        }
        let broken: [&[u8]; 6] = [b"", b"{", br#"{"a":1} 2"#, b"[1,]", b"\"\xff\"", b"1e400"];
        for text in broken {
            assert_eq!(
                parse_literally(text).unwrap_err().to_string(),
                serde_json::from_slice::<Value>(text)
                    .unwrap_err()
                    .to_string(),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }
}
