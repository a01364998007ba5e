//! Keeps the importer honest (issue 10, section 3): under every fault kind, with the sandbox
//! honouring `external_id` or not, and with runs killed and resumed, `verify` reports exactly
//! what the sandbox holds (every duplicate and every missing record, none invented), and so
//! does the summary of an import that was not killed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use feishu_hire_cli::{
    Console, ImportConfig, JournalLocation, ProgressMode, Summary, Target, VerifyConfig,
    VerifySummary, examples, import, verify,
};
use feishu_hire_client::{Client, RetryPolicy, SleepFuture, Sleeper};
use feishu_hire_sandbox::{FaultConfig, IdempotencyMode, Sandbox, SandboxConfig};

/// Retries wait 1 ms instead of the real backoff.
struct QuickSleeper;

impl Sleeper for QuickSleeper {
    fn sleep(&self, _: Duration) -> SleepFuture {
        Box::pin(tokio::time::sleep(Duration::from_millis(1)))
    }
}

fn write_input(dir: &Path, count: u64, seed: u64) -> (PathBuf, BTreeSet<String>) {
    let path = dir.join("in.jsonl");
    let lines: Vec<String> = examples::interview_lines(seed, count, &format!("v{seed}-")).collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let ids = lines
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["external_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    (path, ids)
}

async fn faulty_sandbox(mode: IdempotencyMode, seed: u64) -> Sandbox {
    let faults = FaultConfig::seeded(seed)
        .server_error_rate(0.05)
        .rate_limit_rate(0.05)
        .delay_rate(0.05)
        .delay(Duration::from_millis(30))
        .cut_after_store_rate(0.08);
    feishu_hire_sandbox::spawn(
        SandboxConfig::default()
            .no_rate_limit()
            .idempotency(mode)
            .faults(faults),
    )
    .await
    .unwrap()
}

fn target(sandbox: &Sandbox, policy: RetryPolicy) -> Target {
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

fn import_config(input: &Path, journal: &Path) -> ImportConfig {
    let mut config = ImportConfig::new(input);
    config.journal = JournalLocation::Path(journal.to_owned());
    config.progress = ProgressMode::Off;
    config
}

async fn run_import(config: &ImportConfig, target: &Target) -> Summary {
    let (console, output) = Console::buffer();
    let (_interrupt, interrupts) = tokio::sync::watch::channel(0u32);
    import(config, target, interrupts, &console)
        .await
        .unwrap_or_else(|refusal| panic!("{refusal}\n{}", output.text()))
}

/// Starts an import and kills it (drops it mid-flight, as SIGKILL would: answered records
/// are journaled, the rest are not) once the sandbox stored `after` records.
async fn killed_import(config: &ImportConfig, target: &Target, sandbox: &Sandbox, after: u64) {
    let (config, target) = (config.clone(), target.clone());
    let running = tokio::spawn(async move {
        let (console, _) = Console::buffer();
        let (_interrupt, interrupts) = tokio::sync::watch::channel(0u32);
        import(&config, &target, interrupts, &console).await
    });
    while sandbox.stats().created < after && !running.is_finished() {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    running.abort();
    let _ = running.await;
}

async fn run_verify(input: &Path, target: &Target) -> VerifySummary {
    let mut config = VerifyConfig::new(input);
    config.progress = ProgressMode::Off;
    let (console, output) = Console::buffer();
    let (_interrupt, interrupts) = tokio::sync::watch::channel(0u32);
    verify(&config, target, interrupts, &console)
        .await
        .unwrap_or_else(|refusal| panic!("{refusal}\n{}", output.text()))
}

/// What the sandbox holds, from its own list: Feishu ids per external_id.
fn held(sandbox: &Sandbox) -> BTreeMap<String, BTreeSet<String>> {
    let mut held: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for record in sandbox.records() {
        let external_id = record.interview.external_id.clone().unwrap();
        held.entry(external_id)
            .or_default()
            .insert(record.interview.id.clone().unwrap());
    }
    held
}

/// The report's lines of `kind`: external_id → Feishu ids.
fn reported(path: &str, kind: &str) -> BTreeMap<String, BTreeSet<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["kind"] == kind)
        .map(|l| {
            let ids = l["feishu_ids"]
                .as_array()
                .map(|ids| {
                    ids.iter()
                        .map(|id| id.as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            (l["external_id"].as_str().unwrap().to_owned(), ids)
        })
        .collect()
}

/// `verify` says exactly what the sandbox holds, by its list and by its counters.
fn assert_verify_agrees(found: &VerifySummary, sandbox: &Sandbox, ids: &BTreeSet<String>) {
    let held = held(sandbox);
    let stored = sandbox.stats().stored_by_external_id;
    for (id, copies) in &held {
        assert_eq!(
            stored[id],
            copies.len() as u64,
            "{id}: list and counters differ"
        );
    }
    let duplicated: BTreeMap<_, _> = held
        .iter()
        .filter(|(_, copies)| copies.len() > 1)
        .map(|(id, copies)| (id.clone(), copies.clone()))
        .collect();
    let missing: BTreeSet<String> = ids
        .iter()
        .filter(|id| !held.contains_key(*id))
        .cloned()
        .collect();
    let report = found.report.clone().unwrap_or_default();
    assert_eq!(
        reported(&report, "duplicated_in_target"),
        duplicated,
        "{found:?}"
    );
    assert_eq!(
        reported(&report, "missing")
            .into_keys()
            .collect::<BTreeSet<_>>(),
        missing,
        "{found:?}"
    );
    assert_eq!(found.duplicated, duplicated.len() as u64);
    assert_eq!(found.missing, missing.len() as u64);
    assert_eq!(
        found.present_once,
        ids.len() as u64 - found.duplicated - found.missing
    );
    assert_eq!(found.not_in_input, 0, "{found:?}");
    let clean = duplicated.is_empty() && missing.is_empty();
    assert_eq!(found.exit_code == 0, clean, "{found:?}");
}

/// One import's summary says what the sandbox holds, in a run without kills.
fn assert_summary_agrees(summary: &Summary, sandbox: &Sandbox) {
    let held = held(sandbox);
    let doubled = held.values().filter(|copies| copies.len() > 1).count() as u64;
    assert_eq!(summary.duplicated_in_target, doubled, "{summary}");
    assert_eq!(summary.created_maybe_twice, 0, "{summary}");
    let in_target = summary.created + summary.already_present + summary.confirmed_earlier;
    assert_eq!(
        in_target + summary.duplicated_in_target,
        held.len() as u64,
        "{summary}"
    );
    let report = summary.failures_report.clone().unwrap_or_default();
    let duplicated: BTreeMap<_, _> = held.into_iter().filter(|(_, c)| c.len() > 1).collect();
    assert_eq!(
        reported(&report, "duplicated_in_target"),
        duplicated,
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summaries_and_verify_agree_with_the_target_under_faults() {
    for (mode, seed) in [
        (IdempotencyMode::Off, 1),
        (IdempotencyMode::ReturnStored, 2),
        (IdempotencyMode::Reject { code: 1_002_002 }, 3),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (input, ids) = write_input(dir.path(), 120, seed);
        let sandbox = faulty_sandbox(mode, seed).await;
        let target = target(&sandbox, RetryPolicy::new().max_attempts(6));
        let summary = run_import(&import_config(&input, &dir.path().join("j")), &target).await;
        assert_summary_agrees(&summary, &sandbox);
        let found = run_verify(&input, &target).await;
        assert_verify_agrees(&found, &sandbox, &ids);
        if mode == IdempotencyMode::Off {
            // The faults did double some records: the assertions above were not vacuous.
            assert!(found.duplicated > 0, "{found:?}");
            assert_eq!(summary.exit_code, 1, "{summary}");
        } else {
            assert_eq!(found.duplicated, 0, "{mode:?}: {found:?}");
        }
        let faults = sandbox.stats().faults;
        assert!(
            faults.server_errors > 0
                && faults.rate_limits > 0
                && faults.delays > 0
                && faults.cuts_after_store > 0,
            "{faults:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_agrees_with_the_target_after_kills_and_resumes() {
    for (mode, seed) in [
        (IdempotencyMode::Off, 4),
        (IdempotencyMode::ReturnStored, 5),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (input, ids) = write_input(dir.path(), 150, seed);
        let sandbox = faulty_sandbox(mode, seed).await;
        let target = target(&sandbox, RetryPolicy::new().max_attempts(6));
        let config = import_config(&input, &dir.path().join("j"));
        for after in [30, 80] {
            killed_import(&config, &target, &sandbox, after).await;
        }
        let summary = run_import(&config, &target).await;
        assert!(summary.confirmed_earlier > 0, "{summary:?}");
        let found = run_verify(&input, &target).await;
        assert_verify_agrees(&found, &sandbox, &ids);
        if mode == IdempotencyMode::ReturnStored {
            assert_eq!(
                (found.duplicated, found.missing, found.exit_code),
                (0, 0, 0),
                "{found:?}"
            );
        }
        // The missing records, imported from verify's file, close the gap.
        if let Some(file) = &found.report_file {
            let again = run_import(
                &import_config(Path::new(file), &dir.path().join("k")),
                &target,
            )
            .await;
            assert_eq!(again.records, found.missing, "{again:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reports_missing_duplicated_and_foreign_interviews() {
    let dir = tempfile::tempdir().unwrap();
    let (input, ids) = write_input(dir.path(), 10, 6);
    let sandbox = feishu_hire_sandbox::spawn(
        SandboxConfig::default()
            .no_rate_limit()
            .idempotency(IdempotencyMode::Off),
    )
    .await
    .unwrap();
    let target = target(&sandbox, RetryPolicy::new());
    // Import 8 of the 10 records, one of them twice, and one record the input does not have.
    let lines: Vec<String> = std::fs::read_to_string(&input)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let mut partial = lines[..8].to_vec();
    partial.push(lines[0].clone().replace("v6-000001", "v6-foreign"));
    let part = dir.path().join("part.jsonl");
    std::fs::write(&part, partial.join("\n") + "\n").unwrap();
    run_import(&import_config(&part, &dir.path().join("j1")), &target).await;
    let first = dir.path().join("first.jsonl");
    std::fs::write(&first, lines[2].clone() + "\n").unwrap();
    run_import(&import_config(&first, &dir.path().join("j2")), &target).await;

    let found = run_verify(&input, &target).await;
    assert_eq!(
        (found.present_once, found.missing, found.duplicated),
        (7, 2, 1),
        "{found:?}"
    );
    assert_eq!(found.not_in_input, 1, "{found:?}");
    assert_eq!(found.exit_code, 1);
    assert_verify_agrees_but_foreign(&found, &sandbox, &ids);
    // The missing records are import input.
    let file = found.report_file.clone().unwrap();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        lines[8..].join("\n") + "\n"
    );
    let text = found.to_string();
    assert!(text.contains("7 of 10 valid records"), "{text}");
}

fn assert_verify_agrees_but_foreign(
    found: &VerifySummary,
    sandbox: &Sandbox,
    ids: &BTreeSet<String>,
) {
    let report = found.report.clone().unwrap();
    let foreign = reported(&report, "not_in_input");
    assert_eq!(
        foreign.keys().cloned().collect::<Vec<_>>(),
        vec!["v6-foreign".to_owned()]
    );
    assert_eq!(foreign["v6-foreign"], held(sandbox)["v6-foreign"]);
    let duplicated = reported(&report, "duplicated_in_target");
    assert_eq!(duplicated["v6-000003"], held(sandbox)["v6-000003"]);
    assert!(ids.contains("v6-000003"));
}
