//! The import session: the input and every file an import writes (journal, failures file
//! and its report), opened and checked before anything is sent, and cleaned up again (no new
//! journal, no failures file) when the import refuses to start.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use feishu_hire_types::{CREATE_EXTERNAL_INTERVIEW, Idempotency};

use crate::bitset::Bitset;
use crate::check::Checker;
use crate::console::Console;
use crate::exit;
use crate::failures::FailuresWriter;
use crate::input::{InputDigest, InputFormat};
use crate::journal::{
    JOURNAL_KIND, JOURNAL_VERSION, Journal, JournalHeader, JournalOptions, JournalWriter, now_ms,
};
use crate::scan::{ScanReport, scan_file};

use super::paths::{output_base, refuse_missing_directory, refuse_shared_paths};
use super::reading::{InputFile, Reading, open_input};
use super::settling::EarlierDoubts;
use super::{ImportConfig, Interrupts, JournalLocation, Refusal, Target, interrupted};

/// An import before it sends: its input, its outputs, and its journal, open and locked.
pub(super) struct ImportSession {
    /// The input as the messages name it.
    source: String,
    input: InputFile,
    journal_path: PathBuf,
    /// Whether the journal was there before this run (if not, a refusal removes it).
    journal_existed: bool,
    journal: Journal,
    /// Whether an earlier run wrote the journal's header.
    resuming: bool,
    failures: FailuresWriter,
    checker: Arc<Checker>,
    /// The journal as the summary names it: `None` for a temporary one.
    journal_shown: Option<String>,
    /// Holds a temporary journal's directory until the end.
    temporary_dir: Option<tempfile::TempDir>,
}

/// What the run is to do, once the journal was read.
pub(super) struct Plan {
    /// The valid records no earlier run confirmed or left uncertain.
    pub(super) to_send: Bitset,
    /// Records confirmed by earlier runs.
    pub(super) confirmed_earlier: u64,
    /// What earlier runs left uncertain, to check before sending.
    pub(super) earlier: EarlierDoubts,
}

/// The session once sending starts: the journal open for entries, the failures file, and
/// how to read the input again.
pub(super) struct Running {
    pub(super) journal: OwnedJournal,
    pub(super) failures: FailuresWriter,
    pub(super) reading: Reading,
    pub(super) journal_shown: Option<String>,
    /// Keeps a spooled stdin and a temporary journal's directory until the end.
    _input: InputFile,
    _temporary_dir: Option<tempfile::TempDir>,
}

/// The journal of a running import, shared with its sending tasks (which journal the
/// intents). Dropped before it is closed (the import dropped mid-run, as a kill would end
/// it), it is abandoned at once ([`JournalWriter::abandon`]), so its lock does not outlive
/// the import by the moment its tasks take to end.
pub(super) struct OwnedJournal {
    writer: Arc<JournalWriter>,
    /// Set by `close`, so that dropping does not abandon it.
    closing: bool,
}

impl OwnedJournal {
    fn new(writer: JournalWriter) -> Self {
        Self {
            writer: Arc::new(writer),
            closing: false,
        }
    }

    pub(super) fn writer(&self) -> &Arc<JournalWriter> {
        &self.writer
    }

    /// `fsync`s everything and releases the lock; the sending tasks must have ended.
    pub(super) fn close(mut self) -> Result<(), String> {
        self.closing = true;
        let writer = Arc::clone(&self.writer);
        drop(self);
        match Arc::try_unwrap(writer) {
            Ok(writer) => writer.close().map_err(|error| error.to_string()),
            Err(shared) => {
                shared.abandon();
                Err("a sending task outlived the run, so the journal was closed without a last sync".to_owned())
            }
        }
    }
}

impl Drop for OwnedJournal {
    fn drop(&mut self) {
        if !self.closing {
            self.writer.abandon();
        }
    }
}

