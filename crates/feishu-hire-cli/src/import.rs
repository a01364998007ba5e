//! `feishu-hire import`: check everything, then send what no earlier run confirmed.
//!
//! 1. **Open the journal** ([`crate::journal`]) and lock it: a second import of the same input
//!    is refused at once.
//! 2. **Check every record** ([`crate::scan`]) before sending any: errors and warnings are
//!    printed with line and JSON path; records sharing an `external_id` are found; the input's
//!    SHA-256 is computed. Refuse to start (exit 2) if the input is broken, if a valid record
//!    has no `external_id` (unless `--derive-external-id` or `--allow-unsafe-retries`), if the
//!    journal belongs to another input, target or options, or if two of input, journal,
//!    failures file and report are one file. Ctrl-C during the check stops at once, nothing sent (exit 130).
//! 3. **Send** the valid records the journal does not confirm, reading the input again through
//!    the handle the check read (so a file replaced meanwhile is not read) and stopping (exit 3)
//!    if its bytes no longer hash the same, `--concurrency` at a time,
//!    paced by the client's rate limiter, which also retries what is safe to retry. Each
//!    request's intent is journaled before it goes out and its answer as it arrives; each
//!    failure goes to the failures file ([`crate::failures`]). A resumed run first checks
//!    the target ([`crate::settle`]) for the records an earlier run sent without getting an
//!    answer (it was killed) and for those it created "maybe twice" without checking: only
//!    the ones the target does not hold are sent again.
//! 4. On **Ctrl-C or SIGTERM**, stop taking records, finish the requests in flight, close the
//!    journal, print the summary (exit 130); a second Ctrl-C abandons the requests in flight
//!    (the next run checks the target for their records before it sends them again).
//!    An error that would fail every record (credentials or permission refused, the target
//!    unreachable, the journal unwritable) stops the run the same way (exit 3).
//!
//! Memory stays flat: per record the importer keeps two bits (valid, confirmed), and only the
//! records in flight (and the few an earlier run left uncertain) are in memory.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use feishu_hire_client::{Client, CreateOutcome, Delivery, Error as ClientError};
use feishu_hire_types::{
    CREATE_EXTERNAL_INTERVIEW, CreateExternalInterviewRequest, ErrorCategory, Idempotency,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::bitset::Bitset;
use crate::check::{CheckOptions, Checker};
use crate::console::{Console, Progress, ProgressMode};
use crate::exit;
use crate::failures::{FailureKind, FailureReport, FailuresWriter};
use crate::input::{HashingReader, InputDigest, InputFormat, RecordReader};
use crate::journal::{
    Checked, EntryResult, JOURNAL_KIND, JOURNAL_VERSION, Journal, JournalEntry, JournalError,
    JournalHeader, JournalOptions, JournalWriter, now_ms,
};
use crate::scan::{ScanReport, scan_file};
use crate::settle::{Doubt, Uncertain, Verdict};
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
#[non_exhaustive]
pub struct Target {
    /// The client, configured for the target.
    pub client: Client,
    /// The target in words, e.g. `Feishu (https://open.feishu.cn), app cli_…`.
    pub description: String,
    /// What the journal ties its records to: the base URL, or `sandbox` for the in-process
    /// sandbox, whose port changes from run to run although it is the same kind of target.
    pub identity: String,
    /// A client that fetches one token before anything is sent and does not try again after
    /// a timeout, so that an unreachable target or refused credentials stop the run within
    /// about one timeout, with every record "not sent". `None` skips the check (a fixed
    /// tenant token has nothing to fetch).
    pub preflight: Option<Preflight>,
    /// The client for the read-only queries that check uncertain records (at the end of the
    /// run, and for a resumed run's leftovers); `None` uses `client`. The command line gives
    /// them their own retry budget (the client's default policy), whatever `--max-attempts`
    /// allows the creates: a query is safe to repeat, and one that fails leaves its records
    /// unchecked.
    pub query_client: Option<Client>,
}

/// The token fetch made before sending: a client and the app credentials to fetch with.
#[derive(Clone)]
pub struct Preflight {
    client: Client,
    app_id: String,
    app_secret: String,
}

impl Preflight {
    /// Fetches a token for `app_id` through `client` (which should not retry after a timeout).
    pub fn new(client: Client, app_id: impl Into<String>, app_secret: impl Into<String>) -> Self {
        Self {
            client,
            app_id: app_id.into(),
            app_secret: app_secret.into(),
        }
    }
}

impl std::fmt::Debug for Preflight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preflight")
            .field("client", &self.client)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// A target reached through `client`, journaled under its base URL, without a preflight.
    pub fn new(client: Client, description: impl Into<String>) -> Self {
        Self {
            identity: client.base_url().to_owned(),
            client,
            description: description.into(),
            preflight: None,
            query_client: None,
        }
    }

    /// Checks uncertain records through `client` (see [`Target::query_client`]).
    #[must_use]
    pub fn with_query_client(mut self, client: Client) -> Self {
        self.query_client = Some(client);
        self
    }

    /// The client the checks query through.
    pub(crate) fn queries(&self) -> &Client {
        self.query_client.as_ref().unwrap_or(&self.client)
    }

    /// Journals records under `identity` instead of the base URL.
    #[must_use]
    pub fn identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = identity.into();
        self
    }

    /// Fetches a token before sending (see [`Target::preflight`]).
    #[must_use]
    pub fn with_preflight(mut self, preflight: Preflight) -> Self {
        self.preflight = Some(preflight);
        self
    }
}

/// Fetches one token through the target's preflight client; the reason to stop if none came.
pub(crate) async fn preflight(target: &Target) -> Result<(), String> {
    let Some(preflight) = &target.preflight else {
        return Ok(());
    };
    let request =
        feishu_hire_types::TenantAccessTokenRequest::new(&preflight.app_id, &preflight.app_secret);
    match preflight.client.send(&request).await {
        Ok(_) => Ok(()),
        Err(error) => Err(format!(
            "no access token could be had from {}, so nothing was sent: {error}{}",
            target.client.base_url(),
            base_url_hint(target.client.base_url(), &error)
        )),
    }
}

