//! The client against the sandbox with faults on: retries never store a record twice.
//!
//! The sandbox injects 5xx answers, 429s and connections cut *after* the record was stored
//! (the case that makes retries dangerous). Every request carries an `external_id`, so the
//! client retries; the sandbox's counters must show each record stored exactly once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use feishu_hire_client::{
    AlreadyExistsRule, Client, CreateOutcome, RetryPolicy, SleepFuture, Sleeper,
};
use feishu_hire_sandbox::{FaultConfig, IdempotencyMode, Sandbox, SandboxConfig};
use feishu_hire_types::{CreateExternalInterviewRequest, ParticipateStatus};

const RECORDS: usize = 80;

/// Does not sleep (the sandbox asks for whole seconds on a 429); remembers what was asked.
#[derive(Default)]
struct InstantSleeper {
    waits: Mutex<Vec<Duration>>,
}

impl Sleeper for InstantSleeper {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        if let Ok(mut waits) = self.waits.lock() {
            waits.push(duration);
        }
        Box::pin(async {})
    }
}

fn faults(seed: u64) -> FaultConfig {
    FaultConfig::default()
        .seed(seed)
        .server_error_rate(0.10)
        .rate_limit_rate(0.05)
        .cut_after_store_rate(0.10)
}

async fn sandbox(idempotency: IdempotencyMode, seed: u64) -> Sandbox {
    let config = SandboxConfig::default()
        .no_rate_limit()
        .idempotency(idempotency)
        .faults(faults(seed));
    feishu_hire_sandbox::spawn(config)
        .await
        .expect("the sandbox starts on 127.0.0.1")
}

fn client(sandbox: &Sandbox, rule: AlreadyExistsRule, sleeper: Arc<InstantSleeper>) -> Client {
    Client::builder()
        .base_url(sandbox.base_url())
        .app_credentials("cli_test_app", "test-secret")
        .no_rate_limit()
        .retry_policy(
            RetryPolicy::new()
                .max_attempts(12)
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(5))
                .total_deadline(Duration::from_secs(30)),
        )
        .already_exists(rule)
        .sleeper(sleeper)
        .build()
        .expect("a valid client")
}

fn request(i: usize) -> CreateExternalInterviewRequest {
    CreateExternalInterviewRequest::new(format!("69606632409259{i:05}"))
        .external_id(format!("ats-{i:05}"))
        .participate_status(ParticipateStatus::Participated)
        .begin_time(1_618_500_000_000 + i as i64 * 3_600_000)
        .end_time(1_618_500_000_000 + i as i64 * 3_600_000 + 1_800_000)
}

/// Sends every request concurrently; returns how many were answered as created vs. already there.
async fn create_all(client: &Client) -> (usize, usize) {
    let calls = (0..RECORDS).map(|i| {
        let client = client.clone();
        async move {
            let outcome = client.create_external_interview(&request(i)).await;
            (i, outcome)
        }
    });
    let mut created = 0;
    let mut already = 0;
    for (i, outcome) in futures::future::join_all(calls).await {
        match outcome {
            Ok(CreateOutcome::Created { .. }) => created += 1,
            Ok(CreateOutcome::AlreadyExists { .. }) => already += 1,
            Ok(other) => panic!("record {i}: unexpected outcome {other:?}"),
            Err(error) => panic!("record {i} failed: {error}"),
        }
    }
    (created, already)
}

fn assert_each_stored_once(sandbox: &Sandbox) {
    let stats = sandbox.stats();
    assert_eq!(stats.stored_by_external_id.len(), RECORDS, "{stats:?}");
    for (external_id, stored) in &stats.stored_by_external_id {
        assert_eq!(*stored, 1, "{external_id} stored {stored} times");
    }
    assert_eq!(sandbox.records().len(), RECORDS);
    let attempts: u64 = stats.attempts_by_external_id.values().sum();
    assert!(
        attempts > RECORDS as u64,
        "the faults should have forced retries, got {attempts} attempts"
    );
}

#[tokio::test]
async fn retries_store_each_record_once_when_feishu_returns_the_stored_record() {
    let sandbox = sandbox(IdempotencyMode::ReturnStored, 11).await;
    let sleeper = Arc::new(InstantSleeper::default());
    let client = client(&sandbox, AlreadyExistsRule::none(), sleeper.clone());

    let (created, already) = create_all(&client).await;

    // A repeat answered with the stored record looks like a success to the client.
    assert_eq!((created, already), (RECORDS, 0));
    assert_each_stored_once(&sandbox);
    assert!(!sleeper.waits.lock().map(|w| w.is_empty()).unwrap_or(true));
}

#[tokio::test]
async fn retries_store_each_record_once_when_feishu_rejects_the_repeat() {
    const DUPLICATE_CODE: i64 = 1_002_002;
    let sandbox = sandbox(
        IdempotencyMode::Reject {
            code: DUPLICATE_CODE,
        },
        12,
    )
    .await;
    let sleeper = Arc::new(InstantSleeper::default());
    let client = client(
        &sandbox,
        AlreadyExistsRule::codes([DUPLICATE_CODE]),
        sleeper,
    );

    let (created, already) = create_all(&client).await;

    // Each connection cut after the store turns into "already exists" on the retry.
    assert_eq!(created + already, RECORDS);
    assert!(already > 0, "seed 12 cuts some connections after storing");
    assert_each_stored_once(&sandbox);
}
