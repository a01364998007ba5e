//! What the sandbox's two Feishu endpoints answer, over HTTP: tokens, the documented create
//! example, every kind of bad body and token, and the inspection endpoints.

use std::time::Duration;

use crate::common::{Answer, minimal, seed_request, seed_response, shape, start};
use feishu_hire_sandbox::{RECORDS_PATH, STATS_PATH, SandboxConfig, Stats};
use feishu_hire_types::{CreateExternalInterviewResponse, TenantAccessTokenResponse, schemas};
use serde_json::{Map, Value, json};

/// Log ids and generated ids differ from run to run; snapshots show placeholders.
macro_rules! assert_error_snapshot {
    ($value:expr) => {
        insta::assert_json_snapshot!($value, { ".**.log_id" => "[log_id]" })
    };
}

#[tokio::test]
async fn the_documented_request_gets_the_documented_response_shape() {
    let harness = start(SandboxConfig::default()).await;
    let token = harness.token().await;
    let answer = harness.create(&token, &seed_request()).await;

    assert_eq!(answer.status, 200);
    assert_eq!(shape(&answer.body), shape(&seed_response()));
    let interview = &answer.body["data"]["external_interview"];
    for id in [
        &interview["id"],
        &interview["interview_assessments"][0]["id"],
    ] {
        let id = id.as_str().unwrap();
        assert_eq!(id.len(), 19, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    }
    assert_ne!(interview["id"], interview["interview_assessments"][0]["id"]);

    // It decodes into the generated type and matches the generated response schema.
    let typed: CreateExternalInterviewResponse =
        serde_json::from_value(answer.body.clone()).unwrap();
    assert_eq!(typed.code, 0);
    let schema: Value = serde_json::from_str(schemas::CREATE_EXTERNAL_INTERVIEW_RESPONSE).unwrap();
    assert!(jsonschema::is_valid(&schema, &answer.body));

    insta::assert_json_snapshot!(answer.body, {
        ".data.external_interview.id" => "[id]",
        ".data.external_interview.interview_assessments[].id" => "[id]",
    });
}

#[tokio::test]
async fn tokens_are_issued_for_any_non_empty_pair_by_default() {
    let harness = start(SandboxConfig::default()).await;
    let answer = harness
        .request_token(&json!({"app_id": "cli_any", "app_secret": "anything"}))
        .await;
    assert_eq!(answer.status, 200);
    let typed: TenantAccessTokenResponse = serde_json::from_value(answer.body.clone()).unwrap();
    assert_eq!(typed.code, 0);
    assert_eq!(typed.expire, Some(7200));
    assert!(typed.tenant_access_token.unwrap().starts_with("t-"));
    insta::assert_json_snapshot!(answer.body, { ".tenant_access_token" => "[token]" });

    let empty = harness
        .request_token(&json!({"app_id": "", "app_secret": "anything"}))
        .await;
    assert_eq!((empty.status, empty.code()), (400, 1002002));
    assert_eq!(empty.violated_fields(), ["app_id"]);

    let incomplete = harness
        .request_token(&json!({"app_id": "cli_any", "secret": "anything"}))
        .await;
    assert_eq!((incomplete.status, incomplete.code()), (400, 1002002));
    assert_eq!(incomplete.violated_fields(), ["app_secret", "secret"]);
    assert_eq!(harness.sandbox.stats().tokens_issued, 1);
    assert_eq!(harness.sandbox.stats().token_failures, 2);
}

#[tokio::test]
async fn a_configured_pair_is_the_only_one_accepted() {
    let harness = start(SandboxConfig::default().credentials("cli_only", "right")).await;
    let right = harness
        .request_token(&json!({"app_id": "cli_only", "app_secret": "right"}))
        .await;
    assert_eq!(right.code(), 0);
    let wrong = harness
        .request_token(&json!({"app_id": "cli_only", "app_secret": "wrong"}))
        .await;
    assert_eq!(wrong.status, 400);
    assert_error_snapshot!(wrong.body);
}

#[tokio::test]
async fn creates_need_an_unexpired_token_the_sandbox_issued() {
    let ttl = Duration::from_secs(600);
    let harness = start(SandboxConfig::default().token_ttl(ttl)).await;
    let token = harness.token().await;
    let body = serde_json::to_vec(&minimal("ats-1")).unwrap();
    let json = Some("application/json");
    let refused = |answer: Answer| (answer.status, answer.code());

    let missing = harness.create_raw(None, json, body.clone()).await;
    assert_eq!(refused(missing), (400, 99991661));
    let not_bearer = harness.create_raw(Some(&token), json, body.clone()).await;
    assert_eq!(refused(not_bearer), (400, 99991661));
    let empty = harness
        .create_raw(Some("Bearer "), json, body.clone())
        .await;
    assert_eq!(refused(empty), (400, 99991661));
    let unknown = harness
        .create_raw(Some("Bearer t-not-issued-here"), json, body.clone())
        .await;
    assert_eq!(unknown.status, 400);
    assert_error_snapshot!(unknown.body);

    harness.clock.advance(ttl - Duration::from_millis(1));
    assert_eq!(harness.create(&token, &minimal("ats-1")).await.code(), 0);
    harness.clock.advance(Duration::from_millis(1));
    let expired = harness.create(&token, &minimal("ats-2")).await;
    assert_eq!(refused(expired), (400, 99991663));

    let stats = harness.sandbox.stats();
    assert_eq!(stats.auth_failures, 5);
    assert_eq!(stats.created, 1);
    assert_eq!(stats.attempts_by_external_id["ats-1"], 5);
}

#[tokio::test]
async fn each_kind_of_bad_body_names_its_fields() {
    let harness = start(SandboxConfig::default().no_rate_limit()).await;
    let token = harness.token().await;
    let dimension = |extra: Value| {
        let mut body = minimal("ats-1");
        body["interview_assessments"] = json!([{"assessment_dimension_list": [extra]}]);
        body
    };
    let cases = [
        ("missing required field", json!({"external_id": "ats-1"})),
        (
            "wrong types",
            json!({
                "external_application_id": 6960663240925956437_u64,
                "external_id": null,
                "begin_time": "1618500278638",
                "end_time": 1618500278639.5,
                "participate_status": "2",
            }),
        ),
        (
            "enum values the spec does not list",
            json!({
                "external_application_id": "1",
                "participate_status": 0,
                "interview_assessments": [
                    {"conclusion": 4, "assessment_dimension_list": [{"assessment_type": 5}]}
                ],
            }),
        ),
        (
            "unknown fields",
            json!({
                "external_application_id": "1",
                "externalId": "ats-1",
                "interview_assessments": [{"score": 1, "assessment_dimension_list": [{"weight": 2}]}],
            }),
        ),
        (
            "nested list of the wrong items",
            dimension(json!({"options": ["a", 1]})),
        ),
        (
            "score beyond 32 bits",
            dimension(json!({"score": 3_000_000_000_i64})),
        ),
        ("not an object", json!(["external_application_id", "1"])),
    ];

    let mut answers = Map::new();
    for (name, body) in cases {
        let answer = harness.create(&token, &body).await;
        assert_eq!((answer.status, answer.code()), (400, 1002002), "{name}");
        answers.insert(name.to_owned(), answer.body);
    }
    assert_error_snapshot!(answers);
    assert_eq!(harness.sandbox.stats().invalid_requests, 7);
    assert!(harness.sandbox.records().is_empty());
}

/// `serde_json`'s own `Value` would read this body as the document in its string (a valid
/// request); Feishu reads the key as written, one it does not know.
#[tokio::test]
async fn keys_serde_json_reads_specially_are_read_as_written() {
    let harness = start(SandboxConfig::default()).await;
    let token = harness.token().await;
    let inner = serde_json::to_string(&minimal("ats-1")).unwrap();
    let body = json!({ "$serde_json::private::RawValue": inner });

    let answer = harness.create(&token, &body).await;

    assert_eq!(
        (answer.status, answer.code()),
        (400, 1002002),
        "{}",
        answer.body
    );
    let fields: Vec<&str> = answer.body["error"]["field_violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|violation| violation["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"external_application_id"), "{fields:?}");
    assert!(harness.sandbox.records().is_empty());
}

