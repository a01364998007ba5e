//! Shared by the `client_*.rs` contract tests: a wiremock server, a client aimed at it, canned
//! Feishu answers, and a sleeper that records the waits the client asks for.

// Each test crate that includes this module uses a different part of it.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use feishu_hire_client::{ClientBuilder, RetryPolicy, SleepFuture, Sleeper};
use feishu_hire_types::{
    CREATE_EXTERNAL_INTERVIEW, CreateExternalInterviewRequest, TENANT_ACCESS_TOKEN_INTERNAL,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate};

/// The documented path, written out: the client must get it from the generated constant.
pub const CREATE_PATH: &str = "/open-apis/hire/v1/external_interviews";
/// The documented token path, written out.
pub const TOKEN_PATH: &str = "/open-apis/auth/v3/tenant_access_token/internal";
/// The fixed token of [`client`].
pub const TOKEN: &str = "t-fixed-token";
pub const APP_ID: &str = "cli_test_app";
/// Must never show up in output; tests search for it.
pub const APP_SECRET: &str = "s3cr3t-app-secret";

/// Feishu's documented request example.
pub fn seed_request_json() -> Value {
    serde_json::from_str(feishu_hire_testkit::SEED_REQUEST).unwrap()
}

/// Feishu's documented response example.
pub fn seed_response_json() -> Value {
    serde_json::from_str(feishu_hire_testkit::SEED_RESPONSE).unwrap()
}

/// A small valid request, with or without an `external_id`.
pub fn request(external_id: Option<&str>) -> CreateExternalInterviewRequest {
    let request = CreateExternalInterviewRequest::new("6960663240925956437").begin_time(1);
    match external_id {
        Some(id) => request.external_id(id),
        None => request,
    }
}

/// A create answer with code 0 and an interview with this id.
pub fn created(id: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "code": 0,
        "msg": "ok",
        "data": {"external_interview": {"id": id, "external_application_id": "6960663240925956437"}}
    }))
}

/// An error answer as Feishu writes it.
pub fn refused(status: u16, code: i64, msg: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"code": code, "msg": msg}))
}

/// A token endpoint answer.
pub fn token_answer(token: &str, expire: i64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "code": 0, "msg": "ok", "tenant_access_token": token, "expire": expire
    }))
}

/// Matches create requests.
pub fn create_call() -> MockBuilder {
    assert_eq!(CREATE_EXTERNAL_INTERVIEW.path, CREATE_PATH);
    Mock::given(method("POST")).and(path(CREATE_PATH))
}

/// Matches token requests.
pub fn token_call() -> MockBuilder {
    assert_eq!(TENANT_ACCESS_TOKEN_INTERNAL.path, TOKEN_PATH);
    Mock::given(method("POST")).and(path(TOKEN_PATH))
}

/// Records the waits the client asks for and returns at once.
#[derive(Debug, Default)]
pub struct RecordingSleeper {
    waits: Mutex<Vec<Duration>>,
}

impl RecordingSleeper {
    pub fn waits(&self) -> Vec<Duration> {
        self.waits.lock().unwrap().clone()
    }
}

impl Sleeper for RecordingSleeper {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        self.waits.lock().unwrap().push(duration);
        Box::pin(std::future::ready(()))
    }
}

/// A retry policy whose backoff is easy to check: 100 ms, 200 ms, 400 ms… (plus jitter).
pub fn quick_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy::new()
        .max_attempts(max_attempts)
        .initial_backoff(Duration::from_millis(100))
        .max_backoff(Duration::from_secs(1))
        .total_deadline(Duration::from_secs(60))
}

/// A client aimed at `server` with a fixed token, no pacing, no retries and a recording sleeper.
pub fn client(server: &MockServer, sleeper: &Arc<RecordingSleeper>) -> ClientBuilder {
    ClientBuilder::new()
        .base_url(server.uri())
        .tenant_access_token(TOKEN)
        .no_rate_limit()
        .retry_policy(RetryPolicy::none())
        .sleeper(Arc::clone(sleeper) as Arc<dyn Sleeper>)
}

/// Requests the server received on `path`, in order.
pub async fn received_on(server: &MockServer, wanted: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|request| request.url.path() == wanted)
        .collect()
}

/// A header of a received request as text.
pub fn header_of<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request
        .headers
        .get(name)
        .map(|value| value.to_str().unwrap())
}

/// Replaces the server's random address, so that snapshots are stable.
pub fn redact(text: &str, server_uri: &str) -> String {
    text.replace(server_uri, "http://[server]")
}

/// Mounts `first` for the first `times` create requests, then a success.
pub async fn fails_then_succeeds(server: &MockServer, first: ResponseTemplate, times: u64) {
    create_call()
        .respond_with(first)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(server)
        .await;
    create_call()
        .respond_with(created("6960663240925956436"))
        .mount(server)
        .await;
}
