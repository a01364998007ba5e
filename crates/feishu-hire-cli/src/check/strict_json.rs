//! Decoding a request straight from its text, refusing what its JSON Schema refuses, so that a
//! record that is valid as it stands is checked without building a `serde_json::Value`.
//!
//! A strict request type (see [`feishu_hire_types::wire`]) already refuses unknown fields,
//! repeated fields, unlisted enum values and wrong types. `serde_json` still lets a derived
//! type read two things the schema forbids: `null` for an optional field (read as unset), and
//! a struct written as an array of its fields in order. [`Strict`] wraps the deserializer at
//! every level and refuses both; everything else passes through unchanged.
//!
//! A decode that fails here says nothing about the record: the full check runs and says what
//! is wrong. So only the other direction matters, and `equivalence_tests` holds it: whatever
//! decodes here passes the schema and decodes to the same request in the full check; the
//! importer's own rules (blank ids, derived ids, warnings under `--strict`) are applied by
//! `Checker::check_valid_as_it_stands`, which leaves such records to the full check.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};

/// The record `text` as `T`, if it is exactly one JSON value that `T` reads strictly: no
/// `null`, and structs only as JSON objects.
pub(super) fn decode<T: DeserializeOwned>(text: &str) -> Option<T> {
    let mut json = serde_json::Deserializer::from_str(text);
    let decoded = T::deserialize(Strict(&mut json)).ok()?;
    json.end().ok()?;
    Some(decoded)
}

/// Wraps each part of a decode (deserializer, visitor, seed, access) so that the parts it
/// hands out are wrapped too.
struct Strict<T>(T);

/// Deserializer methods that pass the visitor through, wrapped.
macro_rules! forward_wrapped {
    ($($method:ident$(($($arg:ident: $ty:ty),*))?),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($($arg: $ty,)*)? visitor: V) -> Result<V::Value, Self::Error> {
                self.0.$method($($($arg,)*)? Strict(visitor))
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    forward_wrapped! {
        deserialize_any, deserialize_bool, deserialize_i8, deserialize_i16, deserialize_i32,
        deserialize_i64, deserialize_i128, deserialize_u8, deserialize_u16, deserialize_u32,
        deserialize_u64, deserialize_u128, deserialize_f32, deserialize_f64, deserialize_char,
        deserialize_str, deserialize_string, deserialize_bytes, deserialize_byte_buf,
        deserialize_option, deserialize_unit, deserialize_seq, deserialize_map,
        deserialize_identifier, deserialize_ignored_any,
        deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
    }

    /// A struct is read as a map, so only a JSON object makes one.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_map(Strict(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// Visitor methods that pass a plain value through.
macro_rules! forward_values {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, value: $ty) -> Result<Self::Value, E> {
                self.0.$method(value)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Strict<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    forward_values! {
        visit_bool(bool), visit_i8(i8), visit_i16(i16), visit_i32(i32), visit_i64(i64),
        visit_i128(i128), visit_u8(u8), visit_u16(u16), visit_u32(u32), visit_u64(u64),
        visit_u128(u128), visit_f32(f32), visit_f64(f64), visit_char(char), visit_str(&str),
        visit_borrowed_str(&'de str), visit_string(String), visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]), visit_byte_buf(Vec<u8>),
    }

    /// `null` where an optional value may be: the schema has no `null` anywhere.
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(E::invalid_type(Unexpected::Option, &self))
    }

    /// `null` read as a unit: refused for the same reason.
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(E::invalid_type(Unexpected::Unit, &self))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.0.visit_some(Strict(deserializer))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        self.0.visit_newtype_struct(Strict(deserializer))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(Strict(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(Strict(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.0.visit_enum(Strict(data))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Strict<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Strict(deserializer))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Strict(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Strict(seed))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(Strict(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Strict<A> {
    type Error = A::Error;
    type Variant = Strict<A::Variant>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), A::Error> {
        self.0
            .variant_seed(Strict(seed))
            .map(|(value, variant)| (value, Strict(variant)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Strict(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Strict(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, Strict(visitor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use feishu_hire_types::CreateExternalInterviewRequest;

    fn request(text: &str) -> Option<CreateExternalInterviewRequest> {
        decode(text)
    }

    #[test]
    fn what_plain_serde_json_lets_through_is_refused() {
        // Each of these decodes with `serde_json::from_str`, which is why the wrapper exists.
        let refused = [
            r#"{"external_application_id":"1","external_id":null}"#,
            r#"{"external_application_id":"1","participate_status":null}"#,
            r#"["7396034232747641133","1"]"#,
            r#"{"external_application_id":"1","interview_assessments":[["e","u"]]}"#,
            r#"{"external_application_id":"1","interview_assessments":[{"assessment_dimension_list":[[99]]}]}"#,
            r#"{"external_application_id":"1","interview_assessments":[{"username":null}]}"#,
        ];
        for text in refused {
            assert!(
                serde_json::from_str::<CreateExternalInterviewRequest>(text).is_ok(),
                "{text}"
            );
            assert_eq!(request(text), None, "{text}");
        }
    }

    #[test]
    fn a_record_valid_as_it_stands_decodes_as_serde_json_decodes_it() {
        let texts = [
            r#"{"external_application_id":"1"}"#,
            r#" { "external_application_id" : "a\"b\u00e9" , "begin_time" : -1 } "#,
            r#"{"external_id":"e","external_application_id":"1","participate_status":3,"interview_assessments":[{"conclusion":2,"assessment_dimension_list":[{"assessment_type":4,"options":["A","B"]},{"score":-2147483648}]}]}"#,
        ];
        for text in texts {
            let plain: CreateExternalInterviewRequest = serde_json::from_str(text).unwrap();
            assert_eq!(request(text), Some(plain), "{text}");
        }
    }

    #[test]
    fn anything_after_the_record_or_a_strict_refusal_fails_the_decode() {
        for text in [
            r#"{"external_application_id":"1"} {}"#,
            r#"{"external_application_id":"1","external_application_id":"2"}"#,
            r#"{"external_application_id":"1","x":1}"#,
            r#"{"external_application_id":"1","participate_status":9}"#,
            r#"{"external_application_id":"1","participate_status":1.0}"#,
            r#"{"external_application_id":"1","begin_time":"1618500278638"}"#,
            r#"{"external_application_id":"1","interview_assessments":null}"#,
            r#"{"external_application_id":"1","interview_assessments":[{"assessment_dimension_list":[{"score":2147483648}]}]}"#,
            "",
            "null",
        ] {
            assert_eq!(request(text), None, "{text}");
        }
    }
}
