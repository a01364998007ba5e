//! How values cross the wire: **strict requests, lenient responses**. This is the one place
//! the rule is written down; the generated code only points here.
//!
//! We send exactly what Feishu documents, and we accept whatever a newer or sloppier Feishu
//! may answer without breaking the caller's program:
//!
//! | On the wire                         | Request types (sent)                      | Response types (received)                 |
//! |-------------------------------------|-------------------------------------------|-------------------------------------------|
//! | unset optional field                | left out, never `null`                    | left out when re-encoded; `null` reads as unset |
//! | unknown field                       | refused when decoding (`deny_unknown_fields`) | ignored                               |
//! | enum value the spec does not list   | cannot be built; refused when decoding    | kept as `Unknown(..)`, re-encoded unchanged |
//! | int64 written as a string `"123"`   | refused                                   | accepted as the number                    |
//! | integer written as `7200.0`         | refused                                   | accepted as `7200`; a fraction is refused |
//! | list written as `null`              | refused                                   | read as empty                             |
//! | integers                            | always encoded as JSON numbers            | always encoded as JSON numbers            |
//!
//! The JSON Schemas follow the same split: request schemas forbid unknown properties and list
//! the allowed enum values; response schemas allow unknown properties. A response schema still
//! lists the documented enum values and integer types, so it is *stricter* than the Rust
//! decoding of responses; `spec/README.md` lists these differences.
//!
//! Generated code uses the helpers below through `#[serde(deserialize_with = "…")]`:
//! [`strict`] on request types, [`lenient`] on response types.
//!
//! A body checked as a `serde_json::Value` (against a JSON Schema, say) is best read with
//! [`parse_literally`], which takes every key as written, as Feishu does, where `Value`'s own
//! reading turns a few `$serde_json::private::…` keys into something else.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

mod literal;

pub use literal::{LiteralJson, parse_literally};

/// An enum value the spec does not list, as received from the server.
///
/// Only decoding creates one, so a request can carry an unlisted value only by echoing a
/// response, never by mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnknownValue(i64);

impl UnknownValue {
    /// The integer as received.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Stands in for a secret in `Debug` output.
#[derive(Clone, Copy)]
pub struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// An integer enumeration of the specs. Implemented by every generated enum.
pub trait WireEnum: Copy + Sized + 'static {
    /// The Rust type name, for messages.
    const TYPE_NAME: &'static str;
    /// The integers the spec lists, in spec order.
    const KNOWN_VALUES: &'static [i64];
    /// The listed variant for an integer.
    fn from_known_value(value: i64) -> Option<Self>;
    /// The `Unknown` variant.
    fn from_unknown(value: UnknownValue) -> Self;
    /// The integer on the wire.
    fn value(self) -> i64;
    /// The snake_case name; `None` for `Unknown`.
    fn name(self) -> Option<&'static str>;
}

/// `Display` of generated enums: the snake_case name, or the bare integer of an unknown value.
pub fn display_enum<E: WireEnum>(value: E, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match value.name() {
        Some(name) => f.write_str(name),
        None => write!(f, "{}", value.value()),
    }
}

/// A text that is neither a listed name nor a listed integer of an enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseEnumError {
    type_name: &'static str,
    input: String,
    expected: String,
}

impl fmt::Display for ParseEnumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a {}; expected one of {}",
            self.input, self.type_name, self.expected
        )
    }
}

impl std::error::Error for ParseEnumError {}

