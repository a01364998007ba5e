//! The sending phase of an import: records go out `--concurrency` at a time, each intent
//! and answer is journaled, failures go to the failures file, and the counts of the summary
//! are kept; Ctrl-C, SIGTERM and errors every record would hit stop it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use feishu_hire_client::{Delivery, Error as ClientError};
use feishu_hire_types::ErrorCategory;
use tokio::sync::mpsc;
use tokio::task::JoinError;

use crate::bitset::Bitset;
use crate::console::{Console, Progress};
use crate::failures::{FailureKind, FailureReport, FailuresWriter};
use crate::input::InputDigest;
use crate::journal::{JournalEntry, JournalWriter};
use crate::scan::ScanReport;
use crate::settle::Doubt;
use crate::summary::{Ending, Summary, peak_memory_bytes};

use super::reading::{Job, Reading};
use super::senders::{Answer, Done, Report, Senders, failure_reason, not_sent_entry};
use super::session::Plan;
use super::settling::{Origin, Pending, Settled};
use super::{ImportConfig, Interrupts, Target, base_url_hint, exit_code, interrupted, preflight};

/// After this many failures in a row without an answer from the target, the run stops:
/// the target is unreachable and every further record would fail the same way.
const UNREACHABLE_AFTER: u32 = 25;

/// How long an answer waits, at most, for others to share its journal write (it is counted
/// once written). A kill in between leaves its intent open, so the next run checks the
/// target for it, as for a request in flight. Not for a record without `external_id`, which
/// could not be checked: its answer is written at once.
const ANSWERS_WAIT: Duration = Duration::from_millis(1);

/// Answers written together, at most.
const ANSWERS_PER_WRITE: usize = 256;

/// What the phases of a run share, unchanged while it runs.
pub(super) struct Context<'a> {
    pub(super) config: &'a ImportConfig,
    pub(super) target: &'a Target,
    pub(super) reading: &'a Reading,
    pub(super) journal: &'a Arc<JournalWriter>,
    pub(super) console: &'a Console,
}

/// The sending phase's state.
pub(super) struct Run {
    pub(super) report: ScanReport,
    pub(super) confirmed_earlier: u64,
    pub(super) to_send: u64,
    pub(super) created: u64,
    pub(super) already_present: u64,
    pub(super) failed: u64,
    pub(super) failed_maybe_created: u64,
    pub(super) failed_maybe_created_without_id: u64,
    /// Of the created, those that may exist twice and could not be checked.
    pub(super) created_maybe_twice: u64,
    /// Found more than once in the target by the end-of-run check.
    pub(super) duplicated: u64,
    /// Uncertain records read back from the target.
    pub(super) checked: u64,
    /// Refusals naming `external_id` whose record the check found once.
    pub(super) refused_but_present: u64,
    /// Their codes.
    pub(super) refusal_codes: std::collections::BTreeSet<i64>,
    /// Why some uncertain records could not be checked.
    pub(super) check_problem: Option<String>,
    /// Uncertain records, for the end-of-run check.
    pub(super) pending: Vec<Pending>,
    /// Records an earlier run left uncertain (see [`super::settling::EarlierDoubts`]).
    pub(super) uncertain_earlier: u64,
    /// Sending tasks that panicked: their records count as not sent.
    pub(super) panicked: u64,
    pub(super) unanswered_in_a_row: u32,
    /// The target's base URL, for hints when answers suggest it is wrong.
    pub(super) base_url: String,
    pub(super) ending: Ending,
    pub(super) abort_reason: Option<String>,
    pub(super) failures_written: Option<(PathBuf, PathBuf)>,
}

impl Run {
    pub(super) fn new(report: ScanReport, plan: &Plan, base_url: &str) -> Self {
        let uncertain_earlier = plan.earlier.uncertain.len() as u64;
        Self {
            report,
            confirmed_earlier: plan.confirmed_earlier,
            to_send: plan.to_send.len() + uncertain_earlier,
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
            uncertain_earlier,
            panicked: 0,
            unanswered_in_a_row: 0,
            base_url: base_url.to_owned(),
            ending: Ending::Finished,
            abort_reason: None,
            failures_written: None,
        }
    }

    pub(super) fn stopping(&self) -> bool {
        self.ending != Ending::Finished
    }