/// A hint when an answer suggests the base URL is wrong: something answered, but not with
/// Feishu's JSON (a web page, a 404). The commonest cause is a base URL with a path
/// (`https://open.feishu.cn/open-apis`), to which the API's paths are appended.
pub fn base_url_hint(base_url: &str, error: &ClientError) -> String {
    let answered_without_code = error.delivery() == Delivery::Answered && error.code().is_none();
    if !answered_without_code && error.status() != Some(404) {
        return String::new();
    }
    let (scheme, rest) = base_url.split_once("://").unwrap_or(("https", base_url));
    match rest.split_once('/') {
        Some((host, path)) if !path.trim_matches('/').is_empty() => format!(
            ". Check the base URL: {base_url} has the path /{path}, but it must be the host only (the API's paths are added to it), e.g. --base-url {scheme}://{host}"
        ),
        _ => format!(
            ". Check the base URL: {base_url} did not answer like Feishu's API; it must be the API's host only, e.g. https://open.feishu.cn"
        ),
    }
}

/// Why an import did not start; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct Refusal {
    /// What is wrong and what to do.
    pub message: String,
    /// The exit code: [`exit::REFUSED`], [`exit::INTERRUPTED`] for a Ctrl-C before sending, or
    /// [`exit::INCOMPLETE`] for an input without records (a warning, not an error).
    pub exit_code: i32,
}

impl Refusal {
    /// A refusal to start (exit 2).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit_code: exit::REFUSED,
        }
    }

    /// Ctrl-C or SIGTERM before anything was sent (exit 130).
    pub fn interrupted() -> Self {
        Self {
            message: "interrupted before anything was sent".to_owned(),
            exit_code: exit::INTERRUPTED,
        }
    }
}

impl From<JournalError> for Refusal {
    fn from(error: JournalError) -> Self {
        Refusal::new(error.to_string())
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
    /// Opened once: both passes read through this handle (rewound in between), so a file
    /// replaced on disk meanwhile is not read by the second pass.
    file: Arc<File>,
    /// Keeps a spooled copy of stdin alive.
    _spool: Option<tempfile::NamedTempFile>,
    /// Known early for stdin (needed to name its journal).
    stdin_digest: Option<InputDigest>,
}

async fn open_input(input: &Path, interrupts: &mut Interrupts) -> Result<InputFile, Refusal> {
    if input != Path::new("-") {
        let not_readable = |error: io::Error| {
            Refusal::new(format!(
                "cannot read the input {}: {error}",
                input.display()
            ))
        };
        if let Some(problem) = crate::scan::not_a_readable_file(input) {
            return Err(Refusal::new(format!(
                "cannot read the input {}: {problem}",
                input.display()
            )));
        }
        let file = File::open(input).map_err(not_readable)?;
        return Ok(InputFile {
            path: input.to_owned(),
            file: Arc::new(file),
            _spool: None,
            stdin_digest: None,
        });
    }
    // Standard input is read twice (check, then send), so it is copied to a temporary file.
    // The copy blocks on the terminal or pipe, so it runs apart and Ctrl-C can end the wait.
    let copy = tokio::task::spawn_blocking(|| -> io::Result<_> {
        let mut spool = tempfile::NamedTempFile::new()?;
        let mut stdin = HashingReader::new(io::stdin().lock());
        io::copy(&mut stdin, spool.as_file_mut())?;
        let digest = stdin.finish()?;
        let file = spool.reopen()?;
        Ok((spool, file, digest))
    });
    let copied = tokio::select! {
        copied = copy => copied,
        () = interrupted(interrupts) => return Err(Refusal::interrupted()),
    };
    let failed = |error: String| Refusal::new(format!("cannot read standard input: {error}"));
    let (spool, file, digest) = copied
        .map_err(|e| failed(e.to_string()))?
        .map_err(|e| failed(e.to_string()))?;
    Ok(InputFile {
        path: spool.path().to_owned(),
        file: Arc::new(file),
        _spool: Some(spool),
        stdin_digest: Some(digest),
    })
}

/// Resolves at the next Ctrl-C or SIGTERM; never if signals are not listened to.
pub(crate) async fn interrupted(interrupts: &mut Interrupts) {
    if *interrupts.borrow_and_update() > 0 {
        return;
    }
    if interrupts.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Where `path` leads once links and `.`/`..` are resolved, also for a file that does not
/// exist yet (its directory is resolved and its name appended), so that two spellings of one
/// file compare equal before either is written.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    match (absolute.parent(), absolute.file_name()) {
        (Some(parent), Some(name)) => resolved(parent).join(name),
        _ => absolute,
    }
}

/// Whether two paths name the same file (see [`resolved`]).
fn same_file(a: &Path, b: &Path) -> bool {
    resolved(a) == resolved(b)
}

/// Refuses outputs that are the input or one another: each would overwrite the other (a
/// failures file written over the journal makes the next run send everything again).
fn refuse_shared_paths(files: &[(&str, &Path)]) -> Result<(), Refusal> {
    for (index, (what, path)) in files.iter().enumerate() {
        for (other, other_path) in &files[..index] {
            if same_file(path, other_path) {
                let detail = if *other == "input" {
                    "it would be overwritten".to_owned()
                } else {
                    format!("one would overwrite the other; pass another path for the {what}")
                };
                let shown = if path == other_path {
                    path.display().to_string()
                } else {
                    format!("{} ({})", path.display(), other_path.display())
                };
                let is = if *other == "input" {
                    "is the input itself".to_owned()
                } else {
                    format!("is the same file as the {other}")
                };
                return Err(Refusal::new(format!(
                    "the {what} {shown} {is}, so nothing was sent ({detail}). Pass another path"
                )));
            }
        }
    }
    Ok(())
}

