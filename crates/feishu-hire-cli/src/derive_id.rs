//! `--derive-external-id`: a stable `external_id` for a record that has none.
//!
//! Feishu deduplicates creates by `external_id` (24 h), so a record without one cannot be
//! retried safely. With `--derive-external-id` the importer gives such a record the id
//!
//! ```text
//! fh1-<first 32 hex digits of SHA-256(canonical JSON of the record)>
//! ```
//!
//! where the canonical JSON is the record as read from the input with
//! - object keys sorted by Unicode code point (byte order of their UTF-8), at every level;
//! - no blank space between tokens;
//! - strings and numbers written as `serde_json` writes them (strings escape only `"`, `\` and
//!   control characters; non-ASCII text stays UTF-8; integers in plain decimal).
//!
//! So the same record always gets the same id, in any file, on any run, in any key order or
//! indentation; two records that differ in any value get different ids. `fh1` names this
//! scheme; a different scheme would use a different prefix. A record that has an
//! `external_id` keeps it.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::input::hex;

/// The prefix of derived ids (scheme version 1).
pub const DERIVED_ID_PREFIX: &str = "fh1-";

/// The derived `external_id` of a record; see the module docs.
pub fn derive_external_id(record: &Value) -> String {
    let mut canonical = Vec::new();
    write_canonical(record, &mut canonical);
    let digest = Sha256::digest(&canonical);
    format!("{DERIVED_ID_PREFIX}{}", &hex(&digest)[..32])
}

/// Writes `value` as canonical JSON (see the module docs).
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            // Sorted here rather than trusting the map's order: `serde_json`'s
            // `preserve_order` feature, if any crate in the build turns it on, keeps input order.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_scalar(&Value::String(key.clone()), out);
                out.push(b':');
                write_canonical(item, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_scalar(value: &Value, out: &mut Vec<u8>) {
    // Writing a scalar `Value` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(out, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_and_spacing_do_not_change_the_id() {
        let a: Value = serde_json::from_str(
            r#"{"external_application_id":"1","begin_time":5,"interview_assessments":[{"username":"张三","conclusion":2}]}"#,
        )
        .unwrap();
        let b: Value = serde_json::from_str(
            "{ \"interview_assessments\" : [ { \"conclusion\":2, \"username\":\"张三\" } ],\n \"begin_time\":5, \"external_application_id\":\"1\" }",
        )
        .unwrap();
        assert_eq!(derive_external_id(&a), derive_external_id(&b));
    }

    #[test]
    fn any_value_change_changes_the_id() {
        let a = json!({"external_application_id": "1", "begin_time": 5});
        let b = json!({"external_application_id": "1", "begin_time": 6});
        assert_ne!(derive_external_id(&a), derive_external_id(&b));
    }

    #[test]
    fn the_canonical_form_is_documented_and_stable() {
        let value = json!({"b": [1, {"z": null, "a": "é\"\n"}], "a": true});
        let mut out = Vec::new();
        write_canonical(&value, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a":true,"b":[1,{"a":"é\"\n","z":null}]}"#
        );
        // Pinned: changing the scheme would make re-runs create duplicates in Feishu.
        assert_eq!(
            derive_external_id(&json!({"external_application_id": "6960663240925956437"})),
            "fh1-4668537aafc1e51368c503044088b486"
        );
    }
}
