//! What the client retries and how long it waits, against wiremock with a recording sleeper:
//! rate-limit answers honour `x-ogw-ratelimit-reset`, server errors and timeouts are retried only
//! with an `external_id`, every attempt sends the same bytes and request id, and a repeated
//! `external_id` is reported under both plausible Feishu behaviours.

use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use feishu_hire_client::{AlreadyExistsRule, CreateOutcome, Delivery, Error, RetryPolicy};
use feishu_hire_types::ErrorCategory;
use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};

fn rate_limited(status: u16, reset_seconds: Option<&str>) -> ResponseTemplate {
    let answer = refused(status, 99_991_400, "request trigger frequency limit")
        .insert_header("x-ogw-ratelimit-limit", "10");
    match reset_seconds {
        Some(seconds) => answer.insert_header("x-ogw-ratelimit-reset", seconds),
        None => answer,
    }
}

#[tokio::test]
async fn a_429_waits_what_the_reset_header_says_then_succeeds() {
    let server = MockServer::start().await;
    fails_then_succeeds(&server, rate_limited(429, Some("2")), 1).await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .retry_policy(quick_retries(3))
        .build()
        .unwrap();

    // Retried even without an external_id: a rate-limited request was not processed.
    let outcome = client
        .create_external_interview(&request(None))
        .await
        .unwrap();

    assert!(outcome.is_created());
    assert_eq!(outcome.meta().attempts, 2);
    assert_eq!(sleeper.waits(), [Duration::from_secs(2)]);
    assert_eq!(received_on(&server, CREATE_PATH).await.len(), 2);
}

#[tokio::test]
async fn code_99991400_on_http_400_is_a_rate_limit_too() {
    let server = MockServer::start().await;
    fails_then_succeeds(&server, rate_limited(400, Some("1")), 2).await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .retry_policy(quick_retries(3))
        .build()
        .unwrap();

    let outcome = client
        .create_external_interview(&request(None))
        .await
        .unwrap();

    assert_eq!(outcome.meta().attempts, 3);
    assert_eq!(sleeper.waits(), [Duration::from_secs(1); 2]);
}

#[tokio::test]
async fn a_429_without_reset_header_or_json_body_backs_off() {
    let server = MockServer::start().await;
    fails_then_succeeds(
        &server,
        ResponseTemplate::new(429).set_body_raw("Too Many Requests", "text/plain"),
        1,
    )
    .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .retry_policy(quick_retries(3))
        .build()
        .unwrap();

    client
        .create_external_interview(&request(None))
        .await
        .unwrap();

    let waits = sleeper.waits();
    assert_eq!(waits.len(), 1);
    assert!(
        (Duration::from_millis(100)..Duration::from_millis(200)).contains(&waits[0]),
        "{waits:?}"
    );
}

