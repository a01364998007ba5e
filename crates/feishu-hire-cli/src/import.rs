//! `feishu-hire import`: check everything, then send what no earlier run confirmed.
//!
//! 1. **Open the journal** ([`crate::journal`]) and lock it: a second import of the same input
//!    is refused at once.
//! 2. **Check every record** ([`crate::scan`]) before sending any: errors and warnings are
//!    printed with line and JSON path; records sharing an `external_id` are found; the input's
//!    SHA-256 is computed. Refuse to start (exit 2) if the input is broken, if a valid record
//!    has no `external_id` (unless `--derive-external-id` or `--allow-unsafe-retries`), or if
//!    the journal belongs to another input or target.
//! 3. **Send** the valid records the journal does not confirm, `--concurrency` at a time,
//!    paced by the client's rate limiter, which also retries what is safe to retry. Each
//!    answer is journaled as it arrives; each failure goes to the failures file
//!    ([`crate::failures`]).
//! 4. On **Ctrl-C or SIGTERM**, stop taking records, finish the requests in flight, close the
//!    journal, print the summary (exit 130); a second Ctrl-C abandons the requests in flight
//!    (their records are sent again by the next run, under the same `external_id`).
//!    An error that would fail every record (credentials or permission refused, the target
//!    unreachable, the journal unwritable) stops the run the same way (exit 3).
//!
//! Memory stays flat: per record the importer keeps two bits (valid, confirmed), and only the
//! records in flight are in memory.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use feishu_hire_client::{Client, CreateOutcome, Delivery, Error as ClientError};
use feishu_hire_types::{CREATE_EXTERNAL_INTERVIEW, CreateExternalInterviewRequest, ErrorCategory};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::bitset::Bitset;
use crate::check::{CheckOptions, Checker};
use crate::console::{Console, Progress, ProgressMode};
use crate::exit;
use crate::failures::{FailureKind, FailureReport, FailuresWriter};
use crate::input::{HashingReader, InputDigest, InputFormat, RecordReader};
use crate::journal::{
    EntryResult, JOURNAL_KIND, JOURNAL_VERSION, Journal, JournalEntry, JournalError, JournalHeader,
    JournalWriter, now_ms,
};
use crate::scan::{ScanReport, scan};
use crate::summary::{Ending, Summary, peak_memory_bytes};

/// After this many failures in a row without an answer from the target, the run stops:
/// the target is unreachable and every further record would fail the same way.
const UNREACHABLE_AFTER: u32 = 25;

/// Where the journal is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum JournalLocation {
    /// `<input>.journal` beside the input (`stdin-<hash>.journal` for stdin).
    #[default]
    BesideInput,
    /// This path.
    Path(PathBuf),
    /// A temporary file, deleted at the end (for `--sandbox`, whose records vanish too).
    Temporary,
}

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportConfig {
    /// The input file; `-` is stdin.
    pub input: PathBuf,
    /// Its format.
    pub format: InputFormat,
    /// Size limit, derived ids, strictness.
    pub check: CheckOptions,
    /// The journal.
    pub journal: JournalLocation,
    /// The failures file; by default `<input stem>.failures.jsonl` beside the input.
    pub failures: Option<PathBuf>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Send records without `external_id` even though a retry could duplicate them.
    pub allow_unsafe_retries: bool,
    /// How progress is shown.
    pub progress: ProgressMode,
}

impl ImportConfig {
    /// Defaults for `input`: auto format, journal beside it, 8 requests in flight.
    pub fn new(input: impl Into<PathBuf>) -> Self {
        Self {
            input: input.into(),
            format: InputFormat::Auto,
            check: CheckOptions::default(),
            journal: JournalLocation::BesideInput,
            failures: None,
            concurrency: 8,
            allow_unsafe_retries: false,
            progress: ProgressMode::Auto,
        }
    }
}