fn expected_list<E: WireEnum>() -> String {
    E::KNOWN_VALUES
        .iter()
        .filter_map(|v| E::from_known_value(*v))
        .map(|e| format!("{} ({})", e.name().unwrap_or("?"), e.value()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `FromStr` of generated enums: a listed name (`participated`) or a listed integer (`2`).
pub fn parse_enum<E: WireEnum>(text: &str) -> Result<E, ParseEnumError> {
    let trimmed = text.trim();
    let found = E::KNOWN_VALUES
        .iter()
        .filter_map(|v| E::from_known_value(*v))
        .find(|e| e.name() == Some(trimmed) || trimmed.parse::<i64>().ok() == Some(e.value()));
    found.ok_or_else(|| ParseEnumError {
        type_name: E::TYPE_NAME,
        input: text.to_owned(),
        expected: expected_list::<E>(),
    })
}

/// Accepts an integer as a JSON number; when `lenient`, also as a string holding one or as a
/// float without a fraction.
struct IntVisitor {
    lenient: bool,
}

impl Visitor<'_> for IntVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lenient {
            f.write_str("an integer, or a string holding one")
        } else {
            f.write_str("an integer")
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        // Lenient only: some servers write integers as `7200.0`. A fraction is still an error.
        let whole = v.fract() == 0.0 && v >= i64::MIN as f64 && v < i64::MAX as f64;
        if self.lenient && whole {
            Ok(v as i64)
        } else {
            Err(E::invalid_type(de::Unexpected::Float(v), &self))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        if !self.lenient {
            return Err(E::invalid_type(de::Unexpected::Str(v), &self));
        }
        v.trim()
            .parse()
            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

/// Lenient decoding for response types.
pub mod lenient {
    use super::*;

    fn int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        deserializer.deserialize_any(IntVisitor { lenient: true })
    }

    /// An integer newtype that decodes leniently, for use inside `Option` and `Vec`.
    struct LenientInt(i64);

    impl<'de> Deserialize<'de> for LenientInt {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            int(deserializer).map(LenientInt)
        }
    }

    /// Any integer, or a string holding one; unlisted values become `Unknown`.
    pub fn enum_value<'de, D: Deserializer<'de>, E: WireEnum>(
        deserializer: D,
    ) -> Result<E, D::Error> {
        let value = int(deserializer)?;
        Ok(E::from_known_value(value).unwrap_or_else(|| E::from_unknown(UnknownValue(value))))
    }

    /// An `i64`, also from a string such as `"1618500278638"`.
    pub fn i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        int(deserializer)
    }

    /// An optional `i64`, also from a string; `null` is `None`.
    pub fn option_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
        Ok(Option::<LenientInt>::deserialize(deserializer)?.map(|v| v.0))
    }

    fn narrow<E: de::Error>(value: i64) -> Result<i32, E> {
        i32::try_from(value)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(value), &"a 32-bit integer"))
    }

    /// An `i32`, also from a string.
    pub fn i32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
        narrow(int(deserializer)?)
    }

    /// An optional `i32`, also from a string; `null` is `None`.
    pub fn option_i32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i32>, D::Error> {
        Option::<LenientInt>::deserialize(deserializer)?
            .map(|v| narrow(v.0))
            .transpose()
    }

    /// A list; `null` is the empty list.
    pub fn vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Vec<T>, D::Error> {
        Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
    }

    /// A list of `i64`, each also from a string; `null` is the empty list.
    pub fn i64_vec<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<i64>, D::Error> {
        Ok(vec::<D, LenientInt>(deserializer)?
            .into_iter()
            .map(|v| v.0)
            .collect())
    }

    /// A list of `i32`, each also from a string; `null` is the empty list.
    pub fn i32_vec<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<i32>, D::Error> {
        vec::<D, LenientInt>(deserializer)?
            .into_iter()
            .map(|v| narrow(v.0))
            .collect()
    }
}

/// Strict decoding for request types: only listed enum values, integers as numbers.
pub mod strict {
    use super::*;

    fn known<E: WireEnum, Err: de::Error>(value: i64) -> Result<E, Err> {
        E::from_known_value(value).ok_or_else(|| {
            Err::custom(format!(
                "invalid value {value} for {}: expected one of {}",
                E::TYPE_NAME,
                expected_list::<E>()
            ))
        })
    }

    /// A JSON integer the spec lists for `E`.
    struct StrictEnum<E>(E);

    impl<'de, E: WireEnum> Deserialize<'de> for StrictEnum<E> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let value = deserializer.deserialize_any(IntVisitor { lenient: false })?;
            known(value).map(StrictEnum)
        }
    }

    /// A JSON integer the spec lists for `E`.
    pub fn enum_value<'de, D: Deserializer<'de>, E: WireEnum>(
        deserializer: D,
    ) -> Result<E, D::Error> {
        StrictEnum::deserialize(deserializer).map(|v| v.0)
    }

    /// An optional listed JSON integer.
    pub fn option_enum<'de, D: Deserializer<'de>, E: WireEnum>(
        deserializer: D,
    ) -> Result<Option<E>, D::Error> {
        Ok(Option::<StrictEnum<E>>::deserialize(deserializer)?.map(|v| v.0))
    }

    /// A list of listed JSON integers.
    pub fn enum_vec<'de, D: Deserializer<'de>, E: WireEnum>(
        deserializer: D,
    ) -> Result<Vec<E>, D::Error> {
        Ok(Vec::<StrictEnum<E>>::deserialize(deserializer)?
            .into_iter()
            .map(|v| v.0)
            .collect())
    }
}