/// Refuses an output whose directory does not exist, before anything is written, rather
/// than failing at the first failure halfway through the check.
fn refuse_missing_directory(what: &str, path: &Path) -> Result<(), Refusal> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if directory.is_dir() {
        return Ok(());
    }
    Err(Refusal::new(format!(
        "cannot write the {what} {}: the directory {} does not exist, so nothing was sent. Create it or pass another path",
        path.display(),
        directory.display()
    )))
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

    let input = open_input(&config.input, &mut interrupts).await?;
    let (dir, stem, file_name) = output_base(config, &input);
    let mut _temporary_dir = None;
    let journal_path = match &config.journal {
        JournalLocation::Path(path) => path.clone(),
        JournalLocation::Temporary => {
            let temporary = tempfile::tempdir()
                .map_err(|e| Refusal::new(format!("cannot make a temporary journal: {e}")))?;
            let path = temporary.path().join("import.journal");
            _temporary_dir = Some(temporary);
            path
        }
        JournalLocation::BesideInput => {
            dir.join(format!("{}.journal", file_name.as_deref().unwrap_or(&stem)))
        }
    };
    let failures_path = config
        .failures
        .clone()
        .unwrap_or_else(|| dir.join(format!("{stem}.failures.jsonl")));
    let failures = FailuresWriter::new(failures_path);
    let mut files = Vec::with_capacity(4);
    if input.stdin_digest.is_none() {
        files.push(("input", input.path.as_path()));
    }
    files.extend([
        ("journal", journal_path.as_path()),
        ("failures file", failures.records_path()),
        ("failures report", failures.report_path()),
    ]);
    refuse_shared_paths(&files)?;
    for (what, path) in &files[usize::from(input.stdin_digest.is_none())..] {
        refuse_missing_directory(what, path)?;
    }
    let journal_existed = journal_path.exists();
    let mut journal = Journal::open(&journal_path)?;
    if journal.repaired_tail() {
        console.line(format!(
            "note: the last line of the journal {} was cut short (the previous run was killed); dropped it",
            journal_path.display()
        ));
    }
    failures
        .remove_stale()
        .map_err(|e| Refusal::new(format!("cannot remove the old failures file: {e}")))?;

    // Check everything before sending anything. Ctrl-C here stops the run with nothing sent.
    let checker = Arc::new(Checker::new(config.check).map_err(Refusal::new)?);
    let cancel_scan = Arc::new(AtomicBool::new(false));
    let scanning = {
        let checker = Arc::clone(&checker);
        let console = console.clone();
        let file = Arc::clone(&input.file);
        let source = source.clone();
        let format = config.format;
        let cancel = Arc::clone(&cancel_scan);
        tokio::task::spawn_blocking(move || {
            let mut failures = failures;
            let report = scan_file(
                &file,
                &source,
                format,
                &checker,
                &console,
                Some(&mut failures),
                &cancel,
            );
            (report, failures)
        })
    };
    tokio::pin!(scanning);
    let scanned = tokio::select! {
        scanned = &mut scanning => scanned,
        () = interrupted(&mut interrupts) => {
            cancel_scan.store(true, Ordering::Relaxed);
            (&mut scanning).await
        }
    }
    .map_err(|e| Refusal::new(format!("the checking pass failed: {e}")))?;
    let (report, failures) = scanned;
    let refuse = |journal: Journal, failures: &FailuresWriter, message: String| {
        // Nothing was sent: leave no trace of this run.
        let _ = failures.remove_stale();
        if !journal_existed && journal.header().is_none() {
            drop(journal);
            let _ = std::fs::remove_file(&journal_path);
        }
        Refusal::new(message)
    };
    if cancel_scan.load(Ordering::Relaxed) {
        let _ = failures.remove_stale();
        if !journal_existed && journal.header().is_none() {
            drop(journal);
            let _ = std::fs::remove_file(&journal_path);
        }
        return Err(Refusal::interrupted());
    }
    let report = match report {
        Ok(report) => report,
        Err(error) => {
            let message = match crate::scan::FailuresWriteError::of(&error) {
                Some(write_error) => format!("{write_error}, so nothing was sent"),
                None => format!("cannot read the input {source}: {error}"),
            };
            return Err(refuse(journal, &failures, message));
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
    if report.records == 0 && report.broken.is_none() {
        let message = crate::scan::no_records_message(&source);
        let mut refusal = refuse(journal, &failures, message);
        refusal.exit_code = exit::INCOMPLETE;
        return Err(refusal);
    }
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
        target: target.identity.clone(),
        created_at_ms: now_ms(),
        options: Some(JournalOptions {
            derive_external_id: config.check.derive_external_ids,
            strict: config.check.strict,
            max_record_bytes: config.check.max_record_bytes as u64,
        }),
    };
    let resuming = journal.header().is_some();
    if let Err(error) = journal.bind(header) {
        return Err(refuse(journal, &failures, error.to_string()));
    }

    // What earlier runs confirmed is not sent again; what they sent without an answer is
    // checked first (and sent only if the target does not hold it).
    let mut to_send = report.sendable.clone();
    let mut confirmed_earlier = 0;
    for ordinal in 1..=report.records {
        if journal.is_confirmed(ordinal) {
            confirmed_earlier += 1;
            to_send.remove(ordinal);
        }
    }
    let earlier = EarlierDoubts {
        uncertain: journal
            .uncertain()
            .iter()
            .copied()
            .filter(|&ordinal| to_send.remove(ordinal))
            .collect(),
        unsettled: journal
            .unsettled()
            .iter()
            .copied()
            .filter(|&ordinal| journal.is_confirmed(ordinal) && report.sendable.contains(ordinal))
            .collect(),
    };
    let journal_shown = match &config.journal {
        JournalLocation::Temporary => None,
        _ => Some(journal_path.display().to_string()),
    };
    if resuming {
        console.line(format!(
            "Resuming (run {}): {} records were confirmed by earlier runs; {} left to send",
            journal.runs(),
            confirmed_earlier,
            to_send.len() + earlier.uncertain.len() as u64
        ));
        warn_if_window_passed(&journal, to_send.len(), console);
    }
    earlier.announce(console);
    if let Some(journal) = &journal_shown {
        console.line(format!("Journal: {journal}"));
    }

    let mut run = Run::new(
        report,
        confirmed_earlier,
        to_send.len() + earlier.uncertain.len() as u64,
    );
    run.uncertain_earlier = earlier.uncertain.len() as u64;
    run.base_url.clone_from(&base_url);
    let writer = journal.into_writer();
    if !to_send.is_empty() || !earlier.is_empty() {
        // One token before any record: an unreachable target or refused credentials stop the
        // run here, within about one timeout, with every record "not sent".
        tokio::select! {
            checked = preflight(target) => if let Err(reason) = checked {
                run.abort(reason);
            },
            () = interrupted(&mut interrupts) => run.ending = Ending::Interrupted,
        }
    }
    let mut failures = failures;
    let mut deferred = BTreeMap::new();
    if !earlier.is_empty() {
        let pending = match run.earlier_pending(&earlier, &input.file, &checker, &writer) {
            Ok((pending, without_id)) => {
                deferred.extend(without_id);
                pending
            }
            Err(error) => {
                run.abort(format!("reading {source} failed: {error}"));
                Vec::new()
            }
        };
        let verdicts = run
            .check_pending(&pending, config, target, &mut interrupts, console)
            .await;
        let mut resend = Bitset::new();
        run.apply_verdicts(
            pending,
            verdicts,
            &writer,
            &mut failures,
            console,
            &source,
            &mut deferred,
            &mut resend,
        );
        for ordinal in earlier.uncertain.iter().copied() {
            if resend.contains(ordinal) {
                to_send.insert(ordinal);
            }
        }
    }
    let sending_started = Instant::now();
    run.send(
        config,
        target,
        &checker,
        &input.file,
        &source,
        to_send,
        &writer,
        &mut failures,
        &mut interrupts,
        console,
    )
    .await;
    let sending_secs = sending_started.elapsed().as_secs_f64();
    let pending = std::mem::take(&mut run.pending);
    let verdicts = run
        .check_pending(&pending, config, target, &mut interrupts, console)
        .await;
    run.apply_verdicts(
        pending,
        verdicts,
        &writer,
        &mut failures,
        console,
        &source,
        &mut deferred,
        &mut Bitset::new(),
    );
    if !deferred.is_empty() {
        let written = write_deferred(
            &input.file,
            run.report.format,
            &checker,
            deferred,
            &mut failures,
        );
        if let Err(error) = written {
            run.abort(format!("the failures file could not be written: {error}"));
        }
    }
    run.finish_failures(failures);
    if let Err(error) = writer.close() {
        run.abort(format!("the journal could not be written: {error}"));
    }
    let answered = run.created + run.already_present + run.failed + run.duplicated;
    let failures_written = run.failures_written.take();
    // Records neither answered nor skipped: abandoned, panicked, or not met again on the
    // second read. Any of them means the run did not do everything.
    let not_sent = run.to_send.saturating_sub(answered);
    let problems = run.report.rejected() + run.failed + run.duplicated + run.created_maybe_twice;
    let exit_code = exit_code(run.ending, problems, not_sent);
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
        failed_maybe_created_without_id: run.failed_maybe_created_without_id,
        created_maybe_twice: run.created_maybe_twice,
        duplicated_in_target: run.duplicated,
        checked_in_target: run.checked,
        refused_but_present: run.refused_but_present,
        refusal_codes: run.refusal_codes.iter().copied().collect(),
        uncertain_earlier: run.uncertain_earlier,
        check_problem: run.check_problem.clone(),
        not_sent,
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

/// The exit code of a run that ended as `ending`, with `problems` records invalid, duplicate
/// or failed and `not_sent` records never answered.
fn exit_code(ending: Ending, problems: u64, not_sent: u64) -> i32 {
    match ending {
        Ending::Interrupted => exit::INTERRUPTED,
        Ending::Aborted => exit::ABORTED,
        Ending::Finished if problems + not_sent > 0 => exit::INCOMPLETE,
        Ending::Finished => exit::SUCCESS,
    }
}

fn warn_if_window_passed(journal: &Journal, left: u64, console: &Console) {
    let (Some(header), Idempotency::ByKey { window_hours, .. }) =
        (journal.header(), CREATE_EXTERNAL_INTERVIEW.idempotency)
    else {
        return;
    };
    let window_ms = i64::from(window_hours) * 3_600_000;
    let age_ms = now_ms() - header.created_at_ms;
    if left > 0 && age_ms > window_ms {
        console.line(format!(
            "warning: this import started {:.0} h ago, more than Feishu's {} h idempotency window. \
             A record whose request reached Feishu in an earlier run without an answer (a timeout, a crash) \
             is no longer protected by its external_id and may be created twice. Records the journal confirms are still skipped; \
             check the target for the ones listed as failed with \"may have been created\" before going on",
            age_ms as f64 / 3_600_000.0,
            window_hours
        ));
    }
}

/// An uncertain record, waiting for the end-of-run check: what to look up, its journal entry
/// (to append the outcome to), and its failure report (for a failed call), written once the
/// check has decided.
struct Pending {
    record: Uncertain,
    entry: JournalEntry,
    failure: Option<FailureReport>,
    origin: Origin,
}

/// Which run left a record uncertain: the counts it moves between differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// This run sent it (counted as created or failed).
    ThisRun,
    /// An earlier run sent it and got no answer, or failed it uncertain and did not check
    /// (counted as failed until checked; sent again if the target does not hold it).
    UncertainEarlier,
    /// An earlier run created it maybe twice and did not check (counted as confirmed
    /// earlier).
    ConfirmedEarlier,
}