    pub(super) fn abort(&mut self, reason: String) {
        if self.ending == Ending::Finished {
            self.ending = Ending::Aborted;
            self.abort_reason = Some(reason);
        }
    }

    /// The whole run after the check: one token first, then what earlier runs left
    /// uncertain, the sending, and the end-of-run check. Returns the seconds spent sending.
    pub(super) async fn go(
        &mut self,
        cx: &Context<'_>,
        plan: Plan,
        failures: &mut FailuresWriter,
        interrupts: &mut Interrupts,
    ) -> f64 {
        let Plan {
            mut to_send,
            earlier,
            ..
        } = plan;
        if !to_send.is_empty() || !earlier.is_empty() {
            // One token before any record: an unreachable target or refused credentials stop
            // the run here, within about one timeout, with every record "not sent".
            tokio::select! {
                checked = preflight(cx.target) => if let Err(reason) = checked {
                    self.abort(reason);
                },
                () = interrupted(interrupts) => self.ending = Ending::Interrupted,
            }
        }
        let mut settled = Settled::default();
        if !earlier.is_empty() {
            self.settle_earlier(cx, &earlier, failures, interrupts, &mut settled)
                .await;
            for ordinal in earlier.uncertain.iter().copied() {
                if settled.resend.contains(ordinal) {
                    to_send.insert(ordinal);
                }
            }
        }
        let sending_started = Instant::now();
        self.send(cx, to_send, failures, interrupts).await;
        let sending_secs = sending_started.elapsed().as_secs_f64();
        let pending = std::mem::take(&mut self.pending);
        let verdicts = self.check_pending(&pending, cx, interrupts).await;
        self.apply_verdicts(pending, verdicts, cx, failures, &mut settled);
        if !settled.deferred.is_empty()
            && let Err(error) = cx.reading.write_deferred(settled.deferred, failures)
        {
            self.abort(format!("the failures file could not be written: {error}"));
        }
        sending_secs
    }

    /// Sends the records of `to_send`, `--concurrency` at a time (see [`super::senders`]),
    /// until they are all answered or the run stops, counting the answers as they come.
    pub(super) async fn send(
        &mut self,
        cx: &Context<'_>,
        to_send: Bitset,
        failures: &mut FailuresWriter,
        interrupts: &mut Interrupts,
    ) {
        let (mut progress, console) =
            Progress::start(cx.config.progress, to_send.len(), cx.console);
        // Jobs come in batches: one hand-over per batch, not per record.
        let (jobs_sender, jobs) = mpsc::channel::<Vec<Job>>(2);
        let stop_reading = Arc::new(AtomicBool::new(false));
        let reader = {
            let mut reading = cx.reading.clone();
            reading.console = console.clone();
            let stop = Arc::clone(&stop_reading);
            tokio::task::spawn_blocking(move || reading.read_jobs(&to_send, &jobs_sender, &stop))
        };
        let (reports_sender, mut reports) = mpsc::unbounded_channel();
        let mut senders = Senders::start(
            if self.stopping() {
                0
            } else {
                cx.config.concurrency.max(1)
            },
            jobs,
            cx.target.client.clone(),
            Arc::clone(cx.journal),
            &self.base_url,
            &reports_sender,
        );
        drop(reports_sender);
        let mut reports_open = true;
        let mut interrupts_open = true;
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        // Answers wait here a moment, so that many share one journal write.
        let mut unwritten: Vec<Report> = Vec::new();
        let write_due = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(write_due);
        while reports_open || !senders.all_ended() || !unwritten.is_empty() {
            let flush = tokio::select! {
                changed = interrupts.changed(), if interrupts_open => {
                    match changed {
                        Err(_) => interrupts_open = false,
                        Ok(()) => {
                            let count = *interrupts.borrow_and_update();
                            self.interrupt(count, &mut senders, &console);
                        }
                    }
                    false
                }
                report = reports.recv(), if reports_open => match report {
                    None => {
                        reports_open = false;
                        true
                    }
                    Some(report) => {
                        if unwritten.is_empty() {
                            write_due.as_mut().reset(tokio::time::Instant::now() + ANSWERS_WAIT);
                        }
                        unwritten.push(report);
                        while let Ok(more) = reports.try_recv() {
                            unwritten.push(more);
                        }
                        unwritten.len() >= ANSWERS_PER_WRITE
                            || unwritten.iter().any(Report::needs_writing_at_once)
                    }
                },
                () = &mut write_due, if !unwritten.is_empty() => true,
                Some(ended) = senders.ended(), if !senders.all_ended() => {
                    self.sender_ended(ended, &console);
                    false
                }
                _ = ticker.tick() => {
                    progress.tick();
                    false
                }
            };
            if flush && !unwritten.is_empty() {
                let answered =
                    self.reported(std::mem::take(&mut unwritten), cx, failures, &console);
                for _ in 0..answered {
                    progress.inc();
                }
            }
            if self.stopping() {
                // No further record goes out, and the reader need not look for one.
                senders.stop();
                stop_reading.store(true, Ordering::Relaxed);
            }
        }
        progress.finish();
        stop_reading.store(true, Ordering::Relaxed);
        let never_sent = senders.never_sent().await;
        let closing: Vec<JournalEntry> = never_sent.iter().map(not_sent_entry).collect();
        if let Err(error) = cx.journal.append_all(&closing) {
            self.abort(error.to_string());
        }
        // The last holder of the reader's channel: the reader stops, if it has not yet.
        drop(senders);
        self.reading_ended(reader.await, &cx.reading.source);
    }