/// Where records go.
#[derive(Debug, Clone)]
pub struct Target {
    /// The client, configured for the target.
    pub client: Client,
    /// The target in words, e.g. `Feishu (https://open.feishu.cn), app cli_…`.
    pub description: String,
}

/// Why an import did not start; nothing was sent (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

impl From<JournalError> for Refusal {
    fn from(error: JournalError) -> Self {
        Refusal(error.to_string())
    }
}

/// Interrupt requests: the count of Ctrl-C / SIGTERM received so far.
pub type Interrupts = watch::Receiver<u32>;

/// A record on its way to the target.
#[derive(Debug)]
struct Job {
    ordinal: u64,
    line: u64,
    bytes: Vec<u8>,
    request: CreateExternalInterviewRequest,
    external_id: Option<String>,
}

/// The input, as a file on disk.
struct InputFile {
    path: PathBuf,
    /// Keeps a spooled copy of stdin alive.
    _spool: Option<tempfile::NamedTempFile>,
    /// Known early for stdin (needed to name its journal).
    stdin_digest: Option<InputDigest>,
}

fn open_input(input: &Path) -> Result<InputFile, Refusal> {
    if input != Path::new("-") {
        if !input.is_file() {
            return Err(Refusal(format!(
                "cannot read the input {}: no such file",
                input.display()
            )));
        }
        return Ok(InputFile {
            path: input.to_owned(),
            _spool: None,
            stdin_digest: None,
        });
    }
    // Standard input is read twice (check, then send), so it is copied to a temporary file.
    let failed = |error: io::Error| Refusal(format!("cannot read standard input: {error}"));
    let mut spool = tempfile::NamedTempFile::new().map_err(failed)?;
    let mut stdin = HashingReader::new(io::stdin().lock());
    io::copy(&mut stdin, spool.as_file_mut()).map_err(failed)?;
    let digest = stdin.finish().map_err(failed)?;
    Ok(InputFile {
        path: spool.path().to_owned(),
        _spool: Some(spool),
        stdin_digest: Some(digest),
    })
}

/// `dir/name.jsonl` → (`dir`, `name`); for stdin, the current directory and `stdin-<hash>`.
fn output_base(config: &ImportConfig, input: &InputFile) -> (PathBuf, String, Option<String>) {
    match &input.stdin_digest {
        Some(digest) => (
            PathBuf::from("."),
            format!("stdin-{}", &digest.sha256[..12]),
            None,
        ),
        None => {
            let dir = config
                .input
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let name = config
                .input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "input".to_owned());
            let stem = config
                .input
                .file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| name.clone());
            (dir, stem, Some(name))
        }
    }
}

