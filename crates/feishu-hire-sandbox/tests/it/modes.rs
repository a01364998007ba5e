//! The sandbox's configurable behaviour, over HTTP: the three answers to a repeated
//! `external_id` and the 24 h window, the rate limit, and each injected fault reproduced from
//! its seed.

use std::time::Duration;

use crate::common::{Harness, minimal, start};
use feishu_hire_sandbox::{FAULT_HEADER, FaultConfig, IdempotencyMode, SandboxConfig};
use feishu_hire_types::CREATE_EXTERNAL_INTERVIEW;

fn idempotency_window() -> Duration {
    CREATE_EXTERNAL_INTERVIEW
        .idempotency
        .key_window()
        .expect("the spec gives creates an idempotency window")
}

// ---- idempotency ----

#[tokio::test]
async fn return_stored_answers_a_repeat_with_the_first_record_for_24_hours() {
    let harness = start(SandboxConfig::default().idempotency(IdempotencyMode::ReturnStored)).await;
    let token = harness.token().await;
    let first = harness.create(&token, &minimal("ats-1")).await;
    assert_eq!(first.code(), 0);

    let repeat = harness.create(&token, &minimal("ats-1")).await;
    assert_eq!((repeat.status, repeat.code()), (200, 0));
    assert_eq!(repeat.interview_id(), first.interview_id());

    // Tokens live 2 h, so each step past the window needs a new one.
    harness
        .clock
        .advance(idempotency_window() - Duration::from_millis(1));
    let token = harness.token().await;
    let late_repeat = harness.create(&token, &minimal("ats-1")).await;
    assert_eq!(late_repeat.interview_id(), first.interview_id());

    harness.clock.advance(Duration::from_millis(1));
    let token = harness.token().await;
    let after_window = harness.create(&token, &minimal("ats-1")).await;
    assert_eq!(after_window.code(), 0);
    assert_ne!(after_window.interview_id(), first.interview_id());

    let stats = harness.sandbox.stats();
    assert_eq!(stats.attempts_by_external_id["ats-1"], 4);
    assert_eq!(stats.stored_by_external_id["ats-1"], 2);
    assert_eq!(stats.returned_stored, 2);
    assert_eq!(stats.created, 2);
}

#[tokio::test]
async fn reject_refuses_a_repeat_with_the_configured_code_for_24_hours() {
    let harness =
        start(SandboxConfig::default().idempotency(IdempotencyMode::Reject { code: 1234567 }))
            .await;
    let token = harness.token().await;
    assert_eq!(harness.create(&token, &minimal("ats-1")).await.code(), 0);

    let repeat = harness.create(&token, &minimal("ats-1")).await;
    assert_eq!((repeat.status, repeat.code()), (400, 1234567));
    assert_eq!(repeat.violated_fields(), ["external_id"]);
    insta::assert_json_snapshot!(repeat.body, { ".error.log_id" => "[log_id]" });

    harness.clock.advance(idempotency_window());
    let token = harness.token().await;
    assert_eq!(harness.create(&token, &minimal("ats-1")).await.code(), 0);

    let stats = harness.sandbox.stats();
    assert_eq!(stats.rejected_duplicates, 1);
    assert_eq!(stats.stored_by_external_id["ats-1"], 2);
    assert_eq!(
        IdempotencyMode::reject(),
        IdempotencyMode::Reject { code: 1002002 }
    );
}

#[tokio::test]
async fn off_stores_every_attempt_so_duplicates_show() {
    let harness = start(SandboxConfig::default().idempotency(IdempotencyMode::Off)).await;
    let token = harness.token().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            harness
                .create(&token, &minimal("ats-1"))
                .await
                .interview_id(),
        );
    }
    harness.create(&token, &minimal("ats-2")).await;
    ids.dedup();
    assert_eq!(ids.len(), 3);

    let stats = harness.sandbox.stats();
    assert_eq!(stats.stored_by_external_id["ats-1"], 3);
    assert_eq!(
        stats
            .stored_more_than_once()
            .into_iter()
            .collect::<Vec<_>>(),
        [("ats-1", 3)]
    );
}

