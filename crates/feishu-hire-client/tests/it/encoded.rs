//! `create_external_interview_encoded`: a body the caller encoded goes out byte for byte on
//! every attempt, and its `external_id` decides retries and the already-exists rule exactly as
//! for a typed request.

use std::sync::Arc;

use crate::support::*;
use feishu_hire_client::{AlreadyExistsRule, CreateOutcome, Delivery, EncodedCreate, Error};
use wiremock::MockServer;

/// The seed request as a caller might have it on disk: indented, keys in its own order.
fn encoded(external_id: Option<&str>) -> bytes::Bytes {
    let mut request = seed_request_json();
    match external_id {
        Some(id) => request["external_id"] = id.into(),
        None => {
            request.as_object_mut().unwrap().remove("external_id");
        }
    }
    serde_json::to_vec_pretty(&request).unwrap().into()
}

#[tokio::test]
async fn the_bytes_are_sent_as_given_and_retried_with_an_external_id() {
    let server = MockServer::start().await;
    fails_then_succeeds(&server, refused(503, 1_002_001, "system error"), 2).await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .retry_policy(quick_retries(3))
        .build()
        .unwrap();
    let body = encoded(Some("ext-1"));

    let outcome = client
        .create_external_interview_encoded(&EncodedCreate::new(body.clone()).unwrap())
        .await
        .unwrap();

    assert!(outcome.is_created());
    assert_eq!(outcome.meta().attempts, 3);
    let received = received_on(&server, CREATE_PATH).await;
    assert_eq!(received.len(), 3);
    for attempt in &received {
        assert_eq!(attempt.body, body);
        assert_eq!(
            header_of(attempt, "content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(
            header_of(attempt, "authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(
            header_of(attempt, "oapi-sdk-request-id"),
            Some(outcome.meta().request_id.as_str())
        );
    }
}

#[tokio::test]
async fn without_an_external_id_a_server_error_is_not_retried() {
    // No key, or a blank one (as for a typed request): one attempt, and it may have created.
    for body in [encoded(None), encoded(Some(" "))] {
        let server = MockServer::start().await;
        create_call()
            .respond_with(refused(500, 1_002_001, "system error"))
            .expect(1)
            .mount(&server)
            .await;
        let sleeper = Arc::new(RecordingSleeper::default());
        let client = client(&server, &sleeper)
            .retry_policy(quick_retries(3))
            .build()
            .unwrap();

        let error = client
            .create_external_interview_encoded(&EncodedCreate::new(body).unwrap())
            .await
            .unwrap_err();

        assert_eq!(error.attempts(), 1);
        assert!(error.may_have_been_created());
        assert!(sleeper.waits().is_empty());
        server.verify().await;
    }
}

#[tokio::test]
async fn the_already_exists_rule_applies_to_a_keyed_body_only() {
    let server = MockServer::start().await;
    create_call()
        .respond_with(refused(400, 1_002_002, "external_id already exists"))
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .already_exists(AlreadyExistsRule::codes([1_002_002]))
        .build()
        .unwrap();

    let outcome = client
        .create_external_interview_encoded(&EncodedCreate::new(encoded(Some("ext-1"))).unwrap())
        .await
        .unwrap();
    assert!(matches!(
        outcome,
        CreateOutcome::AlreadyExists {
            code: 1_002_002,
            ..
        }
    ));

    let error = client
        .create_external_interview_encoded(&EncodedCreate::new(encoded(None)).unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(1_002_002));
}

#[test]
fn a_body_that_is_no_request_is_refused_before_anything_is_sent() {
    for body in [&b"[]"[..], b"{\"external_id\":1}", b"not json"] {
        let error = EncodedCreate::new(bytes::Bytes::from_static(body)).unwrap_err();
        assert!(matches!(error, Error::InvalidRequest { .. }), "{error}");
        assert_eq!(error.delivery(), Delivery::NotSent);
        assert!(
            error
                .to_string()
                .contains("the encoded body is not a request"),
            "{error}"
        );
    }
}

/// What an importer keeps of the echoed interview: its id.
#[derive(Debug, PartialEq, serde::Deserialize)]
struct IdOnly {
    id: Option<String>,
}

#[tokio::test]
async fn the_echoed_interview_can_be_read_as_a_smaller_type_with_the_same_outcomes() {
    let server = MockServer::start().await;
    // The documented answer, a field of it broken in a way the whole interview type refuses:
    // a type that does not read that field does not mind.
    let mut answer = seed_response_json();
    answer["data"]["external_interview"]["interview_assessments"] = "not a list".into();
    create_call()
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(&answer))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let mut stored = seed_response_json();
    stored["code"] = 1_002_002.into();
    stored["msg"] = "external_id already exists".into();
    create_call()
        .respond_with(wiremock::ResponseTemplate::new(400).set_body_json(&stored))
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .already_exists(AlreadyExistsRule::codes([1_002_002]))
        .build()
        .unwrap();
    let request = EncodedCreate::new(encoded(Some("ext-1"))).unwrap();
    let id = seed_response_json()["data"]["external_interview"]["id"]
        .as_str()
        .map(str::to_owned);
    assert!(id.is_some());

    let created = client
        .create_external_interview_encoded_as::<IdOnly>(&request)
        .await
        .unwrap();
    assert!(created.is_created());
    assert_eq!(created.interview(), Some(&IdOnly { id: id.clone() }));

    let repeated = client
        .create_external_interview_encoded_as::<IdOnly>(&request)
        .await
        .unwrap();
    assert!(matches!(
        &repeated,
        CreateOutcome::AlreadyExists {
            code: 1_002_002,
            interview: Some(IdOnly { id: found }),
            ..
        } if *found == id
    ));

    // The whole interview type refuses the broken answer the smaller one read.
    server.reset().await;
    create_call()
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(&answer))
        .mount(&server)
        .await;
    let error = client
        .create_external_interview_encoded(&request)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidResponse(_)), "{error}");
}