    /// A Ctrl-C or SIGTERM (`count` so far): the first finishes the requests in flight, the
    /// second abandons them.
    fn interrupt(&mut self, count: u32, senders: &mut Senders, console: &Console) {
        if count >= 2 {
            // A second signal may arrive before the first was seen (both during the checking
            // pass, say): it must stop the run too, not only the requests.
            if !self.stopping() {
                self.ending = Ending::Interrupted;
            }
            console.line(format!(
                "interrupted again: abandoning {} requests in flight (the next run checks the target for their records before sending them again)",
                senders.in_flight()
            ));
            senders.abort();
        } else if !self.stopping() {
            self.ending = Ending::Interrupted;
            senders.stop();
            console.line(format!(
                "interrupted: finishing the {} requests in flight, then stopping (Ctrl-C again to stop at once)",
                senders.in_flight()
            ));
        }
    }

    /// What the senders reported together: the answers are journaled with one write, then
    /// counted (a failed write stops the run, as does a sender's); returns how many.
    fn reported(
        &mut self,
        batch: Vec<Report>,
        cx: &Context<'_>,
        failures: &mut FailuresWriter,
        console: &Console,
    ) -> usize {
        let mut answers = Vec::with_capacity(batch.len());
        for report in batch {
            match report {
                Report::Answered(answer) => answers.push(answer),
                Report::JournalFailed(error) => self.abort(error.to_string()),
            }
        }
        // If this write fails, the answers still count (they arrived); the journal lacks
        // them, so the next run checks the target for their records.
        if let Err(error) = cx
            .journal
            .append_all(answers.iter().map(|answer| &answer.entry))
        {
            self.abort(error.to_string());
        }
        let answered = answers.len();
        for answer in answers {
            self.record(answer, failures, console, &cx.reading.source);
        }
        answered
    }

    /// A sending task ended: a panic is a bug, not an answer. It stops the run (with one
    /// sender fewer the rest would go out slower, or not at all); its record is not sent (the
    /// next run checks the target for it and sends it again).
    fn sender_ended(&mut self, ended: Result<(), JoinError>, console: &Console) {
        match ended {
            // Ended, or abandoned by a second Ctrl-C (its record counts as not sent).
            Ok(()) => {}
            Err(error) if error.is_cancelled() => {}
            Err(error) => {
                self.panicked += 1;
                console.line(format!(
                    "error: a sending task failed ({error}); its record counts as not sent"
                ));
                self.abort(format!("a sending task failed ({error})"));
            }
        }
    }