#[tokio::test]
async fn a_reset_beyond_the_deadline_gives_up_at_once() {
    let server = MockServer::start().await;
    create_call()
        .respond_with(rate_limited(429, Some("120")))
        .expect(1)
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .retry_policy(quick_retries(5).total_deadline(Duration::from_secs(60)))
        .build()
        .unwrap();

    let error = client
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap_err();

    assert_eq!(error.category(), Some(ErrorCategory::RateLimited));
    assert!(error.is_transient());
    assert!(!error.may_have_been_created());
    assert_eq!(
        error.as_api_error().unwrap().rate_limit_reset(),
        Some(Duration::from_secs(120))
    );
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn rate_limits_stop_at_max_attempts() {
    let server = MockServer::start().await;
    create_call()
        .respond_with(rate_limited(429, Some("1")))
        .expect(3)
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .retry_policy(quick_retries(3))
        .build()
        .unwrap();

    let error = client
        .create_external_interview(&request(None))
        .await
        .unwrap_err();

    assert_eq!(error.attempts(), 3);
    assert_eq!(sleeper.waits(), [Duration::from_secs(1); 2]);
    insta::assert_snapshot!("rate_limited_after_3_attempts", error.to_string());
}

#[tokio::test]
async fn a_500_is_retried_with_an_external_id() {
    let server = MockServer::start().await;
    create_call()
        .respond_with(refused(500, 1_002_001, "system error"))
        .expect(3)
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .retry_policy(quick_retries(3))
        .build()
        .unwrap();

    let error = client
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap_err();

    assert_eq!(error.attempts(), 3);
    assert_eq!(error.category(), Some(ErrorCategory::System));
    assert!(error.may_have_been_created());
    // Exponential backoff with jitter: 100 ms then 200 ms, each plus up to as much again.
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 2, "{waits:?}");
    assert!(
        (Duration::from_millis(100)..Duration::from_millis(200)).contains(&waits[0]),
        "{waits:?}"
    );
    assert!(
        (Duration::from_millis(200)..Duration::from_millis(400)).contains(&waits[1]),
        "{waits:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn a_500_is_not_retried_without_an_external_id() {
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
        .create_external_interview(&request(None))
        .await
        .unwrap_err();

    assert_eq!(error.attempts(), 1);
    assert_eq!(error.delivery(), Delivery::Answered);
    assert!(error.may_have_been_created());
    assert!(sleeper.waits().is_empty());
    server.verify().await;
}

#[tokio::test]
async fn code_1002001_on_http_200_and_a_502_page_are_retried_with_an_external_id() {
    for first in [
        refused(200, 1_002_001, "system error"),
        ResponseTemplate::new(502).set_body_raw("<html>502 Bad Gateway</html>", "text/html"),
    ] {
        let server = MockServer::start().await;
        fails_then_succeeds(&server, first, 1).await;
        let sleeper = Arc::new(RecordingSleeper::default());
        let client = client(&server, &sleeper)
            .retry_policy(quick_retries(3))
            .build()
            .unwrap();

        let outcome = client
            .create_external_interview(&request(Some("ext-1")))
            .await
            .unwrap();

        assert_eq!(outcome.meta().attempts, 2);
        assert_eq!(sleeper.waits().len(), 1);
    }
}

#[tokio::test]
async fn a_timeout_is_retried_with_an_external_id() {
    let server = MockServer::start().await;
    fails_then_succeeds(&server, created("1").set_delay(Duration::from_secs(2)), 1).await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .timeout(Duration::from_millis(200))
        .retry_policy(quick_retries(3))
        .build()
        .unwrap();

    let outcome = client
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap();

    assert_eq!(outcome.meta().attempts, 2);
    assert_eq!(sleeper.waits().len(), 1);
}

#[tokio::test]
async fn parameter_errors_are_never_retried() {
    let server = MockServer::start().await;
    create_call()
        .respond_with(refused(400, 1_002_002, "invalid params"))
        .expect(1)
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .retry_policy(quick_retries(5))
        .build()
        .unwrap();

    let error = client
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap_err();

    assert_eq!(error.category(), Some(ErrorCategory::Parameter));
    assert!(!error.is_transient());
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn a_zero_deadline_allows_no_wait() {
    let server = MockServer::start().await;
    create_call()
        .respond_with(refused(500, 1_002_001, "system error"))
        .expect(1)
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .retry_policy(quick_retries(5).total_deadline(Duration::ZERO))
        .build()
        .unwrap();

    let error = client
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap_err();

    assert_eq!(error.attempts(), 1);
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn every_attempt_sends_the_same_bytes_and_request_id() {
    let server = MockServer::start().await;
    fails_then_succeeds(&server, refused(503, 1_002_001, "system error"), 2).await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .retry_policy(quick_retries(5))
        .build()
        .unwrap();

    let outcome = client
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap();
    // A second logical call gets a request id of its own.
    let second = client
        .create_external_interview(&request(Some("ext-2")))
        .await
        .unwrap();

    let received = received_on(&server, CREATE_PATH).await;
    assert_eq!(received.len(), 4);
    let (attempts, later) = received.split_at(3);
    for attempt in attempts {
        assert_eq!(attempt.body, attempts[0].body);
        assert_eq!(
            header_of(attempt, "oapi-sdk-request-id"),
            Some(outcome.meta().request_id.as_str())
        );
    }
    assert_eq!(outcome.meta().attempts, 3);
    assert_eq!(
        header_of(&later[0], "oapi-sdk-request-id"),
        Some(second.meta().request_id.as_str())
    );
    assert_ne!(outcome.meta().request_id, second.meta().request_id);
}

#[tokio::test]
async fn a_policy_of_none_makes_one_attempt() {
    let server = MockServer::start().await;
    create_call()
        .respond_with(rate_limited(429, Some("1")))
        .expect(1)
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let error = client
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap_err();
    assert_eq!(error.attempts(), 1);
}

// Repeated external_id. Feishu does not document its answer; these are the two plausible ones.

/// A code standing for "external_id already exists" (Feishu documents none).
const ALREADY_EXISTS_CODE: i64 = 1_002_099;

#[tokio::test]
async fn when_feishu_returns_the_stored_record_a_repeat_is_created() {
    let server = MockServer::start().await;
    create_call()
        .respond_with(created("6960663240925956436"))
        .expect(2)
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper).build().unwrap();

    let first = client
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap();
    let repeat = client
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap();

    // The client cannot tell them apart, and need not: one interview exists, and both hold it.
    assert!(first.is_created() && repeat.is_created());
    assert_eq!(first.interview(), repeat.interview());
}

#[tokio::test]
async fn when_feishu_rejects_a_repeat_the_rule_decides() {
    let rejection = refused(400, ALREADY_EXISTS_CODE, "external_id already exists");

    // Default rule: an error like any other refusal, which did not create anything.
    let server = MockServer::start().await;
    create_call()
        .respond_with(rejection.clone())
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let error = client(&server, &sleeper)
        .build()
        .unwrap()
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Api(_)));
    assert!(!error.may_have_been_created());

    // Configured by code, or by message: the answer is an outcome, not an error.
    for rule in [
        AlreadyExistsRule::codes([ALREADY_EXISTS_CODE]),
        AlreadyExistsRule::when(|status, _, msg| status == 400 && msg.contains("already exists")),
    ] {
        let client = client(&server, &sleeper)
            .already_exists(rule)
            .build()
            .unwrap();
        let outcome = client
            .create_external_interview(&request(Some("ext-1")))
            .await
            .unwrap();
        match outcome {
            CreateOutcome::AlreadyExists {
                code,
                msg,
                interview,
                meta,
            } => {
                assert_eq!(code, ALREADY_EXISTS_CODE);
                assert_eq!(msg, "external_id already exists");
                assert_eq!(interview, None);
                assert_eq!(meta.status, 400);
            }
            other => panic!("expected AlreadyExists, got {other:?}"),
        }

        // Without an external_id nothing can already exist: the rule does not apply.
        let error = client
            .create_external_interview(&request(None))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Some(ALREADY_EXISTS_CODE));
    }
}