#[tokio::test]
async fn bodies_that_are_not_json_are_refused_not_fatal() {
    let harness = start(SandboxConfig::default().max_body_bytes(512)).await;
    let token = harness.token().await;
    let bearer = format!("Bearer {token}");
    let auth = Some(bearer.as_str());
    let json = Some("application/json");
    let valid = serde_json::to_vec(&minimal("ats-1")).unwrap();
    let oversized = serde_json::to_vec(&json!({
        "external_application_id": "1",
        "interview_assessments": [{"content": "x".repeat(4096)}],
    }))
    .unwrap();

    let mut answers = Map::new();
    for (name, answer) in [
        (
            "invalid JSON",
            harness
                .create_raw(auth, json, "{\"external_application_id\": ")
                .await,
        ),
        // An empty body is not here: it reads as `{}` (tests/sdk_requests.rs).
        (
            "wrong content type",
            harness
                .create_raw(auth, Some("text/plain"), valid.clone())
                .await,
        ),
        (
            "no content type, not JSON",
            harness.create_raw(auth, None, "external_id=ats-1").await,
        ),
        (
            "oversized body",
            harness.create_raw(auth, json, oversized).await,
        ),
    ] {
        assert_eq!((answer.status, answer.code()), (400, 1002002), "{name}");
        answers.insert(name.to_owned(), answer.body);
    }
    assert_error_snapshot!(answers);

    // A body far over the limit gets the same answer, not a reset connection.
    let huge = format!(
        r#"{{"external_application_id": "{}"}}"#,
        "9".repeat(4 << 20)
    );
    let answer = harness.create_raw(auth, json, huge).await;
    assert_eq!((answer.status, answer.code()), (400, 1002002));

    // The sandbox still serves, and a charset parameter is fine.
    let fine = harness
        .create_raw(auth, Some("application/json; charset=utf-8"), valid.clone())
        .await;
    assert_eq!(fine.code(), 0);
    // As on Feishu, a JSON body without Content-Type is read as JSON.
    let unlabelled = harness.create_raw(auth, None, valid).await;
    assert_eq!((unlabelled.status, unlabelled.code()), (200, 0));
    assert_eq!(harness.sandbox.stats().invalid_requests, 5);
}

