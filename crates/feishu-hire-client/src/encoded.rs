//! Calls whose request body the caller has already encoded (and, typically, checked against
//! the endpoint's JSON Schema): the client sends those very bytes, reading only the
//! idempotency key out of them, so a body is neither decoded into its type nor encoded again.

use std::fmt;

use bytes::Bytes;
use feishu_hire_types::{CREATE_EXTERNAL_INTERVIEW, Endpoint, Idempotency};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::client::{Client, CreateOutcome, Outgoing};
use crate::error::Error;

impl Client {
    /// Creates an external interview from its request body already encoded as JSON: what
    /// [`create_external_interview`](Self::create_external_interview) would send for a
    /// [`CreateExternalInterviewRequest`](feishu_hire_types::CreateExternalInterviewRequest).
    /// Every attempt sends these very bytes.
    ///
    /// The client reads only the body's `external_id` (which decides, as there, whether the
    /// call may be retried after an attempt that may have taken effect); it does not check the
    /// rest, which is the caller's to vouch for, for example by validating it against
    /// [`schemas::CREATE_EXTERNAL_INTERVIEW_REQUEST`](feishu_hire_types::schemas::CREATE_EXTERNAL_INTERVIEW_REQUEST)
    /// as `feishu-hire import` does. A body that is not a JSON object, or whose `external_id`
    /// is not a string or appears twice, is refused before anything is sent.
    ///
    /// ```no_run
    /// # async fn run(client: feishu_hire_client::Client) -> Result<(), feishu_hire_client::Error> {
    /// let body = br#"{"external_id":"ext-1","external_application_id":"6960663240925956437",
    ///     "participate_status":1,"begin_time":1618500278638,"end_time":1618500278639}"#;
    /// let outcome = client
    ///     .create_external_interview_from_json(bytes::Bytes::from_static(body))
    ///     .await?;
    /// println!("created: {}", outcome.is_created());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn create_external_interview_from_json(
        &self,
        body: Bytes,
    ) -> Result<CreateOutcome, Error> {
        let endpoint = &CREATE_EXTERNAL_INTERVIEW;
        let keyed = has_idempotency_key(endpoint, &body)?;
        let outgoing = Outgoing::encoded(self.parsed_base_url(), endpoint, body, keyed);
        self.create(&outgoing, keyed).await
    }
}

/// Whether `body` carries `endpoint`'s idempotency key: a key field that is a string and not
/// blank, as `ApiRequest::idempotency_key` decides for a typed request.
fn has_idempotency_key(endpoint: &'static Endpoint, body: &[u8]) -> Result<bool, Error> {
    let Idempotency::ByKey { field, .. } = endpoint.idempotency else {
        return Ok(false);
    };
    let mut reader = serde_json::Deserializer::from_slice(body);
    let key = reader
        .deserialize_map(KeyField { field })
        .and_then(|key| reader.end().map(|()| key))
        .map_err(|error| Error::InvalidRequest {
            endpoint: endpoint.name,
            reason: format!("the encoded body is not a request: {error}"),
        })?;
    Ok(key.is_some_and(|key| !key.trim().is_empty()))
}

/// Reads one string field of a JSON object, skipping the others without building them.
struct KeyField {
    field: &'static str,
}

impl<'de> Visitor<'de> for KeyField {
    type Value = Option<String>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut key = None;
        // Owned keys: a key with escapes cannot be borrowed from the input.
        while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if name != self.field {
                map.next_value::<IgnoredAny>()?;
            } else if key.is_some() {
                // Which of two keys a server takes is not ours to guess.
                return Err(de::Error::custom(format_args!(
                    "`{}` appears twice",
                    self.field
                )));
            } else {
                key = Some(map.next_value::<Option<String>>()?);
            }
        }
        Ok(key.flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(body: &str) -> Result<bool, String> {
        has_idempotency_key(&CREATE_EXTERNAL_INTERVIEW, body.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn the_key_is_read_as_a_typed_request_reads_it() {
        assert_eq!(keyed(r#"{"external_id":"ext-1","begin_time":1}"#), Ok(true));
        assert_eq!(
            keyed(r#"{"a":{"external_id":1},"external_id":"e\u0078t"}"#),
            Ok(true)
        );
        assert_eq!(keyed(r#"{"begin_time":1}"#), Ok(false));
        assert_eq!(keyed(r#"{"external_id":null}"#), Ok(false));
        assert_eq!(keyed(r#"{"external_id":"  "}"#), Ok(false));
    }

    #[test]
    fn a_body_that_is_no_request_is_refused_with_the_reason() {
        for (body, reason) in [
            ("[1]", "expected a JSON object"),
            (r#"{"external_id":7}"#, "expected a string"),
            (
                r#"{"external_id":"a","external_id":"b"}"#,
                "`external_id` appears twice",
            ),
            (r#"{"external_id":"a"} {}"#, "trailing characters"),
            (r#"{"external_id":"a""#, "EOF"),
        ] {
            let error = keyed(body).expect_err(body);
            assert!(error.contains(reason), "{body}: {error}");
        }
    }
}
