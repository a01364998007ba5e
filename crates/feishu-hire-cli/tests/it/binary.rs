//! The `feishu-hire` binary as a child process against a sandbox in this test process:
//! SIGKILL and resume (also against a target that does not honour `external_id`: what was in
//! flight or unchecked at the kill is checked by the next run, not sent twice), Ctrl-C, the
//! journal lock, refusing records without `external_id`,
//! the 24-hour resume warning, and `validate`'s report on `examples/bad.jsonl`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use feishu_hire_cli::examples;
use feishu_hire_sandbox::{FaultConfig, IdempotencyMode, Sandbox, SandboxConfig};
use sha2::Digest as _;

const WAIT_LIMIT: Duration = Duration::from_secs(60);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn feishu_hire() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_feishu-hire"));
    for name in [
        "FEISHU_APP_ID",
        "FEISHU_APP_SECRET",
        "FEISHU_TENANT_ACCESS_TOKEN",
        "RUST_LOG",
    ] {
        command.env_remove(name);
    }
    command.stdin(Stdio::null());
    command
}

/// `import` of `input` into `sandbox`, with test credentials and its own journal.
fn import(sandbox: &Sandbox, input: &Path, journal: &Path, extra: &[&str]) -> Command {
    let mut command = feishu_hire();
    command
        .arg("import")
        .arg(input)
        .args([
            "--base-url",
            &sandbox.base_url(),
            "--app-id",
            "test",
            "--app-secret",
            "test",
        ])
        .arg("--journal")
        .arg(journal)
        .args(["--progress", "off", "--json"])
        .args(extra);
    command
}

fn spawn(mut command: Command) -> Child {
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

async fn wait(child: &mut Child) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(start.elapsed() < WAIT_LIMIT, "the importer did not finish");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn finish(mut child: Child) -> Output {
    wait(&mut child).await;
    child.wait_with_output().unwrap()
}

async fn wait_until(mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < WAIT_LIMIT, "timed out waiting");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until the sandbox's counters stop moving (requests of a dead client drained).
async fn settled(sandbox: &Sandbox) {
    let mut last = sandbox.stats();
    loop {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let now = sandbox.stats();
        if now == last {
            return;
        }
        last = now;
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn summary(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&output.stdout), text(&output.stderr)))
}

fn write_input(dir: &Path, count: u64, seed: u64) -> (PathBuf, BTreeSet<String>) {
    let path = dir.join("in.jsonl");
    let lines: Vec<String> = examples::interview_lines(seed, count, &format!("b{seed}-")).collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let ids = (1..=count).map(|i| format!("b{seed}-{i:06}")).collect();
    (path, ids)
}