/// Feishu's Python SDK (`lark-oapi`) sends the token request as JSON without `Content-Type`;
/// Feishu answers it, and so must the sandbox. A wrong explicit type is still refused.
#[tokio::test]
async fn a_token_request_without_content_type_is_read_as_json() {
    let harness = start(SandboxConfig::default()).await;
    let url = harness.url(feishu_hire_types::TENANT_ACCESS_TOKEN_INTERNAL.path);
    let body = r#"{"app_id": "cli_python", "app_secret": "secret"}"#;
    let unlabelled = harness.http.post(&url).body(body).send().await.unwrap();
    let answer = Answer::read(unlabelled).await;
    assert_eq!(
        (answer.status, answer.code()),
        (200, 0),
        "{:?}",
        answer.body
    );
    assert!(answer.body["tenant_access_token"].is_string());

    let mislabelled = harness
        .http
        .post(&url)
        .header("Content-Type", "text/plain")
        .body(body)
        .send()
        .await
        .unwrap();
    let answer = Answer::read(mislabelled).await;
    assert_eq!((answer.status, answer.code()), (400, 1002002));
    assert_eq!(
        answer.body["msg"],
        "invalid parameter: Content-Type must be application/json, not text/plain"
    );
}

#[tokio::test]
async fn inspection_shows_records_and_counters() {
    let harness = start(SandboxConfig::default()).await;
    let token = harness.token().await;
    let first = harness.create(&token, &minimal("ats-1")).await;
    harness.create(&token, &minimal("ats-2")).await;
    harness
        .create(&token, &json!({"external_application_id": "1"}))
        .await;

    let all = harness.get(RECORDS_PATH).await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body["count"], 3);
    let one = harness
        .get(&format!("{RECORDS_PATH}?external_id=ats-1"))
        .await;
    assert_eq!(one.body["count"], 1);
    let record = &one.body["external_interviews"][0];
    assert_eq!(record["interview"]["id"], first.interview_id());
    assert_eq!(record["interview"]["external_id"], "ats-1");
    assert_eq!(record["app_id"], "cli_test");
    assert_eq!(harness.sandbox.records().len(), 3);

    let stats = harness.get(STATS_PATH).await;
    let stats: Stats = serde_json::from_value(stats.body).unwrap();
    assert_eq!(stats, harness.sandbox.stats());
    assert_eq!(stats.create_attempts, 3);
    assert_eq!(stats.created, 3);
    assert_eq!(stats.stored_by_external_id.len(), 2);
    insta::assert_json_snapshot!(stats);

    let unknown = harness.get("/open-apis/hire/v1/unknown").await;
    assert_eq!(unknown.status, 404);
}