#[tokio::test]
async fn a_retry_after_a_server_error_can_find_the_record_already_there() {
    // The first attempt stored the interview but answered 500; the retry is refused as a repeat.
    let server = MockServer::start().await;
    fails_then_succeeds(&server, refused(500, 1_002_001, "system error"), 1).await;
    create_call()
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": ALREADY_EXISTS_CODE,
            "msg": "external_id already exists",
            "data": {"external_interview": {"id": "6960663240925956436"}}
        })))
        .with_priority(2)
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .retry_policy(quick_retries(3))
        .already_exists(AlreadyExistsRule::codes([ALREADY_EXISTS_CODE]))
        .build()
        .unwrap();

    let outcome = client
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap();

    assert!(!outcome.is_created());
    assert_eq!(outcome.meta().attempts, 2);
    // An answer that carries the stored record hands it over.
    assert_eq!(
        outcome
            .interview()
            .and_then(|interview| interview.id.as_deref()),
        Some("6960663240925956436")
    );
}

/// Lets the client's wait between attempts end only once `closed` fires.
struct WaitFor(std::sync::Mutex<Option<tokio::sync::oneshot::Receiver<()>>>);

impl feishu_hire_client::Sleeper for WaitFor {
    fn sleep(&self, _: Duration) -> feishu_hire_client::SleepFuture {
        let closed = self.0.lock().unwrap().take();
        Box::pin(async move {
            if let Some(closed) = closed {
                closed.await.unwrap();
            }
        })
    }
}

#[tokio::test]
async fn a_refused_retry_after_a_timeout_still_may_have_created() {
    // A server that takes the first request, never answers it, and stops listening: the first
    // attempt times out (maybe processed), the second finds the port closed (not sent).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        drop(listener);
        closed_tx.send(()).unwrap();
        // Hold the connection until the client gives up on it.
        std::io::copy(&mut stream, &mut std::io::sink()).ok();
    });
    let client = feishu_hire_client::Client::builder()
        .base_url(&base_url)
        .tenant_access_token(TOKEN)
        .no_rate_limit()
        .timeout(Duration::from_millis(200))
        .retry_policy(quick_retries(2))
        .sleeper(Arc::new(WaitFor(std::sync::Mutex::new(Some(closed_rx)))))
        .build()
        .unwrap();

    let error = client
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap_err();
    server.join().unwrap();

    assert!(matches!(error, Error::NotSent(_)), "{error:?}");
    assert_eq!(error.attempts(), 2);
    assert!(error.earlier_attempt_may_have_been_processed());
    assert_eq!(error.delivery(), Delivery::MaybeSent);
    assert!(error.may_have_been_created());
    let display = error.to_string();
    assert!(
        display.ends_with("; gave up after 2 attempts; an earlier attempt may have been processed"),
        "{display}"
    );
}