/// The external ids a journal says Feishu confirmed.
fn journal_confirmed(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|v| matches!(v["result"].as_str(), Some("created" | "already_exists")))
        .map(|v| v["external_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn sandbox() -> Sandbox {
    feishu_hire_sandbox::spawn(SandboxConfig::default().no_rate_limit())
        .await
        .unwrap()
}

fn stored(sandbox: &Sandbox) -> BTreeMap<String, u64> {
    sandbox.stats().stored_by_external_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_with_sigkill_then_run_again_finishes_without_resending_confirmed_records() {
    let dir = tempfile::tempdir().unwrap();
    let (input, ids) = write_input(dir.path(), 200, 21);
    let journal = dir.path().join("in.journal");
    let sandbox = sandbox().await;

    let mut child = spawn(import(&sandbox, &input, &journal, &["--rate", "100"]));
    wait_until(|| sandbox.stats().created >= 60).await;
    child.kill().unwrap(); // SIGKILL
    wait(&mut child).await;
    settled(&sandbox).await;

    let confirmed = journal_confirmed(&journal);
    let attempts_after_kill = sandbox.stats().attempts_by_external_id;
    assert!(
        !confirmed.is_empty() && confirmed.len() < 200,
        "{}",
        confirmed.len()
    );

    let output = finish(spawn(import(
        &sandbox,
        &input,
        &journal,
        &["--rate", "off"],
    )))
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let summary = summary(&output);
    assert_eq!(summary["confirmed_earlier"], confirmed.len() as u64);
    assert_eq!(
        summary["created"].as_u64().unwrap() + summary["confirmed_earlier"].as_u64().unwrap(),
        200
    );

    // The same result as an uninterrupted run: every record once.
    let stored = stored(&sandbox);
    assert_eq!(stored.keys().cloned().collect::<BTreeSet<_>>(), ids);
    assert!(stored.values().all(|count| *count == 1), "{stored:?}");
    // No record the journal had confirmed was sent again.
    let attempts = sandbox.stats().attempts_by_external_id;
    for id in &confirmed {
        assert_eq!(attempts[id], attempts_after_kill[id], "{id} was sent again");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_finishes_requests_in_flight_journals_them_and_prints_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let (input, ids) = write_input(dir.path(), 200, 22);
    let journal = dir.path().join("in.journal");
    let sandbox = sandbox().await;

    let mut child = spawn(import(&sandbox, &input, &journal, &["--rate", "50"]));
    wait_until(|| sandbox.stats().created >= 30).await;
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait(&mut child).await;
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("interrupted: finishing the"),
        "{}",
        text(&output.stderr)
    );
    let summary = summary(&output);
    assert_eq!(summary["ending"], "interrupted");
    assert!(summary["not_sent"].as_u64().unwrap() > 0, "{summary}");

    // Every record the sandbox stored was answered and journaled before the exit.
    settled(&sandbox).await;
    let confirmed = journal_confirmed(&journal);
    assert_eq!(
        stored(&sandbox).keys().cloned().collect::<BTreeSet<_>>(),
        confirmed
    );
    assert_eq!(summary["created"], confirmed.len() as u64);

    let output = finish(spawn(import(
        &sandbox,
        &input,
        &journal,
        &["--rate", "off"],
    )))
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stored = stored(&sandbox);
    assert_eq!(stored.keys().cloned().collect::<BTreeSet<_>>(), ids);
    assert!(stored.values().all(|count| *count == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_import_of_the_same_input_is_refused_while_the_first_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = write_input(dir.path(), 100, 23);
    let journal = dir.path().join("in.journal");
    let sandbox = sandbox().await;

    let mut first = spawn(import(&sandbox, &input, &journal, &["--rate", "5"]));
    wait_until(|| sandbox.stats().created >= 1).await;
    let second = feishu_hire()
        .arg("import")
        .arg(&input)
        .args([
            "--base-url",
            &sandbox.base_url(),
            "--app-id",
            "test",
            "--app-secret",
            "test",
        ])
        .arg("--journal")
        .arg(&journal)
        .output()
        .unwrap();
    first.kill().unwrap();
    wait(&mut first).await;
    assert_eq!(second.status.code(), Some(2));
    let stderr = text(&second.stderr);
    assert!(
        stderr.contains("another import is running with the journal") && stderr.contains("locked"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_without_external_id_stop_the_import_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(
        &input,
        "{\"external_id\":\"a\",\"external_application_id\":\"1\"}\n{\"external_application_id\":\"2\"}\n",
    )
    .unwrap();
    let sandbox = sandbox().await;
    let journal = dir.path().join("in.journal");
    let output = import(&sandbox, &input, &journal, &[]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("1 records have no external_id (lines 2)")
            && stderr.contains("--derive-external-id"),
        "{stderr}"
    );
    assert_eq!(sandbox.stats().create_attempts, 0);
    assert!(!journal.exists());

    // Without credentials and without --sandbox, nothing falls back to a sandbox.
    let output = feishu_hire().arg("import").arg(&input).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("no credentials for Feishu (https://open.feishu.cn)"),
        "{stderr}"
    );
    assert!(stderr.contains("--sandbox"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_after_feishus_24_hour_window_warns() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = write_input(dir.path(), 10, 24);
    let sandbox = sandbox().await;
    let bytes = std::fs::read(&input).unwrap();
    let sha256: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // A journal (its format: see the journal module's docs) whose first run started 25
    // hours ago and confirmed nothing.
    let created_at_ms = now_ms - 25 * 3_600_000;
    let header = serde_json::json!({
        "journal": "feishu-hire import",
        "version": 1,
        "input": input.display().to_string(),
        "input_sha256": sha256,
        "input_bytes": bytes.len(),
        "target": sandbox.base_url(),
        "created_at_ms": created_at_ms,
    });
    let run = serde_json::json!({"run": 1, "started_at_ms": created_at_ms, "importer": "0.1.0"});
    let journal = dir.path().join("in.journal");
    std::fs::write(&journal, format!("{}\n{}\n", header, run)).unwrap();
    let output = import(&sandbox, &input, &journal, &[]).output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("Resuming (run 2)"), "{stderr}");
    assert!(
        stderr.contains(
            "warning: this import started 25 h ago, more than Feishu's 24 h idempotency window"
        ),
        "{stderr}"
    );
}

#[test]
fn validate_reports_every_mistake_in_bad_jsonl() {
    let output = feishu_hire()
        .current_dir(workspace_root())
        .args(["validate", "examples/bad.jsonl"])
        .output()
        .unwrap();
    let report = format!(
        "exit code: {}\n--- stdout\n{}--- stderr\n{}",
        output.status.code().unwrap(),
        text(&output.stdout),
        text(&output.stderr)
    );
    insta::assert_snapshot!(report);
}

/// A server on 127.0.0.1 that accepts connections and never answers; its base URL.
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

/// A base URL on 127.0.0.1 where nothing listens.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_target_stops_the_run_within_about_one_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = write_input(dir.path(), 30, 25);
    for (run, base_url) in [silent_server().await, closed_port()].iter().enumerate() {
        let started = Instant::now();
        let output = feishu_hire()
            .arg("import")
            .arg(&input)
            .arg("--journal")
            .arg(dir.path().join(format!("{run}.journal")))
            .args(["--base-url", base_url, "--app-id", "a", "--app-secret", "b"])
            .args(["--timeout", "1", "--progress", "off", "--json"])
            .output()
            .unwrap();
        let took = started.elapsed();
        assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
        assert!(took < Duration::from_secs(5), "{base_url}: {took:?}");
        let summary = summary(&output);
        assert_eq!(summary["not_sent"], 30, "{summary}");
        assert_eq!(summary["failed"], 0, "{summary}");
        assert!(
            summary["abort_reason"]
                .as_str()
                .unwrap()
                .starts_with(&format!("no access token could be had from {base_url}")),
            "{summary}"
        );
    }
}

#[test]
fn a_sandbox_import_with_a_journal_can_be_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = write_input(dir.path(), 5, 26);
    let journal = dir.path().join("sandbox.journal");
    let run = || {
        feishu_hire()
            .arg("import")
            .arg(&input)
            .arg("--sandbox")
            .arg("--journal")
            .arg(&journal)
            .args(["--progress", "off", "--json"])
            .output()
            .unwrap()
    };
    let first = run();
    assert!(first.status.success(), "{}", text(&first.stderr));
    // The second run's sandbox listens on another port; the journal knows it as "sandbox".
    let second = run();
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert_eq!(summary(&second)["confirmed_earlier"], 5);
    let header = std::fs::read_to_string(&journal).unwrap();
    let header: serde_json::Value = serde_json::from_str(header.lines().next().unwrap()).unwrap();
    assert_eq!(header["target"], "sandbox");
}

/// `import INPUT --sandbox` plus `extra`, run to its end.
fn sandbox_import(input: &Path, extra: &[&std::ffi::OsStr]) -> Output {
    feishu_hire()
        .arg("import")
        .arg(input)
        .args(["--sandbox", "--progress", "off"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn outputs_that_are_the_same_file_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = write_input(dir.path(), 3, 27);
    let journal = dir.path().join("j.journal");
    // A journal from a first run, which a failures file must never overwrite.
    let first = sandbox_import(&input, &["--journal".as_ref(), journal.as_os_str()]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let kept = std::fs::read(&journal).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let link = dir.path().join("link.journal");
    std::os::unix::fs::symlink(&journal, &link).unwrap();
    let not_yet = dir.path().join("new.journal");
    let cases: Vec<(PathBuf, PathBuf, &str)> = vec![
        (
            journal.clone(),
            journal.clone(),
            "is the same file as the journal",
        ),
        (
            journal.clone(),
            link.clone(),
            "is the same file as the journal",
        ),
        // Neither exists yet: compared through their resolved directory.
        (
            not_yet.clone(),
            dir.path().join("sub/../new.journal"),
            "is the same file as the journal",
        ),
        (journal.clone(), input.clone(), "is the input itself"),
    ];
    for (journal_path, failures_path, expected) in cases {
        let output = sandbox_import(
            &input,
            &[
                "--journal".as_ref(),
                journal_path.as_os_str(),
                "--failures".as_ref(),
                failures_path.as_os_str(),
            ],
        );
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "error: the failures file {}",
                failures_path.display()
            )) && stderr.contains(expected)
                && stderr.contains("nothing was sent"),
            "{stderr}"
        );
    }
    assert_eq!(std::fs::read(&journal).unwrap(), kept);
    assert!(!not_yet.exists());
}

#[test]
fn messages_name_the_path_that_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    // One invalid record, so that the check writes the failures file at once.
    std::fs::write(&input, "{\"external_id\":\"a\"}\n").unwrap();
    let failures = dir.path().join("missing/f.jsonl");
    let output = sandbox_import(&input, &["--failures".as_ref(), failures.as_os_str()]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot write the failures file {}: the directory {} does not exist",
            failures.display(),
            dir.path().join("missing").display()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("cannot read the input"), "{stderr}");

    // A directory as input: the same words from import and validate.
    for (command, extra) in [("import", "--sandbox"), ("validate", "--strict")] {
        let output = feishu_hire()
            .arg(command)
            .arg(dir.path())
            .arg(extra)
            .output()
            .unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "cannot read the input {}: it is a directory, not a file",
                dir.path().display()
            )),
            "{command}: {stderr}"
        );
    }
}

