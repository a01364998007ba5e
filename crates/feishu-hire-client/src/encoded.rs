//! Calls whose request body the caller has already encoded (and, typically, checked against
//! the endpoint's JSON Schema): the client sends those very bytes, reading only the
//! idempotency key out of them (once, when the caller wraps them), so a body is neither
//! decoded into its type nor encoded again.

use std::fmt;

use bytes::Bytes;
use feishu_hire_types::{CREATE_EXTERNAL_INTERVIEW, Endpoint, Idempotency};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor,
};

use crate::client::{Client, CreateOutcome, Outgoing};
use crate::error::Error;

/// A create request body already encoded as JSON (and, typically, checked against
/// [`schemas::CREATE_EXTERNAL_INTERVIEW_REQUEST`](feishu_hire_types::schemas::CREATE_EXTERNAL_INTERVIEW_REQUEST),
/// as `feishu-hire import` does), with its `external_id` read out of it once:
/// [`Client::create_external_interview_encoded`] sends these very bytes on every attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedCreate {
    body: Bytes,
    external_id: Option<String>,
}

impl EncodedCreate {
    /// Reads the body's `external_id`, which decides, as for a typed request, whether the call
    /// may be retried after an attempt that may have taken effect. Nothing else is checked:
    /// the rest is the caller's to vouch for. A body that is not a JSON object, or whose
    /// `external_id` is not a string or appears twice, is refused
    /// ([`Error::InvalidRequest`], nothing sent).
    pub fn new(body: Bytes) -> Result<Self, Error> {
        let endpoint = &CREATE_EXTERNAL_INTERVIEW;
        let external_id = key_of(endpoint, &body).map_err(|reason| Error::InvalidRequest {
            endpoint: endpoint.name,
            reason: format!("the encoded body is not a request: {reason}"),
        })?;
        Ok(Self { body, external_id })
    }

    /// The body's `external_id`, as written.
    pub fn external_id(&self) -> Option<&str> {
        self.external_id.as_deref()
    }

    /// The body, as it is sent.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Whether the body carries an idempotency key: an `external_id` that is not blank, as
    /// `ApiRequest::idempotency_key` decides for a typed request.
    fn keyed(&self) -> bool {
        self.external_id().is_some_and(|key| !key.trim().is_empty())
    }
}

impl Client {
    /// Creates an external interview from its request body already encoded as JSON: what
    /// [`create_external_interview`](Self::create_external_interview) would send for a
    /// [`CreateExternalInterviewRequest`](feishu_hire_types::CreateExternalInterviewRequest),
    /// without decoding it into that type or encoding it again. Retries, the
    /// [`AlreadyExistsRule`](crate::AlreadyExistsRule) and errors are as there, decided by
    /// the body's `external_id`.
    ///
    /// ```no_run
    /// use feishu_hire_client::EncodedCreate;
    ///
    /// # async fn run(client: feishu_hire_client::Client) -> Result<(), feishu_hire_client::Error> {
    /// let body = br#"{"external_id":"ext-1","external_application_id":"6960663240925956437",
    ///     "participate_status":1,"begin_time":1618500278638,"end_time":1618500278639}"#;
    /// let request = EncodedCreate::new(bytes::Bytes::from_static(body))?;
    /// let outcome = client.create_external_interview_encoded(&request).await?;
    /// println!("created: {}", outcome.is_created());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn create_external_interview_encoded(
        &self,
        request: &EncodedCreate,
    ) -> Result<CreateOutcome, Error> {
        self.create_external_interview_encoded_as(request).await
    }

    /// [`create_external_interview_encoded`](Self::create_external_interview_encoded), with
    /// the interview Feishu echoes decoded as `I` rather than as a whole
    /// [`ExternalInterview`](feishu_hire_types::ExternalInterview): a type with only the
    /// fields the caller needs costs less to decode (an importer that keeps only the new
    /// interview's id saves about a microsecond a call). Retries, the already-exists rule and
    /// errors are the same; `I` should be as lenient as Feishu's answers need (see
    /// `feishu_hire_types::wire`): unknown fields ignored, every field optional.
    ///
    /// ```no_run
    /// use feishu_hire_client::EncodedCreate;
    ///
    /// /// Only the id Feishu gave the interview.
    /// #[derive(serde::Deserialize)]
    /// struct Created {
    ///     id: Option<String>,
    /// }
    ///
    /// # async fn run(client: feishu_hire_client::Client, request: EncodedCreate) -> Result<(), feishu_hire_client::Error> {
    /// let outcome = client.create_external_interview_encoded_as::<Created>(&request).await?;
    /// let id = outcome.interview().and_then(|created| created.id.as_deref());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn create_external_interview_encoded_as<I: DeserializeOwned>(
        &self,
        request: &EncodedCreate,
    ) -> Result<CreateOutcome<I>, Error> {
        let keyed = request.keyed();
        let outgoing = Outgoing::encoded(
            self.endpoint_urls(),
            &CREATE_EXTERNAL_INTERVIEW,
            request.body.clone(),
            keyed,
        );
        self.create(&outgoing, keyed).await
    }
}

