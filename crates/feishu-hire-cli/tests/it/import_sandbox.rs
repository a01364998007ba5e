//! The importer (as a library) against an in-process sandbox with faults: no record is lost
//! or created twice, confirmed records are never re-sent, the failures file is valid re-run
//! input, `examples/bad.jsonl`'s valid lines go through, and the committed examples are the
//! generator's output.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use feishu_hire_cli::{
    Console, Ending, ImportConfig, JournalLocation, ProgressMode, Summary, Target, examples, import,
};
use feishu_hire_client::{Client, RetryPolicy, SleepFuture, Sleeper};
use feishu_hire_sandbox::{FaultConfig, IdempotencyMode, Sandbox, SandboxConfig};

/// Retries wait 1 ms instead of the real backoff, so fault-heavy tests stay quick.
struct QuickSleeper;

impl Sleeper for QuickSleeper {
    fn sleep(&self, _: Duration) -> SleepFuture {
        Box::pin(tokio::time::sleep(Duration::from_millis(1)))
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn write_input(dir: &Path, name: &str, count: u64, seed: u64) -> (PathBuf, BTreeSet<String>) {
    let path = dir.join(name);
    let lines: Vec<String> = examples::interview_lines(seed, count, &format!("t{seed}-")).collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let ids = lines
        .iter()
        .map(|l| {
            let value: serde_json::Value = serde_json::from_str(l).unwrap();
            value["external_id"].as_str().unwrap().to_owned()
        })
        .collect();
    (path, ids)
}

async fn sandbox(idempotency: IdempotencyMode, faults: FaultConfig) -> Sandbox {
    feishu_hire_sandbox::spawn(
        SandboxConfig::default()
            .no_rate_limit()
            .idempotency(idempotency)
            .faults(faults),
    )
    .await
    .unwrap()
}

fn target(sandbox: &Sandbox, attempts: u32) -> Target {
    let client = Client::builder()
        .base_url(sandbox.base_url())
        .app_credentials("test-app", "test-secret")
        .no_rate_limit()
        .retry_policy(RetryPolicy::new().max_attempts(attempts))
        .sleeper(Arc::new(QuickSleeper))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    Target::new(client, format!("test sandbox at {}", sandbox.base_url()))
}

fn config(input: &Path, journal: &Path) -> ImportConfig {
    let mut config = ImportConfig::new(input);
    config.journal = JournalLocation::Path(journal.to_owned());
    config.progress = ProgressMode::Off;
    config.concurrency = 8;
    config
}

async fn run(config: &ImportConfig, target: &Target) -> (Summary, String) {
    let (console, output) = Console::buffer();
    let (_interrupt, interrupts) = tokio::sync::watch::channel(0u32);
    let summary = import(config, target, interrupts, &console).await.unwrap();
    (summary, output.text())
}

fn stored_ids(sandbox: &Sandbox) -> Vec<String> {
    sandbox
        .stats()
        .stored_by_external_id
        .iter()
        .flat_map(|(id, count)| std::iter::repeat_n(id.clone(), *count as usize))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_and_cut_connections_neither_lose_nor_duplicate_records() {
    let dir = tempfile::tempdir().unwrap();
    let (input, ids) = write_input(dir.path(), "in.jsonl", 150, 11);
    let sandbox = sandbox(
        IdempotencyMode::ReturnStored,
        FaultConfig::seeded(42)
            .server_error_rate(0.10)
            .rate_limit_rate(0.05)
            .cut_after_store_rate(0.05),
    )
    .await;
    let target = target(&sandbox, 8);
    let config = config(&input, &dir.path().join("in.journal"));
    // Like a person would: run again while anything failed (the journal makes it resume).
    let mut runs = Vec::new();
    for _ in 0..3 {
        let (summary, output) = run(&config, &target).await;
        let failed = summary.failed;
        runs.push((summary, output));
        if failed == 0 {
            break;
        }
    }
    let (last, output) = runs.last().unwrap();
    assert_eq!(last.ending, Ending::Finished, "{output}");
    assert_eq!(last.exit_code, 0, "{output}");
    assert_eq!(last.in_target(), 150, "{last:?}");

    let stats = sandbox.stats();
    assert!(
        stats.faults.server_errors > 0
            && stats.faults.rate_limits > 0
            && stats.faults.cuts_after_store > 0,
        "the faults must have happened: {:?}",
        stats.faults
    );
    // Exactly the input's records, none twice, none missing.
    let stored = stored_ids(&sandbox);
    assert_eq!(stored.len(), 150);
    assert_eq!(stored.into_iter().collect::<BTreeSet<_>>(), ids);
    assert_eq!(sandbox.records().len(), 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_idempotency_every_record_is_created_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (input, ids) = write_input(dir.path(), "in.jsonl", 150, 12);
    // Faults that store nothing: with idempotency off, any re-send of a record the sandbox
    // stored would show up as a second stored copy.
    let sandbox = sandbox(
        IdempotencyMode::Off,
        FaultConfig::seeded(7)
            .server_error_rate(0.10)
            .rate_limit_rate(0.05)
            .delay_rate(0.05)
            .delay(Duration::from_millis(20)),
    )
    .await;
    let target = target(&sandbox, 10);
    let config = config(&input, &dir.path().join("in.journal"));
    let (summary, output) = run(&config, &target).await;
    assert_eq!(summary.created, 150, "{output}");
    assert_eq!(summary.exit_code, 0, "{output}");

    let stats = sandbox.stats();
    assert!(stats.stored_more_than_once().is_empty(), "{stats:?}");
    assert_eq!(
        stats
            .stored_by_external_id
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        ids
    );
    // Every attempt either failed with an injected fault (nothing stored) or created its
    // record: no request was made after a record's confirmation. (Faults also hit the
    // end-of-run check's queries, hence at most.)
    assert_eq!(stats.created, 150, "{stats:?}");
    assert!(
        stats.create_attempts - stats.created
            <= stats.faults.server_errors + stats.faults.rate_limits,
        "{stats:?}"
    );
    // Records created after a server error may have been created twice: the check read them
    // back and found each once.
    assert_eq!(summary.created_maybe_twice, 0, "{summary:?}");
    assert!(summary.checked_in_target > 0, "{summary:?}");
    for id in &ids {
        assert_eq!(stats.stored_by_external_id[id], 1, "{id}");
    }

    // A second run finds everything confirmed in the journal and sends nothing.
    let attempts_before = stats.attempts_by_external_id.clone();
    let (again, output) = run(&config, &target).await;
    assert_eq!(again.confirmed_earlier, 150, "{output}");
    assert_eq!(
        again.created + again.failed + again.not_sent,
        0,
        "{again:?}"
    );
    assert_eq!(sandbox.stats().attempts_by_external_id, attempts_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failures_file_is_valid_input_for_a_re_run() {
    let dir = tempfile::tempdir().unwrap();
    let (input, ids) = write_input(dir.path(), "batch.jsonl", 100, 13);
    let sandbox = sandbox(
        IdempotencyMode::ReturnStored,
        FaultConfig::seeded(3).server_error_rate(0.3),
    )
    .await;
    // One attempt each: about a third of the records fail with a server error.
    let (first, output) = run(
        &config(&input, &dir.path().join("a.journal")),
        &target(&sandbox, 1),
    )
    .await;
    assert!(first.failed > 0 && first.created > 0, "{first:?}");
    assert_eq!(first.exit_code, 1);
    let failures = PathBuf::from(first.failures_file.clone().unwrap());
    assert_eq!(failures, dir.path().join("batch.failures.jsonl"));
    let failed_lines = std::fs::read_to_string(&failures).unwrap();
    assert_eq!(
        failed_lines.lines().count() as u64,
        first.failed,
        "{output}"
    );

    // The report says where each record came from and why it failed, with Feishu's code and log id.
    let report =
        std::fs::read_to_string(PathBuf::from(first.failures_report.clone().unwrap())).unwrap();
    for (number, line) in report.lines().enumerate() {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(entry["kind"], "failed");
        assert_eq!(entry["failures_line"], number as u64 + 1);
        assert_eq!(entry["code"], 1002001);
        assert!(
            entry["log_id"].as_str().is_some_and(|l| !l.is_empty()),
            "{line}"
        );
        assert!(entry["input_line"].as_u64().unwrap() >= 1);
        // A server error may have created it; the end-of-run check found it absent, or (its
        // one query attempt also met a fault) could not tell, and says so.
        let reason = entry["reason"].as_str().unwrap();
        assert!(
            reason.contains("the target does not hold it (checked): not created")
                || reason.contains("the check could not tell"),
            "{line}"
        );
    }

    // Import the failures file itself, with retries: everything lands, once.
    let (second, output) = run(
        &config(&failures, &dir.path().join("b.journal")),
        &target(&sandbox, 10),
    )
    .await;
    assert_eq!(second.records, first.failed, "{output}");
    assert_eq!(second.exit_code, 0, "{output}");
    assert!(sandbox.stats().stored_more_than_once().is_empty());
    assert_eq!(
        stored_ids(&sandbox).into_iter().collect::<BTreeSet<_>>(),
        ids
    );
    assert_eq!(stored_ids(&sandbox).len(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_valid_lines_of_bad_jsonl_go_through() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.jsonl");
    std::fs::copy(workspace_root().join("examples/bad.jsonl"), &input).unwrap();
    let sandbox = sandbox(IdempotencyMode::ReturnStored, FaultConfig::none()).await;
    let (summary, output) = run(&config(&input, &dir.path().join("j")), &target(&sandbox, 3)).await;
    assert_eq!(
        (
            summary.records,
            summary.created,
            summary.invalid,
            summary.duplicates,
            summary.warnings
        ),
        (20, 7, 12, 1, 4),
        "{output}"
    );
    assert_eq!(summary.exit_code, 1);
    let expected: BTreeSet<String> = [
        "bad-demo-000001",
        "bad-demo-000002",
        "bad-008",
        "bad-011",
        "bad-012",
        "bad-demo-000003",
        "bad-demo-000004",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(
        stored_ids(&sandbox).into_iter().collect::<BTreeSet<_>>(),
        expected
    );
    // The 13 rejected records: 12 copied (the huge one is only in the report).
    let failures = std::fs::read_to_string(dir.path().join("bad.failures.jsonl")).unwrap();
    let report = std::fs::read_to_string(dir.path().join("bad.failures.report.jsonl")).unwrap();
    assert_eq!((failures.lines().count(), report.lines().count()), (12, 13));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_arrays_and_derived_ids_import_too() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("array.json");
    let records: Vec<serde_json::Value> = examples::interview_lines(5, 20, "arr-")
        .map(|l| {
            let mut value: serde_json::Value = serde_json::from_str(&l).unwrap();
            value.as_object_mut().unwrap().remove("external_id");
            value
        })
        .collect();
    std::fs::write(&input, serde_json::to_string_pretty(&records).unwrap()).unwrap();
    let sandbox = sandbox(IdempotencyMode::ReturnStored, FaultConfig::none()).await;
    let target = target(&sandbox, 3);
    let mut config = config(&input, &dir.path().join("j"));

    // Without ids the import refuses to start and sends nothing.
    let (console, output) = Console::buffer();
    let (_interrupt, interrupts) = tokio::sync::watch::channel(0u32);
    let refusal = import(&config, &target, interrupts, &console)
        .await
        .unwrap_err();
    assert!(
        refusal.message.contains("--derive-external-id"),
        "{refusal}\n{}",
        output.text()
    );
    assert_eq!(sandbox.stats().create_attempts, 0);
    assert!(
        !dir.path().join("j").exists(),
        "a refused run leaves no journal"
    );

    config.check.derive_external_ids = true;
    let (summary, output) = run(&config, &target).await;
    assert_eq!(summary.created, 20, "{output}");
    let stored = stored_ids(&sandbox);
    assert_eq!(stored.len(), 20);
    assert!(stored.iter().all(|id| id.starts_with("fh1-")), "{stored:?}");
}

#[test]
fn the_committed_examples_are_the_generators_output() {
    let root = workspace_root();
    let committed = |name: &str| std::fs::read_to_string(root.join("examples").join(name)).unwrap();
    assert!(
        committed("interviews.jsonl") == examples::interviews_jsonl(),
        "examples/interviews.jsonl is stale: run `cargo run -p feishu-hire-cli -- gen-examples`"
    );
    assert!(
        committed("bad.jsonl") == examples::bad_jsonl(),
        "examples/bad.jsonl is stale: run `cargo run -p feishu-hire-cli -- gen-examples`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_interrupt_seen_at_once_stops_the_run_too() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = write_input(dir.path(), "in.jsonl", 200, 21);
    // Every create waits, so requests are in flight when the signals arrive.
    let faults = FaultConfig::none()
        .delay_rate(1.0)
        .delay(Duration::from_millis(50));
    let sandbox = sandbox(IdempotencyMode::ReturnStored, faults).await;
    let target = target(&sandbox, 3);
    let config = config(&input, &dir.path().join("j"));
    let (console, output) = Console::buffer();
    let (interrupt, interrupts) = tokio::sync::watch::channel(0u32);
    let importing = tokio::spawn({
        let console = console.clone();
        async move { import(&config, &target, interrupts, &console).await }
    });
    while sandbox.stats().create_attempts == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Two signals before the loop looks: it sees only the count, 2.
    interrupt.send(2).unwrap();
    let summary = importing.await.unwrap().unwrap();
    let output = output.text();
    assert_eq!(summary.ending, Ending::Interrupted, "{output}");
    assert_eq!(summary.exit_code, 130, "{output}");
    assert!(summary.not_sent > 0, "{summary:?}");
}

/// The journal's record entries (header lines left out), in order.
fn journal_entries(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|entry| entry.get("record").is_some())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_leaves_no_intent_open_and_the_next_sends_the_rest_unchecked() {
    let dir = tempfile::tempdir().unwrap();
    let (input, ids) = write_input(dir.path(), "in.jsonl", 300, 24);
    let faults = FaultConfig::none()
        .delay_rate(1.0)
        .delay(Duration::from_millis(20));
    let sandbox = sandbox(IdempotencyMode::ReturnStored, faults).await;
    let target = target(&sandbox, 3);
    let journal = dir.path().join("j");
    let mut config = config(&input, &journal);
    config.concurrency = 4;
    let (console, output) = Console::buffer();
    let (interrupt, interrupts) = tokio::sync::watch::channel(0u32);
    let importing = tokio::spawn({
        let (config, target, console) = (config.clone(), target.clone(), console.clone());
        async move { import(&config, &target, interrupts, &console).await }
    });
    while sandbox.stats().create_attempts < 10 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    interrupt.send(1).unwrap();
    let first = importing.await.unwrap().unwrap();
    assert_eq!(first.ending, Ending::Interrupted, "{}", output.text());
    assert!(first.not_sent > 0, "{first:?}");

    // Every intent is closed: by its answer, or as never sent (then the sandbox never saw it).
    let entries = journal_entries(&journal);
    let mut open = BTreeSet::new();
    let mut never_sent = BTreeSet::new();
    for entry in &entries {
        let record = entry["record"].as_u64().unwrap();
        if entry["result"] == "sending" {
            assert!(open.insert(record), "two intents for record {record}");
        } else {
            assert!(open.remove(&record), "an answer without intent: {entry}");
            if entry["reason"]
                .as_str()
                .is_some_and(|reason| reason.starts_with("not sent: the run stopped"))
            {
                never_sent.insert(entry["external_id"].as_str().unwrap().to_owned());
            }
        }
    }
    assert!(open.is_empty(), "intents left open: {open:?}");
    let stored: BTreeSet<String> = stored_ids(&sandbox).into_iter().collect();
    assert!(never_sent.is_disjoint(&stored), "{never_sent:?}");
    assert!(never_sent.len() < config.concurrency, "{never_sent:?}");

    // The next run has nothing uncertain to check first, and sends exactly the rest.
    let (second, output) = run(&config, &target).await;
    assert_eq!(second.uncertain_earlier, 0, "{output}");
    assert_eq!(second.checked_in_target, 0, "{output}");
    assert_eq!(first.created + second.created, 300, "{first:?}\n{second:?}");
    assert_eq!(stored_ids(&sandbox).len(), 300);
    assert_eq!(
        stored_ids(&sandbox).into_iter().collect::<BTreeSet<_>>(),
        ids
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_during_the_check_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = write_input(dir.path(), "in.jsonl", 50, 23);
    let sandbox = sandbox(IdempotencyMode::ReturnStored, FaultConfig::none()).await;
    let target = target(&sandbox, 3);
    let config = config(&input, &dir.path().join("j"));
    let (console, _) = Console::buffer();
    let (interrupt, interrupts) = tokio::sync::watch::channel(0u32);
    interrupt.send(1).unwrap();
    let refusal = import(&config, &target, interrupts, &console)
        .await
        .unwrap_err();
    assert_eq!(refusal.exit_code, 130, "{refusal}");
    assert_eq!(sandbox.stats().create_attempts, 0);
    assert!(!dir.path().join("j").exists(), "nothing sent, no journal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_array_with_a_byte_order_mark_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bom.json");
    let records: Vec<serde_json::Value> = examples::interview_lines(6, 20, "bom-")
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect();
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(serde_json::to_vec_pretty(&records).unwrap());
    std::fs::write(&input, bytes).unwrap();
    let sandbox = sandbox(IdempotencyMode::ReturnStored, FaultConfig::none()).await;
    let target = target(&sandbox, 3);
    let (summary, output) = run(&config(&input, &dir.path().join("j")), &target).await;
    assert_eq!(
        (summary.created, summary.not_sent, summary.exit_code),
        (20, 0, 0),
        "{output}"
    );
    assert_eq!(stored_ids(&sandbox).len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_or_failures_path_equal_to_the_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = write_input(dir.path(), "in.jsonl", 1, 22);
    let original = std::fs::read(&input).unwrap();
    let sandbox = sandbox(IdempotencyMode::ReturnStored, FaultConfig::none()).await;
    let target = target(&sandbox, 3);

    let mut as_failures = config(&input, &dir.path().join("j"));
    as_failures.failures = Some(dir.path().join(".").join("in.jsonl"));
    let as_journal = config(&input, &input);
    for config in [as_failures, as_journal] {
        let (console, _) = Console::buffer();
        let (_interrupt, interrupts) = tokio::sync::watch::channel(0u32);
        let refusal = import(&config, &target, interrupts, &console)
            .await
            .unwrap_err();
        assert!(refusal.message.contains("is the input itself"), "{refusal}");
        assert_eq!(std::fs::read(&input).unwrap(), original);
    }
    assert_eq!(sandbox.stats().create_attempts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_with_other_id_options_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("no-ids.jsonl");
    let lines: Vec<String> = examples::interview_lines(7, 5, "opt-")
        .map(|l| {
            let mut value: serde_json::Value = serde_json::from_str(&l).unwrap();
            value.as_object_mut().unwrap().remove("external_id");
            value.to_string()
        })
        .collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let sandbox = sandbox(IdempotencyMode::ReturnStored, FaultConfig::none()).await;
    let target = target(&sandbox, 3);
    let mut config = config(&input, &dir.path().join("j"));
    config.check.derive_external_ids = true;
    let (summary, output) = run(&config, &target).await;
    assert_eq!(summary.created, 5, "{output}");

    // Run 2 without --derive-external-id but with --allow-unsafe-retries: refused.
    config.check.derive_external_ids = false;
    config.allow_unsafe_retries = true;
    let (console, _) = Console::buffer();
    let (_interrupt, interrupts) = tokio::sync::watch::channel(0u32);
    let refusal = import(&config, &target, interrupts, &console)
        .await
        .unwrap_err();
    assert!(
        refusal.message.contains("--derive-external-id"),
        "{refusal}"
    );
    assert_eq!(sandbox.stats().create_attempts, 5);
}

/// A server on 127.0.0.1 that accepts connections and never answers; its address.
async fn silent_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = listener.accept().await {
            held.push(connection);
        }
    });
    format!("http://{address}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_cannot_be_had_stops_the_run_at_once_with_every_record_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = write_input(dir.path(), "in.jsonl", 40, 31);
    let base_url = silent_server().await;
    // No preflight: the calls themselves need the token, eight at a time.
    let client = Client::builder()
        .base_url(&base_url)
        .app_credentials("test-app", "test-secret")
        .no_rate_limit()
        .retry_policy(RetryPolicy::new().max_attempts(2))
        .sleeper(Arc::new(QuickSleeper))
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let target = Target::new(client, "a silent server");
    let config = config(&input, &dir.path().join("in.journal"));

    let started = std::time::Instant::now();
    let (summary, output) = run(&config, &target).await;

    // One token fetch (two timed-out attempts) for every waiting call, not one per call.
    assert!(started.elapsed() < Duration::from_secs(3), "{output}");
    assert_eq!(summary.ending, Ending::Aborted, "{output}");
    assert_eq!(summary.exit_code, 3);
    assert_eq!(summary.failed, 0, "never sent, so not failed: {summary:?}");
    assert_eq!(summary.not_sent, 40, "{summary:?}");
    assert!(summary.failures_file.is_none(), "{summary:?}");
    let reason = summary.abort_reason.clone().unwrap();
    assert!(
        reason.starts_with("no access token could be had"),
        "{reason}"
    );
    let text = summary.to_string();
    assert!(!text.contains("sent but not confirmed"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_url_with_a_path_gets_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = write_input(dir.path(), "in.jsonl", 3, 32);
    let sandbox = sandbox(IdempotencyMode::ReturnStored, FaultConfig::default()).await;
    let base_url = format!("{}/open-apis", sandbox.base_url());
    let client = |attempts| {
        Client::builder()
            .base_url(&base_url)
            .app_credentials("test-app", "test-secret")
            .no_rate_limit()
            .retry_policy(RetryPolicy::new().max_attempts(attempts))
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
    };
    let target = Target::new(client(2), "the sandbox, with a path").with_preflight(
        feishu_hire_cli::Preflight::new(client(1), "test-app", "test-secret"),
    );
    let config = config(&input, &dir.path().join("in.journal"));
    let (summary, output) = run(&config, &target).await;
    assert_eq!(summary.exit_code, 3, "{output}");
    assert_eq!(summary.not_sent, 3, "{summary:?}");
    let reason = summary.abort_reason.unwrap();
    assert!(
        reason.contains("has the path /open-apis, but it must be the host only")
            && reason.contains(&format!("e.g. --base-url {}", sandbox.base_url())),
        "{reason}"
    );
    assert_eq!(sandbox.stats().create_attempts, 0);
}

fn target_with(sandbox: &Sandbox, policy: RetryPolicy) -> Target {
    let client = Client::builder()
        .base_url(sandbox.base_url())
        .app_credentials("test-app", "test-secret")
        .no_rate_limit()
        .retry_policy(policy)
        .sleeper(Arc::new(QuickSleeper))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    Target::new(client, format!("test sandbox at {}", sandbox.base_url()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_made_by_retries_are_reported_with_their_ids_not_as_created() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = write_input(dir.path(), "in.jsonl", 100, 41);
    let sandbox = sandbox(
        IdempotencyMode::Off,
        FaultConfig::seeded(5).cut_after_store_rate(0.1),
    )
    .await;
    let journal = dir.path().join("in.journal");
    let (summary, output) = run(&config(&input, &journal), &target(&sandbox, 5)).await;

    let stats = sandbox.stats();
    let doubled = stats.stored_more_than_once();
    assert!(
        !doubled.is_empty(),
        "the faults must have doubled some: {stats:?}"
    );
    // Every duplicate the target holds is reported, none invented, and none called created.
    assert_eq!(
        summary.duplicated_in_target,
        doubled.len() as u64,
        "{output}"
    );
    assert_eq!(
        summary.created + summary.duplicated_in_target,
        100,
        "{summary:?}"
    );
    assert_eq!(summary.created_maybe_twice, 0, "{summary:?}");
    assert_eq!(summary.exit_code, 1, "{output}");
    assert!(
        summary.to_string().contains("delete all but one"),
        "{summary}"
    );
    // The failures report names every copy by its Feishu id.
    let report = std::fs::read_to_string(summary.failures_report.clone().unwrap()).unwrap();
    let reported: Vec<serde_json::Value> = report
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &serde_json::Value| l["kind"] == "duplicated_in_target")
        .collect();
    assert_eq!(reported.len(), doubled.len());
    let records = sandbox.records();
    for line in &reported {
        let id = line["external_id"].as_str().unwrap();
        let held: BTreeSet<String> = records
            .iter()
            .filter(|r| r.interview.external_id.as_deref() == Some(id))
            .filter_map(|r| r.interview.id.clone())
            .collect();
        let ids: BTreeSet<String> = line["feishu_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids, held, "{line}");
    }
    // The journal says so too, and a re-run does not send them again.
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(text.contains("\"maybe_twice\":true"), "{text}");
    assert_eq!(
        text.matches("\"checked\":\"duplicated\"").count(),
        doubled.len()
    );
    let attempts = sandbox.stats().create_attempts;
    let (again, _) = run(&config(&input, &journal), &target(&sandbox, 5)).await;
    assert_eq!(again.confirmed_earlier, 100, "{again:?}");
    assert_eq!(sandbox.stats().create_attempts, attempts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_retry_after_uncertain_creates_each_record_once_and_checks_the_cut_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (input, ids) = write_input(dir.path(), "in.jsonl", 100, 42);
    let sandbox = sandbox(
        IdempotencyMode::Off,
        FaultConfig::seeded(5)
            .cut_after_store_rate(0.1)
            .server_error_rate(0.05)
            .rate_limit_rate(0.05),
    )
    .await;
    let target = target_with(
        &sandbox,
        RetryPolicy::new()
            .max_attempts(5)
            .no_retry_after_possible_effect(),
    );
    let (summary, output) = run(&config(&input, &dir.path().join("j")), &target).await;
    let stats = sandbox.stats();
    assert!(stats.faults.cuts_after_store > 0, "{stats:?}");
    assert!(stats.stored_more_than_once().is_empty(), "{stats:?}");
    assert!(summary.checked_in_target > 0, "{summary:?}");
    // Cut requests stored their record: the check counts them as created. Server errors
    // stored nothing: the check finds them absent, and they are failed (re-run to send).
    let stored: BTreeSet<String> = stats.stored_by_external_id.keys().cloned().collect();
    assert_eq!(summary.created, stored.len() as u64, "{output}");
    assert_eq!(summary.created + summary.failed, 100, "{summary:?}");
    assert_eq!(summary.duplicated_in_target, 0);
    // The failed ones are re-run input, and once they are in, everything is there once.
    if summary.failed > 0 {
        let failures = PathBuf::from(summary.failures_file.clone().unwrap());
        let (second, output) = run(&config(&failures, &dir.path().join("k")), &target).await;
        assert_eq!(second.records, summary.failed, "{output}");
    }
    let stats = sandbox.stats();
    assert!(stats.stored_more_than_once().is_empty(), "{stats:?}");
    assert!(
        stats
            .stored_by_external_id
            .keys()
            .all(|id| ids.contains(id))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_reject_mode_records_already_there_are_already_present_and_the_message_says_what_to_do()
{
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = write_input(dir.path(), "in.jsonl", 30, 43);
    let sandbox = sandbox(
        IdempotencyMode::Reject { code: 1_002_002 },
        FaultConfig::none(),
    )
    .await;
    let target = target(&sandbox, 3);
    let (first, output) = run(&config(&input, &dir.path().join("a")), &target).await;
    assert_eq!((first.created, first.exit_code), (30, 0), "{output}");
    // A journal that does not know them (lost, or another file with the same records).
    let (again, output) = run(&config(&input, &dir.path().join("b")), &target).await;
    assert_eq!(again.already_present, 30, "{output}");
    assert_eq!(again.failed, 0, "{again:?}");
    assert_eq!(again.refused_but_present, 30);
    assert_eq!(again.refusal_codes, vec![1_002_002]);
    assert_eq!(again.exit_code, 0, "{output}");
    let text = again.to_string();
    assert!(text.contains("--already-exists-code 1002002"), "{text}");
    assert_eq!(sandbox.stats().created, 30);
}