impl ImportSession {
    /// Opens the input, decides where every output goes, refuses outputs that would overwrite
    /// the input or one another or whose directory is missing, opens and locks the journal,
    /// and removes the failures files of an earlier run.
    pub(super) async fn open(
        config: &ImportConfig,
        interrupts: &mut Interrupts,
        console: &Console,
    ) -> Result<Self, Refusal> {
        let input = open_input(&config.input, interrupts).await?;
        let (dir, stem, file_name) = output_base(config, &input);
        let mut temporary_dir = None;
        let journal_path = match &config.journal {
            JournalLocation::Path(path) => path.clone(),
            JournalLocation::Temporary => {
                let temporary = tempfile::tempdir()
                    .map_err(|e| Refusal::new(format!("cannot make a temporary journal: {e}")))?;
                let path = temporary.path().join("import.journal");
                temporary_dir = Some(temporary);
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
        refuse_clashes(&input, &journal_path, &failures)?;
        let journal_existed = journal_path.exists();
        let journal = Journal::open(&journal_path)?;
        if journal.repaired_tail() {
            console.line(format!(
                "note: the last line of the journal {} was cut short (the previous run was killed); dropped it",
                journal_path.display()
            ));
        }
        failures
            .remove_stale()
            .map_err(|e| Refusal::new(format!("cannot remove the old failures file: {e}")))?;
        let checker = Arc::new(Checker::new(config.check).map_err(Refusal::new)?);
        let journal_shown = match &config.journal {
            JournalLocation::Temporary => None,
            _ => Some(journal_path.display().to_string()),
        };
        Ok(Self {
            source: config.input.display().to_string(),
            input,
            journal_path,
            journal_existed,
            journal,
            resuming: false,
            failures,
            checker,
            journal_shown,
            temporary_dir,
        })
    }

    /// Checks every record before anything is sent; Ctrl-C stops the check, and the import,
    /// with nothing sent. Refuses to start (cleaning up) if the input is broken, has no
    /// records, or has records without `external_id` that may not be sent.
    pub(super) async fn check(
        self,
        config: &ImportConfig,
        interrupts: &mut Interrupts,
        console: &Console,
    ) -> Result<(Self, ScanReport), Refusal> {
        let cancel = Arc::new(AtomicBool::new(false));
        let scanning = {
            let (console, format, cancel) = (console.clone(), config.format, Arc::clone(&cancel));
            let mut session = self;
            tokio::task::spawn_blocking(move || {
                let report = scan_file(
                    &session.input.file,
                    &session.source,
                    format,
                    &session.checker,
                    &console,
                    Some(&mut session.failures),
                    &cancel,
                );
                (session, report)
            })
        };
        tokio::pin!(scanning);
        let (session, report) = tokio::select! {
            scanned = &mut scanning => scanned,
            () = interrupted(interrupts) => {
                cancel.store(true, Ordering::Relaxed);
                (&mut scanning).await
            }
        }
        .map_err(|e| Refusal::new(format!("the checking pass failed: {e}")))?;
        if cancel.load(Ordering::Relaxed) {
            return Err(session.refuse(Refusal::interrupted()));
        }
        let report = match report {
            Ok(report) => report,
            Err(error) => {
                let message = match crate::scan::FailuresWriteError::of(&error) {
                    Some(write_error) => format!("{write_error}, so nothing was sent"),
                    None => format!("cannot read the input {}: {error}", session.source),
                };
                return Err(session.refuse(Refusal::new(message)));
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
        match session.refusal(config, &report) {
            Some(refusal) => Err(session.refuse(refusal)),
            None => Ok((session, report)),
        }
    }

    /// Why the checked input cannot be sent, if so.
    fn refusal(&self, config: &ImportConfig, report: &ScanReport) -> Option<Refusal> {
        if report.records == 0 && report.broken.is_none() {
            let mut refusal = Refusal::new(crate::scan::no_records_message(&self.source));
            refusal.exit_code = exit::INCOMPLETE;
            return Some(refusal);
        }
        if let Some(broken) = &report.broken {
            return Some(Refusal::new(format!(
                "the input is broken, so nothing was sent: {broken}. Fix it and run again"
            )));
        }
        if report.without_id > 0
            && !config.check.derive_external_ids
            && !config.allow_unsafe_retries
        {
            let lines: Vec<String> = report.without_id_lines.iter().map(u64::to_string).collect();
            return Some(Refusal::new(format!(
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
            )));
        }
        None
    }

    /// Nothing was sent: leaves no trace of this run (no failures file, no journal it
    /// created), and returns `refusal`.
    fn refuse(self, refusal: Refusal) -> Refusal {
        let _ = self.failures.remove_stale();
        if !self.journal_existed && self.journal.header().is_none() {
            drop(self.journal);
            let _ = std::fs::remove_file(&self.journal_path);
        }
        refusal
    }

    /// Ties a new journal to this input, target and options, or checks that an existing one
    /// has the same (refusing, and cleaning up, if not); then notes the run.
    pub(super) fn bind(
        mut self,
        config: &ImportConfig,
        target: &Target,
        report: &ScanReport,
    ) -> Result<Self, Refusal> {
        let header = JournalHeader {
            journal: JOURNAL_KIND.to_owned(),
            version: JOURNAL_VERSION,
            input: self.source.clone(),
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
        self.resuming = self.journal.header().is_some();
        match self.journal.bind(header) {
            Ok(()) => Ok(self),
            Err(error) => Err(self.refuse(Refusal::new(error.to_string()))),
        }
    }

    /// What earlier runs confirmed is not sent again; what they left uncertain is checked
    /// first. Says so when resuming, and names the journal.
    pub(super) fn plan(&self, report: &ScanReport, console: &Console) -> Plan {
        let journal = &self.journal;
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
                .filter(|&ordinal| {
                    journal.is_confirmed(ordinal) && report.sendable.contains(ordinal)
                })
                .collect::<BTreeSet<u64>>(),
        };
        if self.resuming {
            console.line(format!(
                "Resuming (run {}): {} records were confirmed by earlier runs; {} left to send",
                journal.runs(),
                confirmed_earlier,
                to_send.len() + earlier.uncertain.len() as u64
            ));
            warn_if_window_passed(journal, to_send.len(), console);
        }
        earlier.announce(console);
        if let Some(journal) = &self.journal_shown {
            console.line(format!("Journal: {journal}"));
        }
        Plan {
            to_send,
            confirmed_earlier,
            earlier,
        }
    }

    /// Opens the journal for entries; the input is read again in `format`.
    pub(super) fn into_running(
        self,
        format: InputFormat,
        checked: &InputDigest,
        console: &Console,
    ) -> Running {
        Running {
            journal: OwnedJournal::new(self.journal.into_writer()),
            failures: self.failures,
            reading: Reading {
                input: Arc::clone(&self.input.file),
                format,
                checker: self.checker,
                source: self.source,
                console: console.clone(),
                checked: Arc::new(checked.clone()),
            },
            journal_shown: self.journal_shown,
            _input: self.input,
            _temporary_dir: self.temporary_dir,
        }
    }
}

/// Refuses outputs that are the input or one another, or whose directory is missing.
fn refuse_clashes(
    input: &InputFile,
    journal: &std::path::Path,
    failures: &FailuresWriter,
) -> Result<(), Refusal> {
    let mut files = Vec::with_capacity(4);
    if input.stdin_digest.is_none() {
        files.push(("input", input.path.as_path()));
    }
    files.extend([
        ("journal", journal),
        ("failures file", failures.records_path()),
        ("failures report", failures.report_path()),
    ]);
    refuse_shared_paths(&files)?;
    for (what, path) in &files[usize::from(input.stdin_digest.is_none())..] {
        refuse_missing_directory(what, path)?;
    }
    Ok(())
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
