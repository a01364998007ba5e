//! Requests exactly as Feishu's official SDKs send them (lark-oapi 1.7.5 and
//! @larksuiteoapi/node-sdk 1.74.0, read from their code; `tests/sdk/` runs the SDKs
//! themselves), answered as Feishu answers them. Each test names what the SDK does.
// The helpers below are test code too: a panic is how they report a failure.

use crate::common::{Answer, Harness, minimal, start};
use feishu_hire_sandbox::SandboxConfig;
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::json;

const INTERVIEWS: &str = "/open-apis/hire/v1/external_interviews";
const BATCH_QUERY: &str = "/open-apis/hire/v1/external_interviews/batch_query";
const APPLICATION: &str = "6960663240925956437";

async fn sandbox() -> (Harness, String) {
    let harness = start(SandboxConfig::default().no_rate_limit()).await;
    let token = harness.token().await;
    (harness, token)
}

/// Sends `method path` with the token, `content_type` if given, and `body` as raw bytes.
async fn raw(
    harness: &Harness,
    method: Method,
    path: &str,
    token: &str,
    content_type: Option<&str>,
    body: &'static str,
) -> Answer {
    let mut request = harness
        .http
        .request(method, harness.url(path))
        .bearer_auth(token)
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    Answer::read(request.send().await.unwrap()).await
}

/// lark-oapi sends a batch query whose body the user left unset (a query by
/// `external_application_id` alone) as a POST with no body and no `Content-Type`; Feishu
/// answers it, so an empty body reads as `{}`.
#[tokio::test]
async fn a_batch_query_without_a_body_reads_as_an_empty_object() {
    let (harness, token) = sandbox().await;
    let created = harness.create(&token, &minimal("ats-1")).await;
    assert_eq!(created.code(), 0, "{:?}", created.body);
    let path = format!("{BATCH_QUERY}?external_application_id={APPLICATION}&page_size=2");
    for (content_type, body) in [(None, ""), (None, " \r\n"), (Some("application/json"), "")] {
        let answer = raw(&harness, Method::POST, &path, &token, content_type, body).await;
        assert_eq!(
            (answer.status, answer.code()),
            (200, 0),
            "{content_type:?} {body:?}: {:?}",
            answer.body
        );
        assert_eq!(answer.body["data"]["items"][0]["external_id"], "ats-1");
    }
    // Without the query parameter, `{}` names what is missing, as any other body would.
    let answer = raw(&harness, Method::POST, BATCH_QUERY, &token, None, "").await;
    assert_eq!((answer.status, answer.code()), (400, 1002002));
    assert_eq!(answer.violated_fields(), ["external_application_id"]);
}

/// An empty create body is `{}` too: the answer names the required field instead of saying
/// the body is not JSON.
#[tokio::test]
async fn an_empty_create_body_names_the_required_field() {
    let (harness, token) = sandbox().await;
    let answer = raw(&harness, Method::POST, INTERVIEWS, &token, None, "").await;
    assert_eq!((answer.status, answer.code()), (400, 1002002));
    assert_eq!(answer.violated_fields(), ["external_application_id"]);
    assert!(harness.sandbox.records().is_empty());
}

/// lark-oapi sends a DELETE with no body and no `Content-Type`; the Node SDK sends `{}` as
/// JSON (its payload `data` defaults to an empty object). Both delete.
#[tokio::test]
async fn a_delete_with_no_body_or_an_empty_object_deletes() {
    let (harness, token) = sandbox().await;
    for (external_id, content_type, body) in
        [("py", None, ""), ("node", Some("application/json"), "{}")]
    {
        let id = harness
            .create(&token, &minimal(external_id))
            .await
            .interview_id();
        let path = format!("{INTERVIEWS}/{id}");
        let answer = raw(&harness, Method::DELETE, &path, &token, content_type, body).await;
        assert_eq!(
            (answer.status, answer.code(), &answer.body["data"]),
            (200, 0, &json!({})),
            "{external_id}: {:?}",
            answer.body
        );
    }
    assert!(harness.sandbox.records().is_empty());
}