/// Runs an import; see the module docs. `Err` means it refused to start (nothing was sent).
pub async fn import(
    config: &ImportConfig,
    target: &Target,
    mut interrupts: Interrupts,
    console: &Console,
) -> Result<Summary, Refusal> {
    let started = Instant::now();
    let source = config.input.display().to_string();
    let base_url = target.client.base_url().to_owned();
    console.line(format!("Target: {}", target.description));

    let input = open_input(&config.input)?;
    let (dir, stem, file_name) = output_base(config, &input);
    let mut _temporary_dir = None;
    let journal_path = match &config.journal {
        JournalLocation::Path(path) => path.clone(),
        JournalLocation::Temporary => {
            let temporary = tempfile::tempdir()
                .map_err(|e| Refusal(format!("cannot make a temporary journal: {e}")))?;
            let path = temporary.path().join("import.journal");
            _temporary_dir = Some(temporary);
            path
        }
        JournalLocation::BesideInput => {
            dir.join(format!("{}.journal", file_name.as_deref().unwrap_or(&stem)))
        }
    };
    let journal_existed = journal_path.exists();
    let mut journal = Journal::open(&journal_path)?;
    if journal.repaired_tail() {
        console.line(format!(
            "note: the last line of the journal {} was cut short (the previous run was killed); dropped it",
            journal_path.display()
        ));
    }
    let failures_path = config
        .failures
        .clone()
        .unwrap_or_else(|| dir.join(format!("{stem}.failures.jsonl")));
    let failures = FailuresWriter::new(failures_path);
    failures
        .remove_stale()
        .map_err(|e| Refusal(format!("cannot remove the old failures file: {e}")))?;

    // Check everything before sending anything.
    let checker = Arc::new(Checker::new(config.check).map_err(Refusal)?);
    let scanned = {
        let checker = Arc::clone(&checker);
        let console = console.clone();
        let path = input.path.clone();
        let source = source.clone();
        let format = config.format;
        tokio::task::spawn_blocking(move || {
            let mut failures = failures;
            let report = scan(
                &path,
                &source,
                format,
                &checker,
                &console,
                Some(&mut failures),
            );
            (report, failures)
        })
        .await
        .map_err(|e| Refusal(format!("the checking pass failed: {e}")))?
    };
    let (report, failures) = scanned;
    let refuse = |journal: Journal, failures: &FailuresWriter, message: String| {
        // Nothing was sent: leave no trace of this run.
        let _ = failures.remove_stale();
        if !journal_existed && journal.header().is_none() {
            drop(journal);
            let _ = std::fs::remove_file(&journal_path);
        }
        Refusal(message)
    };
    let report = match report {
        Ok(report) => report,
        Err(error) => {
            return Err(refuse(
                journal,
                &failures,
                format!("cannot read the input {source}: {error}"),
            ));
        }
    };
    console.line(format!(
        "Checked {} records: {} to send, {} invalid, {} duplicate external_id, {} warnings",
        report.records,
        report.sendable.len(),
        report.invalid,
        report.duplicates,
        report.warnings
    ));
    if let Some(broken) = &report.broken {
        return Err(refuse(
            journal,
            &failures,
            format!("the input is broken, so nothing was sent: {broken}. Fix it and run again"),
        ));
    }
    if report.without_id > 0 && !config.check.derive_external_ids && !config.allow_unsafe_retries {
        let lines: Vec<String> = report.without_id_lines.iter().map(u64::to_string).collect();
        return Err(refuse(
            journal,
            &failures,
            format!(
                "{} records have no external_id (lines {}{}), so nothing was sent: without one, a retry after a timeout or a crash could create the interview twice. \
                 Add an external_id to every record (the interview's id in your old system), or pass --derive-external-id to derive a stable one from each record's content, \
                 or --allow-unsafe-retries to send them anyway",
                report.without_id,
                lines.join(", "),
                if report.without_id > lines.len() as u64 {
                    ", …"
                } else {
                    ""
                }
            ),
        ));
    }
    let header = JournalHeader {
        journal: JOURNAL_KIND.to_owned(),
        version: JOURNAL_VERSION,
        input: source.clone(),
        input_sha256: report.digest.sha256.clone(),
        input_bytes: report.digest.bytes,
        target: base_url.clone(),
        created_at_ms: now_ms(),
    };
    let resuming = journal.header().is_some();
    if let Err(error) = journal.bind(header) {
        return Err(refuse(journal, &failures, error.to_string()));
    }

    // What earlier runs confirmed is not sent again.
    let mut to_send = report.sendable.clone();
    let mut confirmed_earlier = 0;
    for ordinal in 1..=report.records {
        if journal.is_confirmed(ordinal) {
            confirmed_earlier += 1;
            to_send.remove(ordinal);
        }
    }
    let journal_shown = match &config.journal {
        JournalLocation::Temporary => None,
        _ => Some(journal_path.display().to_string()),
    };
    if resuming {
        console.line(format!(
            "Resuming (run {}): {} records were confirmed by earlier runs; {} left to send",
            journal.runs(),
            confirmed_earlier,
            to_send.len()
        ));
        warn_if_window_passed(&journal, to_send.len(), console);
    }
    if let Some(journal) = &journal_shown {
        console.line(format!("Journal: {journal}"));
    }

    let mut run = Run::new(report, confirmed_earlier, to_send.len());
    let writer = journal.into_writer();
    let sending_started = Instant::now();
    run.send(
        config,
        target,
        &checker,
        &input.path,
        &source,
        to_send,
        &writer,
        failures,
        &mut interrupts,
        console,
    )
    .await;
    if let Err(error) = writer.close() {
        run.abort(format!("the journal could not be written: {error}"));
    }
    let sending_secs = sending_started.elapsed().as_secs_f64();
    let answered = run.created + run.already_present + run.failed;
    let failures_written = run.failures_written.take();
    let exit_code = match run.ending {
        Ending::Interrupted => exit::INTERRUPTED,
        Ending::Aborted => exit::ABORTED,
        Ending::Finished if run.report.rejected() + run.failed > 0 => exit::INCOMPLETE,
        Ending::Finished => exit::SUCCESS,
    };
    Ok(Summary {
        input: source,
        input_sha256: run.report.digest.sha256.clone(),
        target: target.description.clone(),
        base_url,
        journal: journal_shown,
        failures_file: failures_written
            .as_ref()
            .map(|(records, _)| records.display().to_string()),
        failures_report: failures_written
            .as_ref()
            .map(|(_, report)| report.display().to_string()),
        records: run.report.records,
        confirmed_earlier: run.confirmed_earlier,
        created: run.created,
        already_present: run.already_present,
        invalid: run.report.invalid,
        duplicates: run.report.duplicates,
        failed: run.failed,
        failed_maybe_created: run.failed_maybe_created,
        not_sent: run.to_send.saturating_sub(answered),
        warnings: run.report.warnings,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        records_per_second: if sending_secs > 0.0 {
            answered as f64 / sending_secs
        } else {
            0.0
        },
        ending: run.ending,
        abort_reason: run.abort_reason,
        exit_code,
        peak_memory_bytes: peak_memory_bytes(),
    })
}