#[test]
fn the_sandbox_command_logs_one_line_per_request_without_colour_in_a_file() {
    use std::io::{BufRead, BufReader, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("sandbox.log");
    let mut child = feishu_hire()
        .args(["sandbox", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let address = first_line.trim().trim_start_matches("http://").to_owned();
    let mut connection = std::net::TcpStream::connect(&address).unwrap();
    connection
        .write_all(b"GET /sandbox/stats HTTP/1.1\r\nHost: sandbox\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    connection.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let start = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap()
        .contains("/sandbox/stats")
    {
        assert!(start.elapsed() < WAIT_LIMIT, "no log line for the request");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("answered"), "{logged}");
    assert!(
        !logged.contains('\u{1b}'),
        "colour codes in a file: {logged:?}"
    );
}

#[test]
fn rust_log_output_has_no_colour_codes_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = write_input(dir.path(), 2, 28);
    let output = feishu_hire()
        .env("RUST_LOG", "info")
        .arg("import")
        .arg(&input)
        .args(["--sandbox", "--progress", "off"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.contains(" INFO "), "no log lines: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour codes: {stderr:?}");
}

#[test]
fn an_input_without_records_warns_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in [("empty.jsonl", ""), ("blank.jsonl", "  \n\n\t\n")] {
        let input = dir.path().join(name);
        std::fs::write(&input, content).unwrap();
        let import = sandbox_import(&input, &[]);
        let validate = feishu_hire().arg("validate").arg(&input).output().unwrap();
        for (command, output) in [("import", import), ("validate", validate)] {
            let stderr = text(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{command} {name}: {stderr}");
            assert!(
                stderr.contains(&format!("warning: {} has no records", input.display())),
                "{command} {name}: {stderr}"
            );
        }
        // Nothing to resume: the refused import leaves no journal behind.
        assert!(!dir.path().join(format!("{name}.journal")).exists());
    }
}

#[test]
fn limits_that_cannot_work_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = write_input(dir.path(), 1, 29);
    let cases: [(&[&str], &str); 4] = [
        (&["import", "--sandbox", "--timeout", "0"], "--timeout"),
        (
            &["import", "--sandbox", "--max-record-bytes", "2000000"],
            "must be from 1 to 1048576",
        ),
        (
            &["validate", "--max-record-bytes", "2000000"],
            "must be from 1 to 1048576",
        ),
        (
            &["validate", "--max-record-bytes", "0"],
            "must be from 1 to 1048576",
        ),
    ];
    for (args, expected) in cases {
        let output = feishu_hire().args(args).arg(&input).output().unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_exits_0_only_when_every_record_is_there_once_and_its_file_feeds_import() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = write_input(dir.path(), 20, 51);
    let sandbox = sandbox().await;
    let verify = |extra: &[&str]| {
        let mut command = feishu_hire();
        command
            .arg("verify")
            .arg(&input)
            .args([
                "--base-url",
                &sandbox.base_url(),
                "--app-id",
                "test",
                "--app-secret",
                "test",
            ])
            .args(["--progress", "off"])
            .args(extra);
        command
    };
    // Nothing imported yet: all missing, exit 1, and the report file holds them all.
    let output = finish(spawn(verify(&["--json"]))).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let found = summary(&output);
    assert_eq!(
        (found["missing"].as_u64(), found["present_once"].as_u64()),
        (Some(20), Some(0))
    );
    let file = PathBuf::from(found["report_file"].as_str().unwrap());
    assert_eq!(file, dir.path().join("in.verify.jsonl"));
    assert_eq!(
        std::fs::read(&file).unwrap(),
        std::fs::read(&input).unwrap()
    );

    // Importing verify's file closes the gap; then verify exits 0, in words too.
    let output = finish(spawn(import(
        &sandbox,
        &file,
        &dir.path().join("j"),
        &["--rate", "off"],
    )))
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = finish(spawn(verify(&[]))).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let words = text(&output.stdout);
    assert!(
        words.contains("OK: every one of the 20 valid records is in the target exactly once"),
        "{words}"
    );
}

/// A sandbox that does not honour `external_id` (a record sent twice is stored twice), with
/// `faults`.
async fn sandbox_without_idempotency(faults: FaultConfig) -> Sandbox {
    feishu_hire_sandbox::spawn(
        SandboxConfig::default()
            .no_rate_limit()
            .idempotency(IdempotencyMode::Off)
            .faults(faults),
    )
    .await
    .unwrap()
}

/// The journal's entries, as JSON.
fn journal_entries(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|v| v["record"].is_u64())
        .collect()
}

/// A proxy on 127.0.0.1 to `upstream` that passes requests on at once and holds every answer
/// back for `delay`: the target has done what it was asked before the client learns of it.
async fn proxy_holding_answers(upstream: &str, delay: Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let upstream = upstream.trim_start_matches("http://").to_owned();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                });
                let mut buffer = vec![0; 64 * 1024];
                while let Ok(read @ 1..) = server_read.read(&mut buffer).await {
                    tokio::time::sleep(delay).await;
                    if client_write.write_all(&buffer[..read]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_in_flight_at_sigkill_are_checked_on_resume_not_sent_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (input, ids) = write_input(dir.path(), 40, 61);
    let journal = dir.path().join("in.journal");
    let sandbox = sandbox_without_idempotency(FaultConfig::none()).await;
    // The sandbox stores each record at once; its answer reaches the importer 300 ms later.
    let base_url = proxy_holding_answers(&sandbox.base_url(), Duration::from_millis(300)).await;
    let import = || {
        let mut command = feishu_hire();
        command
            .arg("import")
            .arg(&input)
            .args([
                "--base-url",
                &base_url,
                "--app-id",
                "test",
                "--app-secret",
                "test",
            ])
            .arg("--journal")
            .arg(&journal)
            .args(["--progress", "off", "--json", "--rate", "off"]);
        command
    };

    let mut child = spawn(import());
    // Two rounds of eight stored: the second round's answers are still held back.
    wait_until(|| sandbox.stats().created >= 16).await;
    child.kill().unwrap(); // SIGKILL
    wait(&mut child).await;
    settled(&sandbox).await;

    // The sandbox stored records whose answer the killed run never saw; its journal has
    // their intent and nothing after it.
    let confirmed = journal_confirmed(&journal);
    let before = stored(&sandbox);
    let in_flight: BTreeSet<String> = before
        .keys()
        .filter(|id| !confirmed.contains(*id))
        .cloned()
        .collect();
    assert!(!in_flight.is_empty(), "nothing was in flight: {before:?}");
    let intents: BTreeSet<String> = journal_entries(&journal)
        .iter()
        .filter(|e| e["result"] == "sending")
        .map(|e| e["external_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(in_flight.is_subset(&intents), "{in_flight:?} {intents:?}");
    let attempts_after_kill = sandbox.stats().attempts_by_external_id;

    let output = finish(spawn(import())).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let summary = summary(&output);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("left uncertain by an earlier run"),
        "{stderr}"
    );
    assert!(
        summary["uncertain_earlier"].as_u64().unwrap() >= in_flight.len() as u64,
        "{summary}"
    );
    assert!(
        summary["checked_in_target"].as_u64().unwrap() >= in_flight.len() as u64,
        "{summary}"
    );
    assert_eq!(summary["duplicated_in_target"], 0, "{summary}");
    assert_eq!(
        summary["created"].as_u64().unwrap() + summary["confirmed_earlier"].as_u64().unwrap(),
        40,
        "{summary}"
    );
    // Every record once: the ones in flight at the kill were checked, not sent again.
    let stored = stored(&sandbox);
    assert_eq!(stored.keys().cloned().collect::<BTreeSet<_>>(), ids);
    assert!(stored.values().all(|count| *count == 1), "{stored:?}");
    let attempts = sandbox.stats().attempts_by_external_id;
    for id in &in_flight {
        assert_eq!(attempts[id], attempts_after_kill[id], "{id} was sent again");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_a_killed_run_left_unchecked_are_reported_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = write_input(dir.path(), 60, 62);
    let journal = dir.path().join("in.journal");
    // Connections cut after the record was stored: the retry stores it a second time.
    let sandbox =
        sandbox_without_idempotency(FaultConfig::seeded(62).cut_after_store_rate(0.25)).await;

    // Killed as soon as a record is journaled "maybe twice", long before the end-of-run check.
    let mut child = spawn(import(&sandbox, &input, &journal, &["--rate", "20"]));
    wait_until(|| {
        std::fs::read_to_string(&journal).is_ok_and(|text| text.contains("\"maybe_twice\":true"))
    })
    .await;
    child.kill().unwrap(); // SIGKILL
    wait(&mut child).await;
    settled(&sandbox).await;
    let entries = journal_entries(&journal);
    assert!(
        entries.iter().all(|e| e["checked"].is_null()),
        "the check ran"
    );
    let maybe_twice: BTreeSet<String> = entries
        .iter()
        .filter(|e| e["maybe_twice"] == true)
        .map(|e| e["external_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!maybe_twice.is_empty());

    let output = finish(spawn(import(
        &sandbox,
        &input,
        &journal,
        &["--rate", "off"],
    )))
    .await;
    let resumed = summary(&output);
    let stderr = text(&output.stderr);
    // Every duplicate the target holds is reported by the resumed run, whichever run made it.
    let stats = sandbox.stats();
    let doubled = stats.stored_more_than_once();
    assert!(!doubled.is_empty(), "the faults doubled nothing");
    assert_eq!(
        resumed["duplicated_in_target"],
        doubled.len() as u64,
        "{doubled:?}\n{resumed}\n{stderr}"
    );
    assert_eq!(resumed["created_maybe_twice"], 0, "{resumed}");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    // The records the killed run left "maybe twice" were checked, and the journal says so.
    let checked: BTreeSet<String> = journal_entries(&journal)
        .iter()
        .filter(|e| !e["checked"].is_null())
        .map(|e| e["external_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        maybe_twice.is_subset(&checked),
        "{maybe_twice:?} {checked:?}"
    );
    // A third run has nothing left to check.
    let output = finish(spawn(import(
        &sandbox,
        &input,
        &journal,
        &["--rate", "off"],
    )))
    .await;
    let again = summary(&output);
    assert_eq!(again["uncertain_earlier"], 0, "{again}");
    assert_eq!(again["checked_in_target"], 0, "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_max_attempts_1_the_checking_queries_still_retry() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = write_input(dir.path(), 40, 63);
    let journal = dir.path().join("in.journal");
    // Server errors on creates and queries alike. One request at a time, so that the seeded
    // faults fall on the same requests every run.
    let sandbox = sandbox_without_idempotency(FaultConfig::seeded(63).server_error_rate(0.3)).await;
    let output = finish(spawn(import(
        &sandbox,
        &input,
        &journal,
        &["--rate", "off", "--concurrency", "1", "--max-attempts", "1"],
    )))
    .await;
    let summary = summary(&output);
    let stderr = text(&output.stderr);
    // Each failed create may have taken effect (a server error): the end-of-run check read
    // them all back, retrying the queries the faults failed, and found them absent.
    let faults = sandbox.stats().faults;
    assert!(
        faults.server_errors > summary["failed"].as_u64().unwrap(),
        "{faults:?}"
    );
    assert!(summary["failed"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(
        summary["checked_in_target"], summary["failed"],
        "{summary}\n{stderr}"
    );
    assert!(summary["check_problem"].is_null(), "{summary}");
    assert_eq!(summary["failed_maybe_created"], 0, "{summary}");
    assert!(!stderr.contains("the check could not tell"), "{stderr}");
}

#[test]
fn max_attempts_help_says_the_checking_queries_keep_their_own_retries() {
    let output = feishu_hire().args(["import", "--help"]).output().unwrap();
    let help = text(&output.stdout);
    assert!(
        help.contains("bounds the creates only")
            && help.contains("keep the client's default budget"),
        "{help}"
    );
}