/// What earlier runs left uncertain, by ordinal (see [`crate::journal`]): records not confirmed
/// that were sent without an answer (the run was killed) or failed in a way that may have
/// created them, without a check; and records created "maybe twice", without a check. Few:
/// the requests in flight when a run stopped, and those that met faults before it.
struct EarlierDoubts {
    uncertain: BTreeSet<u64>,
    unsettled: BTreeSet<u64>,
}

impl EarlierDoubts {
    fn is_empty(&self) -> bool {
        self.uncertain.is_empty() && self.unsettled.is_empty()
    }

    fn announce(&self, console: &Console) {
        if !self.uncertain.is_empty() {
            console.line(format!(
                "{} record(s) were left uncertain by an earlier run (sent without an answer because it was killed, or failed in a way that may have created them, and not checked): the target is checked for them before anything is sent, and only the ones it does not hold are sent again",
                self.uncertain.len()
            ));
        }
        if !self.unsettled.is_empty() {
            console.line(format!(
                "{} record(s) an earlier run created \"maybe twice\" were not checked (it stopped first): the target is checked for them now",
                self.unsettled.len()
            ));
        }
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
    failed_maybe_created_without_id: u64,
    /// Of the created, those that may exist twice and could not be checked.
    created_maybe_twice: u64,
    /// Found more than once in the target by the end-of-run check.
    duplicated: u64,
    /// Uncertain records read back from the target.
    checked: u64,
    /// Refusals naming `external_id` whose record the check found once.
    refused_but_present: u64,
    /// Their codes.
    refusal_codes: std::collections::BTreeSet<i64>,
    /// Why some uncertain records could not be checked.
    check_problem: Option<String>,
    /// Uncertain records, for the end-of-run check.
    pending: Vec<Pending>,
    /// Records an earlier run left uncertain (see [`EarlierDoubts`]).
    uncertain_earlier: u64,
    /// Request tasks that panicked: their records count as not sent.
    panicked: u64,
    unanswered_in_a_row: u32,
    /// The target's base URL, for hints when answers suggest it is wrong.
    base_url: String,
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
            failed_maybe_created_without_id: 0,
            created_maybe_twice: 0,
            duplicated: 0,
            checked: 0,
            refused_but_present: 0,
            refusal_codes: std::collections::BTreeSet::new(),
            check_problem: None,
            pending: Vec::new(),
            uncertain_earlier: 0,
            panicked: 0,
            unanswered_in_a_row: 0,
            base_url: String::new(),
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
        input: &Arc<File>,
        source: &str,
        to_send: Bitset,
        journal: &JournalWriter,
        failures: &mut FailuresWriter,
        interrupts: &mut Interrupts,
        console: &Console,
    ) {
        let concurrency = config.concurrency.max(1);
        let (progress, console) = Progress::start(config.progress, to_send.len(), console);
        let mut progress = progress;
        let (jobs_sender, mut jobs) = mpsc::channel::<Job>(concurrency * 2);
        let stop_reading = Arc::new(AtomicBool::new(false));
        let reader = {
            let checker = Arc::clone(checker);
            let input = Arc::clone(input);
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
                        // A second signal may arrive before the first was seen (both during the
                        // checking pass, say): it must stop the run too, not only the requests.
                        if !self.stopping() {
                            self.ending = Ending::Interrupted;
                        }
                        console.line(format!(
                            "interrupted again: abandoning {} requests in flight (the next run checks the target for their records before sending them again)",
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
                    match joined {
                        Ok((job, result)) => {
                            self.record(job, result, journal, failures, &console, source);
                            progress.inc();
                        }
                        // Abandoned by a second Ctrl-C: counted as not sent.
                        Err(error) if error.is_cancelled() => {}
                        Err(error) => {
                            // A bug, not an answer: its record is not sent (the next run
                            // sends it again), but the run must not claim success.
                            self.panicked += 1;
                            console.line(format!(
                                "error: a request task failed ({error}); its record counts as not sent"
                            ));
                        }
                    }
                }
                job = jobs.recv(), if !self.stopping() && !input_done && in_flight.len() < concurrency => {
                    match job {
                        Some(job) => {
                            // The intent goes to the journal before the request goes out, so
                            // that a kill while it is in flight leaves a trace the next run
                            // checks instead of sending it blind.
                            let intent = JournalEntry::new(
                                job.ordinal,
                                job.line,
                                job.external_id.clone(),
                                EntryResult::Sending,
                            );
                            if let Err(error) = journal.append(&intent) {
                                self.abort(error.to_string());
                                continue;
                            }
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
            Ok(Ok(Some(digest))) if digest != self.report.digest => self.abort(format!(
                "{source} changed between the check and the send (sha256 {}, {} bytes when checked; sha256 {}, {} bytes when sent). \
                 Records whose bytes changed were not sent; the ones sent are in the journal. Restore the checked file and run again to finish, \
                 or import the new file with a new --journal",
                self.report.digest.sha256, self.report.digest.bytes, digest.sha256, digest.bytes
            )),
            Ok(Err(error)) => self.abort(format!("reading {source} failed: {error}")),
            Err(error) => self.abort(format!("reading {source} failed: {error}")),
            Ok(Ok(_)) => {}
        }
    }

    /// Reads the uncertain records back from the target (unless the run is stopping), one
    /// verdict per record, in order.
    async fn check_pending(
        &mut self,
        pending: &[Pending],
        config: &ImportConfig,
        target: &Target,
        interrupts: &mut Interrupts,
        console: &Console,
    ) -> Vec<Verdict> {
        if pending.is_empty() {
            return Vec::new();
        }
        if self.stopping() {
            let why = "the run stopped before the check".to_owned();
            return vec![Verdict::Unchecked(why); pending.len()];
        }
        let records: Vec<Uncertain> = pending.iter().map(|p| p.record.clone()).collect();
        let verdicts = crate::settle::check(
            &records,
            target.queries(),
            config.concurrency,
            config.progress,
            console,
            interrupts,
        )
        .await;
        if *interrupts.borrow() > 0 {
            self.ending = Ending::Interrupted;
        }
        verdicts
    }

    /// Counts, journals and reports what the check found; adds to `deferred` the failure
    /// reports whose records must still be copied from the input, and to `resend` the
    /// records of an earlier run that the target does not hold (to be sent now).
    #[allow(clippy::too_many_arguments)]
    fn apply_verdicts(
        &mut self,
        pending: Vec<Pending>,
        verdicts: Vec<Verdict>,
        journal: &JournalWriter,
        failures: &mut FailuresWriter,
        console: &Console,
        source: &str,
        deferred: &mut BTreeMap<u64, FailureReport>,
        resend: &mut Bitset,
    ) {
        for (pending, verdict) in pending.into_iter().zip(verdicts) {
            let (ordinal, line) = (pending.record.ordinal, pending.record.line);
            let (entry, report) = match verdict {
                Verdict::Absent if pending.origin == Origin::UncertainEarlier => {
                    resend.insert(ordinal);
                    (Some(self.uncertain_absent(pending)), None)
                }
                Verdict::Once(id) => (Some(self.found_once(pending, id)), None),
                Verdict::Many(ids) => {
                    let (entry, report) = self.found_many(pending, ids);
                    console.line(format!("{source}:{line}: duplicated: {}", report.reason));
                    if let Err(error) = failures.add(None, report) {
                        self.abort(format!("the failures file could not be written: {error}"));
                    }
                    (Some(entry), None)
                }
                Verdict::Absent => self.found_none(pending),
                Verdict::Unchecked(why) => (None, self.unchecked(pending, &why)),
            };
            if let Some(entry) = entry
                && let Err(error) = journal.append(&entry)
            {
                self.abort(error.to_string());
            }
            if let Some(report) = report {
                console.line(format!("{source}:{line}: failed: {}", report.reason));
                deferred.insert(ordinal, report);
            }
        }
    }

    /// A record an earlier run left uncertain that the target does not hold: its request
    /// created nothing, so it is sent again now, like any record not confirmed.
    fn uncertain_absent(&mut self, pending: Pending) -> JournalEntry {
        let mut entry = pending.entry;
        self.checked += 1;
        self.failed -= 1;
        entry.at_ms = now_ms();
        entry.checked = Some(Checked::Absent);
        entry.reason = Some(
            "an earlier run left its outcome uncertain; the target does not hold it (checked), so it is sent again"
                .to_owned(),
        );
        entry
    }

    /// The target holds the uncertain record once: created, or already present if our call
    /// was refused and no attempt of it may have created it.
    fn found_once(&mut self, pending: Pending, id: Option<String>) -> JournalEntry {
        let Pending {
            record,
            mut entry,
            failure,
            ..
        } = pending;
        self.checked += 1;
        entry.at_ms = now_ms();
        entry.checked = Some(Checked::PresentOnce);
        entry.feishu_ids = id.iter().cloned().collect();
        entry.id = id.or(entry.id);
        entry.reason = None;
        if failure.is_some() {
            self.failed -= 1;
            if let Doubt::RefusedNamingId {
                code,
                maybe_created_earlier: false,
            } = record.doubt
            {
                self.already_present += 1;
                self.refused_but_present += 1;
                self.refusal_codes.insert(code);
                entry.result = EntryResult::AlreadyExists;
            } else {
                self.created += 1;
                entry.result = EntryResult::Created;
            }
        }
        entry
    }

    /// The target holds the uncertain record more than once: a duplicate, confirmed (sending
    /// it again would only add a copy), and reported with every Feishu id.
    fn found_many(&mut self, pending: Pending, ids: Vec<String>) -> (JournalEntry, FailureReport) {
        let Pending {
            record,
            mut entry,
            failure,
            origin,
        } = pending;
        self.checked += 1;
        self.duplicated += 1;
        match (&failure, origin) {
            (Some(_), _) => self.failed -= 1,
            (None, Origin::ConfirmedEarlier) => {
                // No longer "in the target" but duplicated, which this run reports: it joins
                // the records this run answers for, so that "not sent" stays right.
                self.confirmed_earlier -= 1;
                self.to_send += 1;
            }
            (None, _) => self.created -= 1,
        }
        let reason = format!(
            "the target holds {} interviews with external_id {:?} (Feishu ids {}): a request was retried after an attempt that may have been processed, \
             and the target did not honour the external_id. Delete all but one of them; against this target import with --no-retry-after-uncertain",
            ids.len(),
            record.external_id,
            ids.join(", ")
        );
        entry.at_ms = now_ms();
        entry.result = EntryResult::Created;
        entry.checked = Some(Checked::Duplicated);
        entry.feishu_ids.clone_from(&ids);
        entry.reason = Some(reason.clone());
        let report = FailureReport {
            failures_line: None,
            input_line: record.line,
            record: record.ordinal,
            external_id: Some(record.external_id),
            kind: FailureKind::DuplicatedInTarget,
            reason,
            code: None,
            log_id: entry.log_id.clone(),
            feishu_ids: ids,
        };
        (entry, report)
    }

    /// The target does not hold the uncertain record: a failed call certainly created
    /// nothing; a created one that cannot be found stays uncertain.
    fn found_none(&mut self, pending: Pending) -> (Option<JournalEntry>, Option<FailureReport>) {
        let Pending {
            record,
            mut entry,
            failure,
            ..
        } = pending;
        let Some(mut report) = failure else {
            let why = "the target answered that it created it, but its query does not list it";
            self.check_problem.get_or_insert_with(|| why.to_owned());
            self.created_maybe_twice += 1;
            return (None, None);
        };
        self.checked += 1;
        let advice = match record.doubt {
            Doubt::RefusedNamingId { .. } => {
                "; the target does not hold it (checked), so the refusal does not mean \"already exists\": fix the record as the answer says and import the failures file"
            }
            _ => {
                "; the target does not hold it (checked): not created. Import the failures file to send it again"
            }
        };
        report.reason.push_str(advice);
        entry.at_ms = now_ms();
        entry.checked = Some(Checked::Absent);
        entry.reason = Some(report.reason.clone());
        (Some(entry), Some(report))
    }

    /// The check could not tell: a created record stays "maybe twice", a failed one "may
    /// have been created".
    fn unchecked(&mut self, pending: Pending, why: &str) -> Option<FailureReport> {
        self.check_problem.get_or_insert_with(|| why.to_owned());
        let Some(mut report) = pending.failure else {
            self.created_maybe_twice += 1;
            return None;
        };
        let maybe = match pending.record.doubt {
            Doubt::MaybeCreated => true,
            Doubt::RefusedNamingId {
                maybe_created_earlier,
                ..
            } => maybe_created_earlier,
            Doubt::CreatedMaybeTwice => false,
            Doubt::EarlierRun => true,
        };
        self.failed_maybe_created += u64::from(maybe);
        report.reason.push_str(&format!(
            " (uncertain: it may be in the target, and the check could not tell: {why}. Run `feishu-hire verify` on the input before sending it again)"
        ));
        Some(report)
    }

    /// Flushes the failures file and notes where it is, if anything failed.
    fn finish_failures(&mut self, failures: FailuresWriter) {
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
        let mut entry = JournalEntry::new(
            job.ordinal,
            job.line,
            job.external_id.clone(),
            EntryResult::Failed,
        );
        match result {
            Ok(outcome) => self.record_answer(&job, &outcome, &mut entry),
            Err(error) if error.is_token_error() && !error.may_have_been_created() => {
                // Never sent: no token could be had for it. The run stops (every record
                // would need a token); the record counts as not sent and the next run sends
                // it. Nothing to fix in the failures file; the journal closes its intent, so
                // that the next run need not check the target for it first.
                entry.reason = Some(format!("not sent: {error}"));
                self.check_fatal(&error);
            }
            Err(error) => {
                self.record_failure(&job, &error, &mut entry, failures, console, source);
                self.check_fatal(&error);
            }
        }
        if let Err(error) = journal.append(&entry) {
            self.abort(error.to_string());
        }
    }

    /// A create the target answered as done: created (maybe twice, if an earlier attempt may
    /// have been processed too) or already present.
    fn record_answer(&mut self, job: &Job, outcome: &CreateOutcome, entry: &mut JournalEntry) {
        self.unanswered_in_a_row = 0;
        entry.id = outcome.interview().and_then(|i| i.id.clone());
        entry.log_id = outcome.meta().log_id.clone();
        match outcome {
            CreateOutcome::AlreadyExists { code, .. } => {
                entry.result = EntryResult::AlreadyExists;
                entry.code = Some(*code);
                self.already_present += 1;
            }
            _ => {
                entry.result = EntryResult::Created;
                self.created += 1;
                if outcome.meta().earlier_attempt_may_have_been_processed {
                    entry.maybe_twice = true;
                    self.doubt(job, Doubt::CreatedMaybeTwice, entry, None);
                }
            }
        }
    }

    /// A create that failed: reported now if its outcome is certain, else kept for the
    /// end-of-run check (and reported after it).
    fn record_failure(
        &mut self,
        job: &Job,
        error: &ClientError,
        entry: &mut JournalEntry,
        failures: &mut FailuresWriter,
        console: &Console,
        source: &str,
    ) {
        self.failed += 1;
        let maybe = error.may_have_been_created();
        let mut reason = error.to_string();
        reason.push_str(&base_url_hint(&self.base_url, error));
        entry.code = error.code();
        entry.log_id = error.log_id().map(str::to_owned);
        let report = FailureReport {
            failures_line: None,
            input_line: job.line,
            record: job.ordinal,
            external_id: job.external_id.clone(),
            kind: FailureKind::Failed,
            reason: reason.clone(),
            code: error.code(),
            log_id: error.log_id().map(str::to_owned),
            feishu_ids: Vec::new(),
        };
        if job.external_id.is_some()
            && let Some(doubt) = crate::settle::doubt_of(error)
        {
            entry.uncertain = true;
            entry.reason = Some(format!(
                "{reason} (uncertain: checked against the target at the end of the run)"
            ));
            console.line(format!(
                "{source}:{}: uncertain: {reason}; it is checked against the target at the end of the run",
                job.line
            ));
            self.doubt(job, doubt, entry, Some(report));
            return;
        }
        self.failed_maybe_created += u64::from(maybe);
        if maybe && job.external_id.is_some() {
            reason.push_str(
                " (may have been created; re-sending within 24 h is safe with an external_id)",
            );
        } else if maybe {
            self.failed_maybe_created_without_id += 1;
            reason.push_str(" (may have been created; it has no external_id, so check the target before re-sending it or it may be created twice)");
        }
        entry.reason = Some(reason.clone());
        console.line(format!("{source}:{}: failed: {reason}", job.line));
        let report = FailureReport { reason, ..report };
        if let Err(io_error) = failures.add(Some(&job.bytes), report) {
            self.abort(format!(
                "the failures file could not be written: {io_error}"
            ));
        }
    }

    /// The uncertain records of earlier runs, read from the input, ready for the check; and
    /// the failure reports of uncertain records that cannot be checked (no `external_id`),
    /// by ordinal. Those are journaled as failed now: this run does not send them, and the
    /// report says to check the target before re-sending them.
    fn earlier_pending(
        &mut self,
        earlier: &EarlierDoubts,
        input: &File,
        checker: &Checker,
        journal: &JournalWriter,
    ) -> io::Result<(Vec<Pending>, BTreeMap<u64, FailureReport>)> {
        let wanted: BTreeSet<u64> = earlier
            .uncertain
            .union(&earlier.unsettled)
            .copied()
            .collect();
        let jobs = read_some(input, self.report.format, checker, &wanted)?;
        let mut pending = Vec::with_capacity(jobs.len());
        let mut unverifiable = BTreeMap::new();
        for job in jobs {
            let uncertain = earlier.uncertain.contains(&job.ordinal);
            let Some(external_id) = job.external_id.clone() else {
                if uncertain {
                    let report = self.uncertain_without_id(&job, journal);
                    unverifiable.insert(job.ordinal, report);
                }
                continue;
            };
            let (result, doubt, origin) = if uncertain {
                self.failed += 1;
                (
                    EntryResult::Failed,
                    Doubt::EarlierRun,
                    Origin::UncertainEarlier,
                )
            } else {
                (
                    EntryResult::Created,
                    Doubt::CreatedMaybeTwice,
                    Origin::ConfirmedEarlier,
                )
            };
            let mut entry =
                JournalEntry::new(job.ordinal, job.line, job.external_id.clone(), result);
            entry.maybe_twice = !uncertain;
            let failure = uncertain.then(|| FailureReport {
                failures_line: None,
                input_line: job.line,
                record: job.ordinal,
                external_id: job.external_id.clone(),
                kind: FailureKind::Failed,
                reason: "an earlier run sent it and stopped before it knew the outcome (it was killed or interrupted before the answer or the check), so it may have been created; not sent again"
                    .to_owned(),
                code: None,
                log_id: None,
                feishu_ids: Vec::new(),
            });
            pending.push(Pending {
                record: Uncertain {
                    ordinal: job.ordinal,
                    line: job.line,
                    external_id,
                    application: job.request.external_application_id.clone(),
                    doubt,
                },
                entry,
                failure,
                origin,
            });
        }
        Ok((pending, unverifiable))
    }

    /// A record an earlier run sent without an `external_id` (`--allow-unsafe-retries`) and
    /// got no answer for: it cannot be looked up, so it is failed, "may have been created",
    /// and not sent.
    fn uncertain_without_id(&mut self, job: &Job, journal: &JournalWriter) -> FailureReport {
        self.failed += 1;
        self.failed_maybe_created += 1;
        self.failed_maybe_created_without_id += 1;
        let reason = "an earlier run sent it and stopped before the answer, so it may have been created; it has no external_id, so it cannot be checked: check the target for it before re-sending it, or it may be created twice".to_owned();
        let mut entry = JournalEntry::new(job.ordinal, job.line, None, EntryResult::Failed);
        entry.reason = Some(reason.clone());
        if let Err(error) = journal.append(&entry) {
            self.abort(error.to_string());
        }
        FailureReport {
            failures_line: None,
            input_line: job.line,
            record: job.ordinal,
            external_id: None,
            kind: FailureKind::Failed,
            reason,
            code: None,
            log_id: None,
            feishu_ids: Vec::new(),
        }
    }

    /// Keeps an uncertain record for the end-of-run check.
    fn doubt(
        &mut self,
        job: &Job,
        doubt: Doubt,
        entry: &JournalEntry,
        failure: Option<FailureReport>,
    ) {
        let Some(external_id) = job.external_id.clone() else {
            // Cannot be looked up; a success stays "maybe twice", unchecked.
            self.created_maybe_twice += u64::from(doubt == Doubt::CreatedMaybeTwice);
            return;
        };
        self.pending.push(Pending {
            record: Uncertain {
                ordinal: job.ordinal,
                line: job.line,
                external_id,
                application: job.request.external_application_id.clone(),
                doubt,
            },
            entry: entry.clone(),
            failure,
            origin: Origin::ThisRun,
        });
    }

    /// Stops the run on errors that every further record would hit too.
    fn check_fatal(&mut self, error: &ClientError) {
        if error.is_token_error() {
            self.abort(format!(
                "no access token could be had: {error}{}",
                base_url_hint(&self.base_url, error)
            ));
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

/// Copies the records of `deferred` (by ordinal) from the input to the failures file, with
/// their reports, in input order; a record not met again is reported without its copy.
fn write_deferred(
    input: &File,
    format: InputFormat,
    checker: &Checker,
    mut deferred: BTreeMap<u64, FailureReport>,
    failures: &mut FailuresWriter,
) -> io::Result<()> {
    let mut file = input;
    file.seek(SeekFrom::Start(0))?;
    let reader = RecordReader::new(
        BufReader::with_capacity(64 * 1024, file),
        format,
        checker.max_record_bytes(),
    );
    for record in reader {
        if deferred.is_empty() {
            break;
        }
        let record = record.map_err(|error| io::Error::other(error.to_string()))?;
        if let Some(report) = deferred.remove(&record.ordinal) {
            failures.add(Some(&record.bytes), report)?;
        }
    }
    for report in deferred.into_values() {
        failures.add(None, report)?;
    }
    Ok(())
}

/// The records of `wanted` (by ordinal) that are still valid, read from the input, in order.
fn read_some(
    input: &File,
    format: InputFormat,
    checker: &Checker,
    wanted: &BTreeSet<u64>,
) -> io::Result<Vec<Job>> {
    let mut file = input;
    file.seek(SeekFrom::Start(0))?;
    let reader = RecordReader::new(
        BufReader::with_capacity(64 * 1024, file),
        format,
        checker.max_record_bytes(),
    );
    let mut jobs = Vec::with_capacity(wanted.len());
    let last = wanted.last().copied().unwrap_or(0);
    for record in reader {
        let record = record.map_err(|error| io::Error::other(error.to_string()))?;
        if record.ordinal > last {
            break;
        }
        if !wanted.contains(&record.ordinal) {
            continue;
        }
        if let Some(valid) = checker.check_bytes(&record.bytes, record.oversize).valid {
            jobs.push(Job {
                ordinal: record.ordinal,
                line: record.line,
                bytes: record.bytes,
                request: valid.request,
                external_id: valid.external_id,
            });
        }
    }
    Ok(jobs)
}

/// Reads the input again and hands the records to send to the sending loop. Returns the
/// input's digest if it read to the end.
#[allow(clippy::too_many_arguments)]
fn read_jobs(
    input: &File,
    format: InputFormat,
    checker: &Checker,
    to_send: &Bitset,
    jobs: &mpsc::Sender<Job>,
    stop: &AtomicBool,
    console: &Console,
    source: &str,
) -> io::Result<Option<InputDigest>> {
    let mut file = input;
    file.seek(SeekFrom::Start(0))?;
    let mut reader = RecordReader::new(
        BufReader::with_capacity(64 * 1024, HashingReader::new(file)),
        format,
        checker.max_record_bytes(),
    );
    for record in reader.by_ref() {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        // The checking pass read this far, so an error here means the input changed or the
        // disk failed: stop the run rather than report the rest as sent.
        let record = record.map_err(|error| io::Error::other(error.to_string()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_not_sent_make_a_finished_run_incomplete() {
        assert_eq!(exit_code(Ending::Finished, 0, 0), exit::SUCCESS);
        assert_eq!(exit_code(Ending::Finished, 0, 1), exit::INCOMPLETE);
        assert_eq!(exit_code(Ending::Finished, 1, 0), exit::INCOMPLETE);
        assert_eq!(exit_code(Ending::Interrupted, 0, 5), exit::INTERRUPTED);
        assert_eq!(exit_code(Ending::Aborted, 0, 5), exit::ABORTED);
    }

    #[test]
    fn the_sending_pass_reads_the_checked_file_even_if_it_was_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.jsonl");
        let original: Vec<String> = crate::examples::interview_lines(1, 2, "old-").collect();
        std::fs::write(&path, original.join("\n") + "\n").unwrap();
        let file = File::open(&path).unwrap();
        let checked = HashingReader::new(File::open(&path).unwrap())
            .finish()
            .unwrap();
        // An editor saves by writing a new file and renaming it over the old one.
        let replaced: Vec<String> = crate::examples::interview_lines(2, 2, "new-").collect();
        let fresh = dir.path().join("in.jsonl.tmp");
        std::fs::write(&fresh, replaced.join("\n") + "\n").unwrap();
        std::fs::rename(&fresh, &path).unwrap();

        let checker = Checker::new(CheckOptions::default()).unwrap();
        let mut to_send = Bitset::new();
        to_send.insert(1);
        to_send.insert(2);
        let (jobs, mut received) = mpsc::channel(4);
        let (console, _) = Console::buffer();
        let stop = AtomicBool::new(false);
        let digest = read_jobs(
            &file,
            InputFormat::JsonLines,
            &checker,
            &to_send,
            &jobs,
            &stop,
            &console,
            "in.jsonl",
        )
        .unwrap();
        assert_eq!(digest, Some(checked));
        let mut ids = Vec::new();
        while let Ok(job) = received.try_recv() {
            ids.extend(job.external_id);
        }
        assert_eq!(ids.len(), 2);
        assert!(ids.iter().all(|id| id.starts_with("old-")), "{ids:?}");
    }

    #[test]
    fn a_broken_input_in_the_sending_pass_is_an_error_not_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.json");
        std::fs::write(&path, "{\"not\": \"an array\"}").unwrap();
        let checker = Checker::new(CheckOptions::default()).unwrap();
        let mut to_send = Bitset::new();
        to_send.insert(1);
        let (jobs, _received) = mpsc::channel(4);
        let (console, _) = Console::buffer();
        let stop = AtomicBool::new(false);
        let result = read_jobs(
            &File::open(&path).unwrap(),
            InputFormat::JsonArray,
            &checker,
            &to_send,
            &jobs,
            &stop,
            &console,
            "in.json",
        );
        assert!(result.is_err(), "{result:?}");
    }

    #[test]
    fn the_same_file_is_recognised_under_another_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("in.jsonl");
        std::fs::write(&file, "{}\n").unwrap();
        assert!(same_file(&file, &dir.path().join(".").join("in.jsonl")));
        assert!(!same_file(&file, &dir.path().join("in.jsonl.journal")));
        // Files not written yet compare by their resolved directory.
        let missing = dir.path().join("out.jsonl");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert!(same_file(&missing, &dir.path().join("sub/../out.jsonl")));
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(dir.path(), &link).unwrap();
            assert!(same_file(&missing, &link.join("out.jsonl")));
            let file_link = dir.path().join("in.link");
            std::os::unix::fs::symlink(&file, &file_link).unwrap();
            assert!(same_file(&file, &file_link));
        }
    }
}