/// The string value of `endpoint`'s idempotency key field in `body`, if it has one.
fn key_of(endpoint: &'static Endpoint, body: &[u8]) -> Result<Option<String>, serde_json::Error> {
    let Idempotency::ByKey { field, .. } = endpoint.idempotency else {
        return Ok(None);
    };
    let mut reader = serde_json::Deserializer::from_slice(body);
    let key = reader.deserialize_map(KeyField { field })?;
    reader.end()?;
    Ok(key)
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
        while let Some(is_field) = map.next_key_seed(IsField(self.field))? {
            if !is_field {
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

/// Whether an object's key is `.0`, compared where `serde_json` reads it (unescaped into its
/// scratch buffer if it has escapes), so that no key is allocated.
struct IsField(&'static str);

impl<'de> DeserializeSeed<'de> for IsField {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for IsField {
    type Value = bool;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "an object key")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<bool, E> {
        Ok(name == self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> Result<(Option<String>, bool), String> {
        EncodedCreate::new(Bytes::copy_from_slice(body.as_bytes()))
            .map(|request| (request.external_id().map(str::to_owned), request.keyed()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_key_is_read_as_a_typed_request_reads_it() {
        let id = |id: &str| Some(id.to_owned());
        assert_eq!(
            read(r#"{"external_id":"ext-1","begin_time":1}"#),
            Ok((id("ext-1"), true))
        );
        assert_eq!(
            read(r#"{"a":{"external_id":1},"external_id":"e\u0078t"}"#),
            Ok((id("ext"), true))
        );
        // A key written with escapes is the same key.
        assert_eq!(
            read(r#"{"\u0065xternal_id":"a","external\u005fapplication_id":"1"}"#),
            Ok((id("a"), true))
        );
        assert_eq!(
            read(r#"{"external_id":"a","external\u005fid":"b"}"#).map_err(|e| e.contains("twice")),
            Err(true)
        );
        assert_eq!(read(r#"{"begin_time":1}"#), Ok((None, false)));
        assert_eq!(read(r#"{"external_id":null}"#), Ok((None, false)));
        assert_eq!(read(r#"{"external_id":"  "}"#), Ok((id("  "), false)));
    }

    /// For bodies that decode as typed requests, the key and the retry decision read from the
    /// bytes are those of the typed request.
    #[test]
    fn the_key_agrees_with_the_typed_request() {
        use feishu_hire_types::{ApiRequest as _, CreateExternalInterviewRequest};
        let ids = [
            r#""ext-1""#,
            r#"" ""#,
            r#""\t\n""#,
            r#""\u3000""#,
            r#"" a ""#,
            r#""\u0041\"\\""#,
            r#""面试-7""#,
            "null",
        ];
        let rest = r#""external_application_id":"6960663240925956437","participate_status":1,"begin_time":1,"end_time":2"#;
        for id in ids {
            for body in [
                format!(r#"{{"external_id":{id},{rest}}}"#),
                format!(r#"{{{rest}, "external_id" : {id} }}"#),
            ] {
                let typed: CreateExternalInterviewRequest = serde_json::from_str(&body).unwrap();
                let encoded = EncodedCreate::new(Bytes::from(body.clone())).unwrap();
                assert_eq!(
                    encoded.external_id(),
                    typed.external_id.as_deref(),
                    "{body}"
                );
                assert_eq!(encoded.keyed(), typed.idempotency_key().is_some(), "{body}");
            }
        }
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
            let error = read(body).expect_err(body);
            assert!(error.contains(reason), "{body}: {error}");
        }
    }
}
