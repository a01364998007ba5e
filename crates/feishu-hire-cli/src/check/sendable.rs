//! What the importer's sending pass takes from a record the check found valid: the request to
//! send (the record's own bytes, unless its `external_id` is derived), read without checking
//! the record again, and, only for the few records that need it, its application.

use bytes::Bytes;
use feishu_hire_client::EncodedCreate;
use serde::Deserialize;

use super::{Checker, ValidRecord};

impl Checker {
    /// The request of a record that [`Checker::check_bytes`] found valid, read from the same
    /// bytes without checking them again (`None` if they do not read so: they are not bytes
    /// it found valid). Only for bytes known to be the ones checked: the importer's sending
    /// pass verifies the input against the checking pass's digests as it reads (by the SHA-256
    /// of the prefixes of the input), so that each record is checked once, and what it sends
    /// are the very bytes checked. Only their `external_id` is read; a record whose
    /// `external_id` is to be derived is decoded, as [`Checker::check_value`] decodes it, and
    /// encoded again with it.
    pub(crate) fn sendable(&self, bytes: Bytes) -> Option<EncodedCreate> {
        let request = EncodedCreate::new(bytes).ok()?;
        if request.external_id().is_some() || !self.derives_ids() {
            return Some(request);
        }
        // Read as the check read it (keys as written), so the same id is derived.
        let value = feishu_hire_types::wire::parse_literally(request.body())
            .ok()?
            .value;
        let decoded = Deserialize::deserialize(&value).ok()?;
        sendable_of(self.valid_record(decoded, &value), request.body().clone())
    }
}

/// The request of `valid`, the record checked from `bytes`.
pub(crate) fn sendable_of(valid: ValidRecord, bytes: Bytes) -> Option<EncodedCreate> {
    let body = if valid.derived {
        // Our request types always serialize.
        Bytes::from(serde_json::to_vec(&valid.request).ok()?)
    } else {
        bytes
    };
    EncodedCreate::new(body).ok()
}

/// The `external_id` of a record, if it is a JSON object with a string there (read without the
/// rest of the record; for a record the check found valid, the id it checked).
pub(crate) fn external_id_of(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Id {
        external_id: Option<String>,
    }
    serde_json::from_slice::<Id>(body).ok()?.external_id
}

/// The `external_application_id` of a request's body (needed only when its record must be
/// looked up in the target, so not read for every record).
pub(crate) fn application_of(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Application {
        external_application_id: String,
    }
    serde_json::from_slice::<Application>(body)
        .ok()
        .map(|application| application.external_application_id)
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

    /// The request as the check decided it (the sending pass must agree), after checking that
    /// its body decodes to the very request the check decoded.
    fn checked(checker: &Checker, record: &str) -> EncodedCreate {
        let valid = checker.check_bytes(record.as_bytes(), None).valid.unwrap();
        let decoded = valid.request.clone();
        let request = sendable_of(valid, Bytes::copy_from_slice(record.as_bytes())).unwrap();
        let sent: feishu_hire_types::CreateExternalInterviewRequest =
            serde_json::from_slice(request.body()).unwrap();
        assert_eq!(sent, decoded);
        request
    }

    #[test]
    fn a_record_with_its_own_id_is_sent_as_its_bytes() {
        let record = RECORD.replacen('{', r#"{"external_id": "ext-\u0031","#, 1);
        let request = checker(true).sendable(Bytes::from(record.clone())).unwrap();
        assert_eq!(request.body(), record.as_bytes());
        assert_eq!(request.external_id(), Some("ext-1"));
        assert_eq!(application_of(request.body()).as_deref(), Some("app-1"));
        assert_eq!(request, checked(&checker(true), &record));
    }

    #[test]
    fn a_record_without_an_id_is_sent_as_its_bytes_unless_one_is_derived() {
        let plain = checker(false)
            .sendable(Bytes::from_static(RECORD.as_bytes()))
            .unwrap();
        assert_eq!(plain.body(), RECORD.as_bytes());
        assert_eq!(plain, checked(&checker(false), RECORD));

        let derived = checker(true)
            .sendable(Bytes::from_static(RECORD.as_bytes()))
            .unwrap();
        let id = derived.external_id().unwrap();
        let body: serde_json::Value = serde_json::from_slice(derived.body()).unwrap();
        assert_eq!(body["external_id"], id);
        assert_eq!(body["begin_time"], 1_618_500_278_638_i64);
        assert_eq!(application_of(derived.body()).as_deref(), Some("app-1"));
        assert_eq!(derived, checked(&checker(true), RECORD));
    }

    #[test]
    fn bytes_that_are_no_checked_record_are_not_sendable() {
        for bytes in ["", "[]", r#"{"external_id": 1}"#] {
            assert_eq!(
                checker(false).sendable(Bytes::from_static(bytes.as_bytes())),
                None
            );
        }
    }
}