fn warn_if_window_passed(journal: &Journal, left: u64, console: &Console) {
    let (Some(header), Some(idempotency)) =
        (journal.header(), CREATE_EXTERNAL_INTERVIEW.idempotency)
    else {
        return;
    };
    let window_ms = i64::from(idempotency.window_hours) * 3_600_000;
    let age_ms = now_ms() - header.created_at_ms;
    if left > 0 && age_ms > window_ms {
        console.line(format!(
            "warning: this import started {:.0} h ago, more than Feishu's {} h idempotency window. \
             A record whose request reached Feishu in an earlier run without an answer (a timeout, a crash) \
             is no longer protected by its external_id and may be created twice. Records the journal confirms are still skipped; \
             check the target for the ones listed as failed with \"may have been created\" before going on",
            age_ms as f64 / 3_600_000.0,
            idempotency.window_hours
        ));
    }
}

/// The sending phase's state.
struct Run {
    report: ScanReport,
    confirmed_earlier: u64,
    to_send: u64,
    created: u64,
    already_present: u64,
    failed: u64,
    failed_maybe_created: u64,
    unanswered_in_a_row: u32,
    ending: Ending,
    abort_reason: Option<String>,
    failures_written: Option<(PathBuf, PathBuf)>,
}

impl Run {
    fn new(report: ScanReport, confirmed_earlier: u64, to_send: u64) -> Self {
        Self {
            report,
            confirmed_earlier,
            to_send,
            created: 0,
            already_present: 0,
            failed: 0,
            failed_maybe_created: 0,
            unanswered_in_a_row: 0,
            ending: Ending::Finished,
            abort_reason: None,
            failures_written: None,
        }
    }

    fn stopping(&self) -> bool {
        self.ending != Ending::Finished
    }