#[tokio::test]
async fn a_rate_limit_past_the_deadline_after_a_server_error_still_may_have_created() {
    let server = MockServer::start().await;
    create_call()
        .respond_with(refused(500, 1_002_001, "system error"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    create_call()
        .respond_with(rate_limited(429, Some("3600")))
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .retry_policy(quick_retries(5))
        .build()
        .unwrap();

    let error = client
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap_err();

    // The last answer alone (a 429) would say "not created"; the 500 before it may have.
    assert_eq!(error.category(), Some(ErrorCategory::RateLimited));
    assert_eq!(error.attempts(), 2);
    assert_eq!(error.delivery(), Delivery::Answered);
    assert!(error.earlier_attempt_may_have_been_processed());
    assert!(error.may_have_been_created());
}

#[tokio::test]
async fn a_failed_token_fetch_after_a_timeout_still_may_have_created() {
    let server = MockServer::start().await;
    // A token good for one call only (expire 0), then the token endpoint fails.
    token_call()
        .respond_with(token_answer("t-1", 0))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    token_call()
        .respond_with(refused(400, 10_003, "invalid app_secret"))
        .mount(&server)
        .await;
    create_call()
        .respond_with(created("1").set_delay(Duration::from_secs(2)))
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .app_credentials(APP_ID, APP_SECRET)
        .timeout(Duration::from_millis(200))
        .retry_policy(quick_retries(2))
        .build()
        .unwrap();

    let error = client
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap_err();

    assert!(error.is_token_error(), "{error:?}");
    assert_eq!(received_on(&server, CREATE_PATH).await.len(), 1);
    assert_eq!(error.delivery(), Delivery::MaybeSent);
    assert!(error.may_have_been_created());
    assert!(
        error
            .to_string()
            .contains("an earlier attempt may have been processed"),
        "{error}"
    );
}

#[tokio::test]
async fn a_success_after_a_possibly_processed_attempt_says_so() {
    let server = MockServer::start().await;
    fails_then_succeeds(&server, refused(500, 1_002_001, "system error"), 1).await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .retry_policy(quick_retries(3))
        .build()
        .unwrap();

    let outcome = client
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap();

    // Created, but the 500 may have created it too: a target that ignores the key holds two.
    assert!(outcome.is_created());
    assert_eq!(outcome.meta().attempts, 2);
    assert!(outcome.meta().earlier_attempt_may_have_been_processed);
}

#[tokio::test]
async fn a_first_time_success_or_one_after_a_rate_limit_is_not_flagged() {
    let server = MockServer::start().await;
    fails_then_succeeds(&server, rate_limited(429, Some("1")), 1).await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .retry_policy(quick_retries(3))
        .build()
        .unwrap();

    let outcome = client
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap();
    assert_eq!(outcome.meta().attempts, 2);
    assert!(!outcome.meta().earlier_attempt_may_have_been_processed);
    let again = client
        .create_external_interview(&request(Some("ext-2")))
        .await
        .unwrap();
    assert_eq!(again.meta().attempts, 1);
    assert!(!again.meta().earlier_attempt_may_have_been_processed);
}

#[tokio::test]
async fn no_retry_after_possible_effect_stops_only_after_a_possibly_processed_attempt() {
    let server = MockServer::start().await;
    fails_then_succeeds(&server, refused(500, 1_002_001, "system error"), 1).await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let first = client(&server, &sleeper)
        .retry_policy(quick_retries(3).no_retry_after_possible_effect())
        .build()
        .unwrap();

    // A server error may have created it: not sent again, and the error says it may exist.
    let error = first
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap_err();
    assert_eq!(error.attempts(), 1);
    assert!(error.may_have_been_created());
    assert!(sleeper.waits().is_empty());
    assert_eq!(received_on(&server, CREATE_PATH).await.len(), 1);

    // A rate limit was not processed: still retried.
    let server = MockServer::start().await;
    fails_then_succeeds(&server, rate_limited(429, Some("1")), 1).await;
    let second = client(&server, &sleeper)
        .retry_policy(quick_retries(3).no_retry_after_possible_effect())
        .build()
        .unwrap();
    let outcome = second
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap();
    assert_eq!(outcome.meta().attempts, 2);
    assert!(RetryPolicy::new().retries_after_possible_effect());
    assert!(
        !RetryPolicy::new()
            .no_retry_after_possible_effect()
            .retries_after_possible_effect()
    );
}

#[tokio::test]
async fn no_retry_after_possible_effect_keeps_the_retries_of_queries() {
    let server = MockServer::start().await;
    let query_path = feishu_hire_types::BATCH_QUERY_EXTERNAL_INTERVIEW.path;
    wiremock::Mock::given(wiremock::matchers::path(query_path))
        .respond_with(refused(500, 1_002_001, "system error"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    wiremock::Mock::given(wiremock::matchers::path(query_path))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "code": 0, "msg": "ok", "data": {"items": [], "has_more": false, "page_token": ""}
        })))
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .retry_policy(quick_retries(3).no_retry_after_possible_effect())
        .build()
        .unwrap();
    let query =
        feishu_hire_types::BatchQueryExternalInterviewRequest::new().external_application_id("a");
    let answer = client.send(&query).await.unwrap();
    assert_eq!(answer.meta.attempts, 2);
    assert!(answer.meta.earlier_attempt_may_have_been_processed);
}
