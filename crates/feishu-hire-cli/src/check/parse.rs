//! Parsing a record's text into a [`Value`] with every key read literally
//! ([`parse_literally`]), noticing on the way whether an object gives a key twice, so that
//! only such a record is read again for [`duplicate_key`]'s path.

use feishu_hire_types::wire::parse_literally;
use serde_json::Value;

use super::duplicate_key::duplicate_key;

/// The record parsed into a `Value`, or its error, and the first key given twice in one
/// object as [`duplicate_key`] finds it (its JSON path and the key).
///
/// Every key is read literally: `serde_json`'s own `Value` reads
/// `{"$serde_json::private::RawValue": "…"}` as the document in the string (its `raw_value`
/// feature is on in this tree), and the check would then pass a record whose bytes, as sent,
/// are something else. Here such a key is a key like any other, which the request's schema
/// does not know, so the record is refused.
pub(super) fn parse(text: &str) -> serde_json::Result<(Value, Option<(String, String)>)> {
    let literal = parse_literally(text.as_bytes())?;
    let duplicate = if literal.repeated_key {
        duplicate_key(text.as_bytes())
    } else {
        None
    };
    Ok((literal.value, duplicate))
}
