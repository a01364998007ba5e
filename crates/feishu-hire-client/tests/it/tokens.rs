//! Tenant tokens against wiremock: fetched once for many concurrent calls, refreshed when
//! expired, and dropped and refetched (with the call repeated once) after each invalid-token code;
//! a failed fetch is shared with the calls that waited for it, not repeated by each.

use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use feishu_hire_client::{Client, Delivery, Error, RetryPolicy};
use feishu_hire_types::ErrorCategory;
use serde_json::json;
use tokio::task::JoinSet;
use wiremock::MockServer;
use wiremock::matchers::{body_json, header};

fn app_client(server: &MockServer) -> Client {
    client(server, &Arc::new(RecordingSleeper::default()))
        .app_credentials(APP_ID, APP_SECRET)
        .build()
        .unwrap()
}

/// Mounts token answers: each token once, in order (the last one for good).
async fn tokens(server: &MockServer, answers: &[(&str, i64)]) {
    for (index, (token, expire)) in answers.iter().enumerate() {
        let mock = token_call()
            .and(body_json(
                json!({"app_id": APP_ID, "app_secret": APP_SECRET}),
            ))
            .respond_with(token_answer(token, *expire));
        let mock = if index + 1 < answers.len() {
            mock.up_to_n_times(1)
        } else {
            mock
        };
        mock.mount(server).await;
    }
}

/// The `Authorization` header of every create request, in order.
async fn create_tokens(server: &MockServer) -> Vec<String> {
    received_on(server, CREATE_PATH)
        .await
        .iter()
        .map(|request| header_text(request, "authorization"))
        .collect()
}

fn header_text(request: &wiremock::Request, name: &str) -> String {
    header_of(request, name).unwrap().to_owned()
}

#[tokio::test]
async fn fifty_concurrent_calls_fetch_the_token_once() {
    let server = MockServer::start().await;
    token_call()
        // Slow, so that all calls ask for the token while it is being fetched.
        .respond_with(token_answer("t-1", 7200).set_delay(Duration::from_millis(200)))
        .expect(1)
        .mount(&server)
        .await;
    create_call()
        .and(header("authorization", "Bearer t-1"))
        .respond_with(created("1"))
        .expect(50)
        .mount(&server)
        .await;
    let client = app_client(&server);

    let mut calls = JoinSet::new();
    for index in 0..50 {
        let client = client.clone();
        calls.spawn(async move {
            client
                .create_external_interview(&request(Some(&format!("ext-{index}"))))
                .await
        });
    }
    while let Some(result) = calls.join_next().await {
        assert!(result.unwrap().unwrap().is_created());
    }

    server.verify().await;
}

#[tokio::test]
async fn an_expired_token_is_fetched_again() {
    let server = MockServer::start().await;
    // `expire: 0` is already stale once used; the second token lasts two hours.
    tokens(&server, &[("t-1", 0), ("t-2", 7200)]).await;
    create_call()
        .respond_with(created("1"))
        .mount(&server)
        .await;
    let client = app_client(&server);

    for _ in 0..3 {
        client
            .create_external_interview(&request(None))
            .await
            .unwrap();
    }

    assert_eq!(
        create_tokens(&server).await,
        ["Bearer t-1", "Bearer t-2", "Bearer t-2"]
    );
    assert_eq!(received_on(&server, TOKEN_PATH).await.len(), 2);
}

#[tokio::test]
async fn each_invalid_token_code_drops_the_token_and_repeats_the_call_once() {
    for code in [99_991_663, 99_991_664, 99_991_671] {
        let server = MockServer::start().await;
        tokens(&server, &[("t-old", 7200), ("t-new", 7200)]).await;
        create_call()
            .and(header("authorization", "Bearer t-old"))
            .respond_with(refused(400, code, "invalid token"))
            .expect(1)
            .mount(&server)
            .await;
        create_call()
            .and(header("authorization", "Bearer t-new"))
            .respond_with(created("1"))
            .expect(2)
            .mount(&server)
            .await;
        // No retries: repeating after a refused token is not a retry, the call was not processed.
        let client = client(&server, &Arc::new(RecordingSleeper::default()))
            .app_credentials(APP_ID, APP_SECRET)
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();

        // No external_id either: a refused token means nothing was created.
        let outcome = client
            .create_external_interview(&request(None))
            .await
            .unwrap();
        assert_eq!(outcome.meta().attempts, 2, "{code}");
        // The new token is cached.
        client
            .create_external_interview(&request(None))
            .await
            .unwrap();

        assert_eq!(
            create_tokens(&server).await,
            ["Bearer t-old", "Bearer t-new", "Bearer t-new"],
            "{code}"
        );
        assert_eq!(received_on(&server, TOKEN_PATH).await.len(), 2, "{code}");
        server.verify().await;
    }
}

#[tokio::test]
async fn a_token_refused_twice_is_an_auth_error() {
    let server = MockServer::start().await;
    tokens(&server, &[("t-1", 7200), ("t-2", 7200)]).await;
    create_call()
        .respond_with(refused(400, 99_991_663, "invalid access token"))
        .expect(2)
        .mount(&server)
        .await;
    let client = app_client(&server);

    let error = client
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap_err();

    assert_eq!(error.code(), Some(99_991_663));
    assert_eq!(error.category(), Some(ErrorCategory::Auth));
    assert!(!error.is_token_error());
    assert_eq!(error.attempts(), 2);
    assert_eq!(received_on(&server, TOKEN_PATH).await.len(), 2);
    server.verify().await;
}