    /// Stops the run if the second read of the input failed or found other bytes.
    fn reading_ended(
        &mut self,
        read: Result<std::io::Result<Option<InputDigest>>, JoinError>,
        source: &str,
    ) {
        match read {
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

    /// Flushes the failures file and notes where it is, if anything failed.
    pub(super) fn finish_failures(&mut self, failures: FailuresWriter) {
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

    /// Counts an answer (journaled) and reports a failure.
    fn record(
        &mut self,
        answer: Answer,
        failures: &mut FailuresWriter,
        console: &Console,
        source: &str,
    ) {
        let Answer { job, result, entry } = answer;
        match result {
            Ok(done) => self.record_answer(&job, done, &entry),
            Err(error) if error.is_token_error() && !error.may_have_been_created() => {
                // Never sent: no token could be had for it. The run stops (every record
                // would need a token); the record counts as not sent and the next run sends
                // it. Nothing to fix in the failures file.
                self.check_fatal(&error);
            }
            Err(error) => {
                self.record_failure(&job, &error, &entry, failures, console, source);
                self.check_fatal(&error);
            }
        }
    }

    /// A create the target answered as done: created (maybe twice, if an earlier attempt may
    /// have been processed too) or already present.
    fn record_answer(&mut self, job: &Job, done: Done, entry: &JournalEntry) {
        self.unanswered_in_a_row = 0;
        match done {
            Done::AlreadyExists => self.already_present += 1,
            Done::Created => {
                self.created += 1;
                if entry.maybe_twice {
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
        entry: &JournalEntry,
        failures: &mut FailuresWriter,
        console: &Console,
        source: &str,
    ) {
        self.failed += 1;
        let maybe = error.may_have_been_created();
        let reason = failure_reason(error, &self.base_url);
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
        if entry.uncertain
            && let Some(doubt) = crate::settle::doubt_of(error)
        {
            console.line(format!(
                "{source}:{}: uncertain: {reason}; it is checked against the target at the end of the run",
                job.line
            ));
            self.doubt(job, doubt, entry, Some(report));
            return;
        }
        self.failed_maybe_created += u64::from(maybe);
        if maybe && job.external_id.is_none() {
            self.failed_maybe_created_without_id += 1;
        }
        // The reason as journaled, with what "may have been created" means for this record.
        let reason = entry.reason.clone().unwrap_or(reason);
        console.line(format!("{source}:{}: failed: {reason}", job.line));
        let report = FailureReport { reason, ..report };
        if let Err(io_error) = failures.add(Some(&job.bytes), report) {
            self.abort(format!(
                "the failures file could not be written: {io_error}"
            ));
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
            record: job.uncertain(external_id, doubt),
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

    /// The summary of the run.
    pub(super) fn into_summary(
        self,
        target: &Target,
        input: String,
        journal: Option<String>,
        started: Instant,
        sending_secs: f64,
    ) -> Summary {
        let answered = self.created + self.already_present + self.failed + self.duplicated;
        // Records neither answered nor skipped: abandoned, panicked, or not met again on the
        // second read. Any of them means the run did not do everything.
        let not_sent = self.to_send.saturating_sub(answered);
        let problems =
            self.report.rejected() + self.failed + self.duplicated + self.created_maybe_twice;
        let exit_code = exit_code(self.ending, problems, not_sent);
        let (failures_file, failures_report) = match &self.failures_written {
            Some((records, report)) => (
                Some(records.display().to_string()),
                Some(report.display().to_string()),
            ),
            None => (None, None),
        };
        Summary {
            input,
            input_sha256: self.report.digest.sha256.clone(),
            target: target.description.clone(),
            base_url: self.base_url.clone(),
            journal,
            failures_file,
            failures_report,
            records: self.report.records,
            confirmed_earlier: self.confirmed_earlier,
            created: self.created,
            already_present: self.already_present,
            invalid: self.report.invalid,
            duplicates: self.report.duplicates,
            failed: self.failed,
            failed_maybe_created: self.failed_maybe_created,
            failed_maybe_created_without_id: self.failed_maybe_created_without_id,
            created_maybe_twice: self.created_maybe_twice,
            duplicated_in_target: self.duplicated,
            checked_in_target: self.checked,
            refused_but_present: self.refused_but_present,
            refusal_codes: self.refusal_codes.iter().copied().collect(),
            uncertain_earlier: self.uncertain_earlier,
            check_problem: self.check_problem,
            not_sent,
            warnings: self.report.warnings,
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            records_per_second: if sending_secs > 0.0 {
                answered as f64 / sending_secs
            } else {
                0.0
            },
            ending: self.ending,
            abort_reason: self.abort_reason,
            exit_code,
            peak_memory_bytes: peak_memory_bytes(),
        }
    }
}
