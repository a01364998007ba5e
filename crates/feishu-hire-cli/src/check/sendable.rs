//! What the importer's sending pass takes from a record the check found valid: the body to
//! send (the record's own bytes, unless its `external_id` is derived), its `external_id` and
//! its application, read without checking the record again.

use bytes::Bytes;
use serde::Deserialize;

use super::{Checker, ValidRecord};

/// A valid record, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sendable {
    /// The request body: the record's bytes as checked, or, when its `external_id` was
    /// derived, the checked request with that id, encoded.
    pub(crate) body: Bytes,
    /// The `external_id` used for deduplication (the record's own, or derived), if any.
    pub(crate) external_id: Option<String>,
    /// Its `external_application_id`.
    pub(crate) application: String,
}

impl Sendable {
    /// The body of `valid`, the record checked from `bytes`.
    pub(crate) fn of_valid(valid: ValidRecord, bytes: Bytes) -> Option<Self> {
        let body = if valid.derived {
            // Our request types always serialize.
            Bytes::from(serde_json::to_vec(&valid.request).ok()?)
        } else {
            bytes
        };
        Some(Self {
            body,
            external_id: valid.external_id,
            application: valid.request.external_application_id,
        })
    }
}

/// The two fields the sending pass needs; serde skips the others without building them.
#[derive(Deserialize)]
struct Keys {
    external_id: Option<String>,
    external_application_id: String,
}

impl Checker {
    /// What the sending pass needs of a record that [`Checker::check_bytes`] found valid, read
    /// from the same bytes without checking them again (`None` if they do not read so: they
    /// are not bytes it found valid). Only for bytes known to be the ones checked: the
    /// importer's sending pass verifies the input against the checking pass's digests as it
    /// reads (by the SHA-256 of the prefixes of the input), so that each record is checked
    /// once, and what it sends are the very bytes checked. Only a record whose `external_id`
    /// is to be derived is decoded, as [`Checker::check_value`] decodes it, and encoded again.
    pub(crate) fn sendable(&self, bytes: Bytes) -> Option<Sendable> {
        let keys: Keys = serde_json::from_slice(&bytes).ok()?;
        if keys.external_id.is_none() && self.derives_ids() {
            let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
            let request = Deserialize::deserialize(&value).ok()?;
            return Sendable::of_valid(self.valid_record(request, &value), bytes);
        }
        Some(Sendable {
            body: bytes,
            external_id: keys.external_id,
            application: keys.external_application_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CheckOptions;

    const RECORD: &str = r#"{ "external_application_id": "app-1", "participate_status": 1,
        "begin_time": 1618500278638, "end_time": 1618500278639 }"#;

    fn checker(derive: bool) -> Checker {
        Checker::new(CheckOptions {
            derive_external_ids: derive,
            ..CheckOptions::default()
        })
        .unwrap()
    }

    /// What the check decided, as the sending pass must see it.
    fn checked(checker: &Checker, record: &str) -> Sendable {
        let valid = checker.check_bytes(record.as_bytes(), None).valid.unwrap();
        Sendable::of_valid(valid, Bytes::copy_from_slice(record.as_bytes())).unwrap()
    }

    #[test]
    fn a_record_with_its_own_id_is_sent_as_its_bytes() {
        let record = RECORD.replacen('{', r#"{"external_id": "ext-\u0031","#, 1);
        let sendable = checker(true).sendable(Bytes::from(record.clone())).unwrap();
        assert_eq!(sendable.body, record.as_bytes());
        assert_eq!(sendable.external_id.as_deref(), Some("ext-1"));
        assert_eq!(sendable.application, "app-1");
        assert_eq!(sendable, checked(&checker(true), &record));
    }

    #[test]
    fn a_record_without_an_id_is_sent_as_its_bytes_unless_one_is_derived() {
        let plain = checker(false).sendable(Bytes::from_static(RECORD.as_bytes()));
        assert_eq!(plain.as_ref().map(|s| &s.body[..]), Some(RECORD.as_bytes()));
        assert_eq!(plain, Some(checked(&checker(false), RECORD)));

        let derived = checker(true)
            .sendable(Bytes::from_static(RECORD.as_bytes()))
            .unwrap();
        let id = derived.external_id.clone().unwrap();
        let body: serde_json::Value = serde_json::from_slice(&derived.body).unwrap();
        assert_eq!(body["external_id"], id.as_str());
        assert_eq!(body["begin_time"], 1_618_500_278_638_i64);
        assert_eq!(derived, checked(&checker(true), RECORD));
    }

    #[test]
    fn bytes_that_are_no_checked_record_are_not_sendable() {
        for bytes in ["", "[]", "{}", r#"{"external_application_id": 1}"#] {
            assert_eq!(
                checker(false).sendable(Bytes::from_static(bytes.as_bytes())),
                None
            );
        }
    }
}