#[tokio::test]
async fn a_fixed_token_is_sent_as_is_and_not_refreshed() {
    let server = MockServer::start().await;
    token_call()
        .respond_with(token_answer("t-never", 7200))
        .expect(0)
        .mount(&server)
        .await;
    create_call()
        .respond_with(refused(400, 99_991_663, "invalid access token"))
        .expect(1)
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let error = client(&server, &sleeper)
        .build()
        .unwrap()
        .create_external_interview(&request(None))
        .await
        .unwrap_err();

    assert_eq!(error.category(), Some(ErrorCategory::Auth));
    assert_eq!(create_tokens(&server).await, [format!("Bearer {TOKEN}")]);
    server.verify().await;
}

#[tokio::test]
async fn a_failing_token_endpoint_is_retried_like_any_safe_request() {
    let server = MockServer::start().await;
    token_call()
        .respond_with(refused(500, 1_002_001, "system error"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    tokens(&server, &[("t-1", 7200)]).await;
    create_call()
        .respond_with(created("1"))
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .app_credentials(APP_ID, APP_SECRET)
        .retry_policy(quick_retries(3))
        .build()
        .unwrap();

    // The create request has no external_id, but fetching a token creates nothing.
    client
        .create_external_interview(&request(None))
        .await
        .unwrap();

    assert_eq!(received_on(&server, TOKEN_PATH).await.len(), 2);
    assert_eq!(sleeper.waits().len(), 1);
}

/// Starts `count` create calls at once (each with an external_id) and returns their errors.
async fn concurrent_failures(client: &Client, count: usize) -> Vec<Error> {
    let mut calls = JoinSet::new();
    for index in 0..count {
        let client = client.clone();
        calls.spawn(async move {
            client
                .create_external_interview(&request(Some(&format!("ext-{index}"))))
                .await
        });
    }
    let mut errors = Vec::new();
    while let Some(result) = calls.join_next().await {
        errors.push(result.unwrap().unwrap_err());
    }
    errors
}

/// Every call failed for want of a token, and none of them counts as sent.
fn assert_not_sent_for_want_of_a_token(errors: &[Error]) {
    for error in errors {
        assert!(error.is_token_error(), "{error}");
        assert_eq!(error.delivery(), Delivery::NotSent, "{error}");
        assert!(!error.may_have_been_created(), "{error}");
        assert!(
            error
                .to_string()
                .starts_with("could not get a tenant_access_token"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn a_failed_token_fetch_is_shared_with_the_calls_waiting_for_it() {
    let server = MockServer::start().await;
    token_call()
        // Slow, so that every call is waiting for the token while the fetch fails.
        .respond_with(refused(500, 1_002_001, "system error").set_delay(Duration::from_millis(200)))
        .mount(&server)
        .await;
    create_call()
        .respond_with(created("1"))
        .expect(0)
        .mount(&server)
        .await;
    let client = client(&server, &Arc::new(RecordingSleeper::default()))
        .app_credentials(APP_ID, APP_SECRET)
        .retry_policy(quick_retries(2))
        .build()
        .unwrap();

    let errors = concurrent_failures(&client, 20).await;

    // One fetch (two attempts) for all twenty calls, not one fetch per call.
    assert_eq!(received_on(&server, TOKEN_PATH).await.len(), 2);
    assert_not_sent_for_want_of_a_token(&errors);
    for error in &errors {
        assert_eq!(error.code(), Some(1_002_001), "{error}");
        assert_eq!(error.status(), Some(500), "{error}");
    }
    // A call that comes later fetches again: the failure is not cached.
    let later = client
        .create_external_interview(&request(Some("ext-later")))
        .await
        .unwrap_err();
    assert!(later.is_token_error());
    assert_eq!(received_on(&server, TOKEN_PATH).await.len(), 4);
    server.verify().await;
}

#[tokio::test]
async fn a_token_endpoint_that_never_answers_costs_one_fetch_not_one_per_call() {
    let server = MockServer::start().await;
    token_call()
        .respond_with(token_answer("t-1", 7200).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let client = client(&server, &Arc::new(RecordingSleeper::default()))
        .app_credentials(APP_ID, APP_SECRET)
        .timeout(Duration::from_millis(300))
        .retry_policy(quick_retries(2))
        .build()
        .unwrap();

    let started = std::time::Instant::now();
    let errors = concurrent_failures(&client, 10).await;

    // One fetch of two timed-out attempts (0.6 s); one per call would take 6 s.
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(received_on(&server, TOKEN_PATH).await.len(), 2);
    // The token request timed out and was tried again, but that created nothing: the calls
    // themselves were never sent.
    assert_not_sent_for_want_of_a_token(&errors);
    // Every waiter got the one fetch's failure (the same token request), not a fetch of its own.
    let fetches: std::collections::HashSet<_> = errors
        .iter()
        .map(|e| e.request_id().map(str::to_owned))
        .collect();
    assert_eq!(fetches.len(), 1, "{errors:?}");
}