#[tokio::test]
async fn creates_without_external_id_are_never_deduplicated() {
    let harness = start(SandboxConfig::default()).await;
    let token = harness.token().await;
    let body = serde_json::json!({"external_application_id": "6960663240925956437"});
    let first = harness.create(&token, &body).await;
    let second = harness.create(&token, &body).await;
    assert_ne!(first.interview_id(), second.interview_id());
    assert_eq!(harness.sandbox.stats().created, 2);
}

// ---- rate limit ----

#[tokio::test]
async fn the_spec_rate_limit_answers_429_with_its_headers_per_app() {
    let harness = start(SandboxConfig::default().idempotency(IdempotencyMode::Off)).await;
    let token = harness.token().await;
    for _ in 0..10 {
        assert_eq!(harness.create(&token, &minimal("ats-1")).await.code(), 0);
    }
    let limited = harness.create(&token, &minimal("ats-1")).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("x-ogw-ratelimit-limit"), Some("10"));
    assert_eq!(limited.header("x-ogw-ratelimit-reset"), Some("1"));
    assert_eq!(limited.header(FAULT_HEADER), None);
    insta::assert_json_snapshot!(limited.body, { ".error.log_id" => "[log_id]" });

    // Another app has its own budget; time refills this one's.
    let other = harness.token_for("cli_other").await;
    assert_eq!(harness.create(&other, &minimal("ats-2")).await.code(), 0);
    harness.clock.advance(Duration::from_secs(1));
    assert_eq!(harness.create(&token, &minimal("ats-1")).await.code(), 0);

    let stats = harness.sandbox.stats();
    assert_eq!(stats.rate_limited, 1);
    assert_eq!(stats.attempts_by_external_id["ats-1"], 12);
    assert_eq!(stats.stored_by_external_id["ats-1"], 11);
}

#[tokio::test]
async fn the_rate_limit_is_configurable_and_can_be_switched_off() {
    let harness = start(
        SandboxConfig::default()
            .idempotency(IdempotencyMode::Off)
            .rate_limit_per_second(2),
    )
    .await;
    let token = harness.token().await;
    for _ in 0..2 {
        assert_eq!(harness.create(&token, &minimal("ats-1")).await.code(), 0);
    }
    let limited = harness.create(&token, &minimal("ats-1")).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("x-ogw-ratelimit-limit"), Some("2"));

    let unlimited = start(
        SandboxConfig::default()
            .idempotency(IdempotencyMode::Off)
            .no_rate_limit(),
    )
    .await;
    let token = unlimited.token().await;
    for _ in 0..25 {
        assert_eq!(unlimited.create(&token, &minimal("ats-1")).await.code(), 0);
    }
}

// ---- faults ----

/// What the client saw for one create.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Created,
    ServerError,
    RateLimited,
    Delayed,
    Cut,
}

/// Sends `count` creates with distinct `external_id`s (`ats-0`, `ats-1`, …), one after the
/// other, and checks each answer against its fault.
async fn outcomes(harness: &Harness, count: usize) -> Vec<Outcome> {
    let token = harness.token().await;
    let mut outcomes = Vec::new();
    for index in 0..count {
        let external_id = format!("ats-{index}");
        let Ok(answer) = harness.try_create(&token, &minimal(&external_id)).await else {
            // A cut connection: no answer, yet the record is stored.
            assert_eq!(
                harness.sandbox.stats().stored_by_external_id[&external_id],
                1
            );
            outcomes.push(Outcome::Cut);
            continue;
        };
        let outcome = match (answer.status, answer.header(FAULT_HEADER)) {
            (200, None) => Outcome::Created,
            (200, Some("delay")) => Outcome::Delayed,
            (500, Some("server_error")) => {
                assert_eq!(answer.code(), 1002001);
                Outcome::ServerError
            }
            (429, Some("rate_limit")) => {
                assert_eq!(answer.code(), 99991400);
                assert_eq!(answer.header("x-ogw-ratelimit-limit"), Some("10"));
                assert_eq!(answer.header("x-ogw-ratelimit-reset"), Some("1"));
                Outcome::RateLimited
            }
            other => panic!("unexpected answer {other:?}: {:?}", answer.body),
        };
        let stored = harness
            .sandbox
            .stats()
            .stored_by_external_id
            .get(&external_id)
            .copied();
        let expect_stored = matches!(outcome, Outcome::Created | Outcome::Delayed);
        assert_eq!(
            stored,
            expect_stored.then_some(1),
            "{external_id}: {outcome:?}"
        );
        outcomes.push(outcome);
    }
    outcomes
}