    fn abort(&mut self, reason: String) {
        if self.ending == Ending::Finished {
            self.ending = Ending::Aborted;
            self.abort_reason = Some(reason);
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn send(
        &mut self,
        config: &ImportConfig,
        target: &Target,
        checker: &Arc<Checker>,
        input: &Path,
        source: &str,
        to_send: Bitset,
        journal: &JournalWriter,
        mut failures: FailuresWriter,
        interrupts: &mut Interrupts,
        console: &Console,
    ) {
        let concurrency = config.concurrency.max(1);
        let (progress, console) = Progress::start(config.progress, self.to_send, console);
        let mut progress = progress;
        let (jobs_sender, mut jobs) = mpsc::channel::<Job>(concurrency * 2);
        let stop_reading = Arc::new(AtomicBool::new(false));
        let reader = {
            let checker = Arc::clone(checker);
            let input = input.to_owned();
            let format = self.report.format;
            let stop = Arc::clone(&stop_reading);
            let console = console.clone();
            let source = source.to_owned();
            tokio::task::spawn_blocking(move || {
                read_jobs(
                    &input,
                    format,
                    &checker,
                    &to_send,
                    &jobs_sender,
                    &stop,
                    &console,
                    &source,
                )
            })
        };

        let mut in_flight: JoinSet<(Job, Result<CreateOutcome, ClientError>)> = JoinSet::new();
        let mut input_done = false;
        let mut interrupts_open = true;
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        loop {
            if (input_done || self.stopping()) && in_flight.is_empty() {
                break;
            }
            tokio::select! {
                changed = interrupts.changed(), if interrupts_open => {
                    if changed.is_err() {
                        interrupts_open = false;
                        continue;
                    }
                    let count = *interrupts.borrow_and_update();
                    if count >= 2 {
                        console.line(format!(
                            "interrupted again: abandoning {} requests in flight (the next run sends their records again, under the same external_id)",
                            in_flight.len()
                        ));
                        in_flight.abort_all();
                    } else if !self.stopping() {
                        self.ending = Ending::Interrupted;
                        console.line(format!(
                            "interrupted: finishing the {} requests in flight, then stopping (Ctrl-C again to stop at once)",
                            in_flight.len()
                        ));
                    }
                }
                Some(joined) = in_flight.join_next(), if !in_flight.is_empty() => {
                    if let Ok((job, result)) = joined {
                        self.record(job, result, journal, &mut failures, &console, source);
                        progress.inc();
                    }
                }
                job = jobs.recv(), if !self.stopping() && !input_done && in_flight.len() < concurrency => {
                    match job {
                        Some(job) => {
                            let client = target.client.clone();
                            in_flight.spawn(async move {
                                let result = client.create_external_interview(&job.request).await;
                                (job, result)
                            });
                        }
                        None => input_done = true,
                    }
                }
                _ = ticker.tick() => progress.tick(),
            }
        }
        progress.finish();
        stop_reading.store(true, Ordering::Relaxed);
        drop(jobs);
        match reader.await {
            Ok(Ok(Some(digest))) if digest != self.report.digest => console.line(format!(
                "warning: {source} changed while it was being imported (sha256 {} before, {} after); check the results",
                self.report.digest.sha256, digest.sha256
            )),
            Ok(Err(error)) => self.abort(format!("reading {source} failed: {error}")),
            _ => {}
        }
        let paths = (
            failures.records_path().to_owned(),
            failures.report_path().to_owned(),
        );
        match failures.finish() {
            Ok(true) => self.failures_written = Some(paths),
            Ok(false) => {}
            Err(error) => self.abort(format!("the failures file could not be written: {error}")),
        }
    }

    fn record(
        &mut self,
        job: Job,
        result: Result<CreateOutcome, ClientError>,
        journal: &JournalWriter,
        failures: &mut FailuresWriter,
        console: &Console,
        source: &str,
    ) {
        let mut entry = JournalEntry {
            record: job.ordinal,
            line: job.line,
            external_id: job.external_id.clone(),
            result: EntryResult::Failed,
            id: None,
            code: None,
            log_id: None,
            reason: None,
            at_ms: now_ms(),
        };
        match result {
            Ok(outcome) => {
                self.unanswered_in_a_row = 0;
                entry.id = outcome.interview().and_then(|i| i.id.clone());
                entry.log_id = outcome.meta().log_id.clone();
                match &outcome {
                    CreateOutcome::AlreadyExists { code, .. } => {
                        entry.result = EntryResult::AlreadyExists;
                        entry.code = Some(*code);
                        self.already_present += 1;
                    }
                    _ => {
                        entry.result = EntryResult::Created;
                        self.created += 1;
                    }
                }
            }
            Err(error) => {
                self.failed += 1;
                let maybe = error.may_have_been_created();
                self.failed_maybe_created += u64::from(maybe);
                let mut reason = error.to_string();
                if maybe {
                    reason.push_str(" (may have been created; re-sending within 24 h is safe with an external_id)");
                }
                entry.code = error.code();
                entry.log_id = error.log_id().map(str::to_owned);
                entry.reason = Some(reason.clone());
                console.line(format!("{source}:{}: failed: {reason}", job.line));
                if let Err(io_error) = failures.add(
                    Some(&job.bytes),
                    FailureReport {
                        failures_line: None,
                        input_line: job.line,
                        record: job.ordinal,
                        external_id: job.external_id.clone(),
                        kind: FailureKind::Failed,
                        reason,
                        code: error.code(),
                        log_id: error.log_id().map(str::to_owned),
                    },
                ) {
                    self.abort(format!(
                        "the failures file could not be written: {io_error}"
                    ));
                }
                self.check_fatal(&error);
            }
        }
        if let Err(error) = journal.append(&entry) {
            self.abort(error.to_string());
        }
    }

    /// Stops the run on errors that every further record would hit too.
    fn check_fatal(&mut self, error: &ClientError) {
        if error.is_token_error() {
            self.abort(format!("no access token could be had: {error}"));
            return;
        }
        match error.category() {
            Some(ErrorCategory::Auth) => {
                self.abort(format!("the target refused the credentials: {error}"));
            }
            Some(ErrorCategory::Permission) => {
                self.abort(format!("the app lacks a permission: {error}"));
            }
            _ => {}
        }
        if error.delivery() == Delivery::Answered {
            self.unanswered_in_a_row = 0;
        } else {
            self.unanswered_in_a_row += 1;
            if self.unanswered_in_a_row >= UNREACHABLE_AFTER {
                self.abort(format!(
                    "{UNREACHABLE_AFTER} requests in a row got no answer; the target seems unreachable (last error: {error})"
                ));
            }
        }
    }
}

/// Reads the input again and hands the records to send to the sending loop. Returns the
/// input's digest if it read to the end.
#[allow(clippy::too_many_arguments)]
fn read_jobs(
    input: &Path,
    format: InputFormat,
    checker: &Checker,
    to_send: &Bitset,
    jobs: &mpsc::Sender<Job>,
    stop: &AtomicBool,
    console: &Console,
    source: &str,
) -> io::Result<Option<InputDigest>> {
    let file = File::open(input)?;
    let mut reader = RecordReader::new(
        BufReader::with_capacity(64 * 1024, HashingReader::new(file)),
        format,
        checker.max_record_bytes(),
    );
    for record in reader.by_ref() {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let Ok(record) = record else {
            break;
        };
        if !to_send.contains(record.ordinal) {
            continue;
        }
        let Some(valid) = checker.check_bytes(&record.bytes, record.oversize).valid else {
            console.line(format!(
                "{source}:{}: error: the record changed since it was checked; not sent",
                record.line
            ));
            continue;
        };
        let job = Job {
            ordinal: record.ordinal,
            line: record.line,
            bytes: record.bytes,
            request: valid.request,
            external_id: valid.external_id,
        };
        if jobs.blocking_send(job).is_err() {
            return Ok(None);
        }
    }
    let digest = reader.into_inner().into_inner().finish()?;
    Ok(Some(digest))
}