async fn run_with(faults: FaultConfig, count: usize) -> Vec<Outcome> {
    // No real rate limit, so every 429 is an injected one.
    let harness = start(SandboxConfig::default().no_rate_limit().faults(faults)).await;
    let seen = outcomes(&harness, count).await;
    let stats = harness.sandbox.stats();
    let count_of = |kind: Outcome| seen.iter().filter(|o| **o == kind).count() as u64;
    assert_eq!(stats.faults.server_errors, count_of(Outcome::ServerError));
    assert_eq!(stats.faults.rate_limits, count_of(Outcome::RateLimited));
    assert_eq!(stats.faults.delays, count_of(Outcome::Delayed));
    assert_eq!(stats.faults.cuts_after_store, count_of(Outcome::Cut));
    assert_eq!(stats.create_attempts, count as u64);
    harness.sandbox.shutdown().await;
    seen
}

#[tokio::test]
async fn each_fault_kind_is_reproducible_from_its_seed() {
    let delay = Duration::from_millis(2);
    let kinds = [
        (
            FaultConfig::seeded(7).server_error_rate(0.5),
            Outcome::ServerError,
        ),
        (
            FaultConfig::seeded(7).rate_limit_rate(0.5),
            Outcome::RateLimited,
        ),
        (
            FaultConfig::seeded(7).delay_rate(0.5).delay(delay),
            Outcome::Delayed,
        ),
        (
            FaultConfig::seeded(7).cut_after_store_rate(0.5),
            Outcome::Cut,
        ),
    ];
    for (faults, kind) in kinds {
        let first = run_with(faults.clone(), 12).await;
        assert!(first.contains(&kind), "{kind:?}: {first:?}");
        assert!(first.contains(&Outcome::Created), "{kind:?}: {first:?}");
        assert_eq!(run_with(faults.clone(), 12).await, first, "{kind:?}");
        assert_ne!(run_with(faults.seed(8), 12).await, first, "{kind:?}");
    }
}

#[tokio::test]
async fn mixed_faults_follow_the_same_sequence_for_the_same_seed() {
    let faults = FaultConfig::seeded(2024)
        .server_error_rate(0.2)
        .rate_limit_rate(0.2)
        .delay_rate(0.2)
        .delay(Duration::from_millis(1))
        .cut_after_store_rate(0.2);
    let first = run_with(faults.clone(), 30).await;
    for kind in [
        Outcome::Created,
        Outcome::ServerError,
        Outcome::RateLimited,
        Outcome::Delayed,
        Outcome::Cut,
    ] {
        assert!(first.contains(&kind), "{kind:?}: {first:?}");
    }
    assert_eq!(run_with(faults, 30).await, first);
}

#[tokio::test]
async fn a_retry_after_a_cut_finds_the_stored_record() {
    let harness = start(
        SandboxConfig::default()
            .idempotency(IdempotencyMode::ReturnStored)
            .faults(FaultConfig::seeded(1).cut_after_store_rate(1.0)),
    )
    .await;
    let token = harness.token().await;
    let cut = harness.try_create(&token, &minimal("ats-1")).await;
    assert!(
        cut.is_err(),
        "a cut connection is an error, not an answer: {cut:?}"
    );
    // Every create is cut here, including the retry answered from the store.
    assert!(harness.try_create(&token, &minimal("ats-1")).await.is_err());

    let stats = harness.sandbox.stats();
    assert_eq!(stats.attempts_by_external_id["ats-1"], 2);
    assert_eq!(stats.stored_by_external_id["ats-1"], 1);
    assert_eq!(stats.returned_stored, 1);
    assert_eq!(stats.faults.cuts_after_store, 2);
    assert_eq!(harness.sandbox.records().len(), 1);
}

#[tokio::test]
async fn bad_fault_settings_are_refused_at_spawn() {
    let refused = feishu_hire_sandbox::spawn(
        SandboxConfig::default().faults(
            FaultConfig::seeded(1)
                .server_error_rate(0.7)
                .cut_after_store_rate(0.7),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::InvalidInput);
    assert!(refused.to_string().contains("at most 1"), "{refused}");
}
