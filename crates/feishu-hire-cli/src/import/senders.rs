//! The tasks that send an import's records: `--concurrency` of them, each taking the next
//! record whose intent is journaled, sending it, and handing its answer to the loop that
//! journals and counts the answers ([`super::run`]). So a sender goes from one answer to its
//! next request at once, as a plain loop of requests would, and the journal gets few writes:
//!
//! - A sender that finds no journaled record journals the intents of the next records at hand
//!   with one write, up to `--concurrency` of them (see [`Senders::start`]), takes the first
//!   and leaves the others to the next senders. A record without an `external_id` gets its
//!   intent alone, just before it is sent: its intent left open by a kill could not be checked
//!   in the target, so it must mean the request may have gone out.
//! - The loop journals the answers of about a millisecond (up to 256) with one write, before
//!   it counts them; an answer for a record without an `external_id`, or a failure, at once.
//!
//! So at a kill, the records whose intent is open are the ones in flight, those answered in
//! the last millisecond, and at most `--concurrency - 1` more about to go, each with an
//! `external_id`: the next run checks the target for them before sending them again. When the run stops otherwise (Ctrl-C, an error
//! every record would hit), the intents of records never sent are closed in the journal
//! ([`not_sent_entry`]).
//!
//! What an answer means for the journal is decided here ([`answer_entry`]), from the answer
//! alone. A sender stops taking records once the run stops: when told to, or at once by
//! itself after an answer that stops every run ([`stops_the_run`]), so that no further record
//! goes out after it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use feishu_hire_client::{Client, CreateOutcome, Error as ClientError};
use feishu_hire_types::ErrorCategory;
use tokio::sync::{Mutex, Notify, mpsc};
use tokio::task::JoinSet;

use crate::journal::{EntryResult, JournalEntry, JournalError, JournalWriter};

use super::base_url_hint;
use super::reading::Job;

/// What a sender tells the loop.
// Nearly every report is an answer: boxing it would only add an allocation per record.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(super) enum Report {
    /// A record's answer, to journal and count.
    Answered(Answer),
    /// The journal could not be written: the sender stopped, without sending the records whose
    /// intents it was writing.
    JournalFailed(JournalError),
}

impl Report {
    /// Whether it must be journaled and counted without waiting for others: an answer for a
    /// record without `external_id` (whose open intent the next run could not check), a
    /// failed create (which may stop the run: the senders must hear of it at once), or a
    /// journal that failed.
    pub(super) fn needs_writing_at_once(&self) -> bool {
        match self {
            Report::Answered(answer) => answer.job.external_id.is_none() || answer.result.is_err(),
            Report::JournalFailed(_) => true,
        }
    }
}

/// A record and what the target made of it.
#[derive(Debug)]
pub(super) struct Answer {
    pub(super) job: Job,
    /// Of a success, only what the loop counts: the interview Feishu echoed is dropped by the
    /// sender (its id is in `entry`), so that answers waiting for the loop stay small.
    pub(super) result: Result<Done, ClientError>,
    /// Its journal line (see [`answer_entry`]).
    pub(super) entry: JournalEntry,
}

/// A create the target answered as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Done {
    /// Created (`entry.maybe_twice` says whether an earlier attempt may have created it too).
    Created,
    /// Feishu answered that its `external_id` already exists.
    AlreadyExists,
}

/// The sending tasks of one run.
pub(super) struct Senders {
    shared: Arc<Shared>,
    tasks: JoinSet<()>,
}

/// What the senders share.
struct Shared {
    jobs: Mutex<Jobs>,
    /// Intents journaled with one write, at most.
    block: usize,
    /// Set once no sender may take another record.
    stop: AtomicBool,
    /// Wakes the sender waiting for the reader when `stop` is set.
    stopping: Notify,
    /// Requests out now (for the messages of an interrupt).
    in_flight: AtomicUsize,
    client: Client,
    journal: Arc<JournalWriter>,
    /// The target's base URL, for hints in failure reasons.
    base_url: Arc<str>,
}

/// Records not yet sent.
struct Jobs {
    /// Journaled as about to be sent.
    ready: VecDeque<Job>,
    /// Not journaled yet: a batch from the reader being taken.
    queue: VecDeque<Job>,
    incoming: mpsc::Receiver<Vec<Job>>,
}

impl Senders {
    /// Starts `count` senders (none for a run already stopping) taking records from
    /// `incoming` and reporting to `reports`; they journal up to `count` intents at once.
    pub(super) fn start(
        count: usize,
        incoming: mpsc::Receiver<Vec<Job>>,
        client: Client,
        journal: Arc<JournalWriter>,
        base_url: &str,
        reports: &mpsc::UnboundedSender<Report>,
    ) -> Self {
        let shared = Arc::new(Shared::new(incoming, client, journal, base_url, count));
        let mut tasks = JoinSet::new();
        for _ in 0..count {
            tasks.spawn(send_records(Arc::clone(&shared), reports.clone()));
        }
        Self { shared, tasks }
    }

    /// No sender takes another record; the requests out are finished.
    pub(super) fn stop(&self) {
        self.shared.stop();
    }

    /// Requests out now.
    pub(super) fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Relaxed)
    }

    /// Abandons the requests out: their records stay "sending" in the journal.
    pub(super) fn abort(&mut self) {
        self.stop();
        self.tasks.abort_all();
    }

    /// The senders that ended (`None` once all have).
    pub(super) async fn ended(&mut self) -> Option<Result<(), tokio::task::JoinError>> {
        self.tasks.join_next().await
    }

    pub(super) fn all_ended(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Once the senders ended: the records whose intent is journaled but that were never
    /// sent (the run stopped first).
    pub(super) async fn never_sent(&self) -> Vec<Job> {
        self.shared.jobs.lock().await.ready.drain(..).collect()
    }
}

impl Shared {
    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.stopping.notify_waiters();
    }

    /// Records from `incoming`, their intents journaled up to `block` at once.
    fn new(
        incoming: mpsc::Receiver<Vec<Job>>,
        client: Client,
        journal: Arc<JournalWriter>,
        base_url: &str,
        block: usize,
    ) -> Self {
        Self {
            jobs: Mutex::new(Jobs {
                ready: VecDeque::new(),
                queue: VecDeque::new(),
                incoming,
            }),
            block: block.max(1),
            stop: AtomicBool::new(false),
            stopping: Notify::new(),
            in_flight: AtomicUsize::new(0),
            client,
            journal,
            base_url: base_url.into(),
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The next record to send, its intent journaled; `None` once there are no more or the
    /// run stops.
    async fn next(&self) -> Result<Option<Job>, JournalError> {
        let mut jobs = self.jobs.lock().await;
        if self.stopped() {
            return Ok(None);
        }
        if let Some(job) = jobs.ready.pop_front() {
            return Ok(Some(job));
        }
        while jobs.queue.is_empty() {
            // The reader may take long to find the next record to send (past many confirmed
            // ones, say): a stop must not wait for it.
            let stopping = self.stopping.notified();
            tokio::pin!(stopping);
            stopping.as_mut().enable();
            if self.stopped() {
                return Ok(None);
            }
            let batch = tokio::select! {
                batch = jobs.incoming.recv() => batch,
                () = stopping => None,
            };
            let Some(batch) = batch else {
                return Ok(None);
            };
            jobs.queue.extend(batch);
        }
        if self.stopped() {
            return Ok(None);
        }
        let block = take_block(&mut jobs.queue, self.block);
        let intents: Vec<JournalEntry> = block.iter().map(intent_entry).collect();
        // Journaled before any of them goes out, so that a kill while one is out leaves a
        // trace the next run checks instead of sending it blind.
        self.journal.append_all(&intents)?;
        let mut block = block.into_iter();
        let first = block.next();
        jobs.ready.extend(block);
        Ok(first)
    }
}

/// The next records of `queue` whose intents are journaled together: up to `most`, but a
/// record without an `external_id` only alone.
fn take_block(queue: &mut VecDeque<Job>, most: usize) -> Vec<Job> {
    let mut block = Vec::new();
    while block.len() < most.max(1)
        && let Some(job) = queue.pop_front()
    {
        let alone = job.external_id.is_none();
        if alone && !block.is_empty() {
            queue.push_front(job);
            break;
        }
        block.push(job);
        if alone {
            break;
        }
    }
    block
}

/// One sender: takes records until there are no more or the run stops.
async fn send_records(shared: Arc<Shared>, reports: mpsc::UnboundedSender<Report>) {
    loop {
        let job = match shared.next().await {
            Ok(Some(job)) => job,
            Ok(None) => return,
            Err(error) => {
                shared.stop();
                let _ = reports.send(Report::JournalFailed(error));
                return;
            }
        };
        shared.in_flight.fetch_add(1, Ordering::Relaxed);
        let result = shared
            .client
            .create_external_interview_encoded_as::<CreatedId>(&job.request)
            .await;
        shared.in_flight.fetch_sub(1, Ordering::Relaxed);
        if let Err(error) = &result
            && stops_the_run(error)
        {
            shared.stop();
        }
        let entry = answer_entry(&job, &result, &shared.base_url);
        let result = result.map(|outcome| match outcome {
            CreateOutcome::AlreadyExists { .. } => Done::AlreadyExists,
            _ => Done::Created,
        });
        if reports
            .send(Report::Answered(Answer { job, result, entry }))
            .is_err()
        {
            return;
        }
    }
}

/// Of the interview Feishu echoes, what the journal keeps: its id (decoding the rest would
/// cost about a microsecond a record, for nothing).
#[derive(Debug, serde::Deserialize)]
pub(super) struct CreatedId {
    #[serde(default)]
    id: Option<String>,
}

/// The intent of sending `job`.
fn intent_entry(job: &Job) -> JournalEntry {
    JournalEntry::new(
        job.ordinal,
        job.line,
        job.external_id.clone(),
        EntryResult::Sending,
    )
}

/// Closes the intent of a record the run stopped before sending: it is not confirmed, so
/// the next run sends it, without checking the target for it first.
pub(super) fn not_sent_entry(job: &Job) -> JournalEntry {
    let mut entry = JournalEntry::new(
        job.ordinal,
        job.line,
        job.external_id.clone(),
        EntryResult::Failed,
    );
    entry.reason = Some("not sent: the run stopped before sending it".to_owned());
    entry
}

/// Whether `error` would fail every further record too (no token, credentials or permission
/// refused), so that the run stops at once.
pub(super) fn stops_the_run(error: &ClientError) -> bool {
    error.is_token_error()
        || matches!(
            error.category(),
            Some(ErrorCategory::Auth | ErrorCategory::Permission)
        )
}

/// The reason a failed create gives: the error, and a hint when it suggests a wrong base URL.
pub(super) fn failure_reason(error: &ClientError, base_url: &str) -> String {
    let mut reason = error.to_string();
    reason.push_str(&base_url_hint(base_url, error));
    reason
}

/// The journal line of `job`'s answer, from the answer alone.
pub(super) fn answer_entry(
    job: &Job,
    result: &Result<CreateOutcome<CreatedId>, ClientError>,
    base_url: &str,
) -> JournalEntry {
    let mut entry = JournalEntry::new(
        job.ordinal,
        job.line,
        job.external_id.clone(),
        EntryResult::Failed,
    );
    match result {
        Ok(outcome) => {
            entry.id = outcome.interview().and_then(|created| created.id.clone());
            entry.log_id = outcome.meta().log_id.clone();
            if let CreateOutcome::AlreadyExists { code, .. } = outcome {
                entry.result = EntryResult::AlreadyExists;
                entry.code = Some(*code);
            } else {
                entry.result = EntryResult::Created;
                entry.maybe_twice = outcome.meta().earlier_attempt_may_have_been_processed;
            }
        }
        Err(error) if error.is_token_error() && !error.may_have_been_created() => {
            // Never sent: no token could be had for it. The journal closes its intent, so that
            // the next run need not check the target for it first.
            entry.reason = Some(format!("not sent: {error}"));
        }
        Err(error) => {
            let mut reason = failure_reason(error, base_url);
            entry.code = error.code();
            entry.log_id = error.log_id().map(str::to_owned);
            let maybe = error.may_have_been_created();
            if job.external_id.is_some() && crate::settle::doubt_of(error).is_some() {
                entry.uncertain = true;
                reason.push_str(" (uncertain: checked against the target at the end of the run)");
            } else if maybe && job.external_id.is_some() {
                reason.push_str(
                    " (may have been created; re-sending within 24 h is safe with an external_id)",
                );
            } else if maybe {
                reason.push_str(" (may have been created; it has no external_id, so check the target before re-sending it or it may be created twice)");
            }
            entry.reason = Some(reason);
        }
    }
    entry
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use feishu_hire_client::EncodedCreate;

    use super::*;

    fn job(ordinal: u64, with_id: bool) -> Job {
        let body = if with_id {
            format!(r#"{{"external_id":"ext-{ordinal}","external_application_id":"app"}}"#)
        } else {
            r#"{"external_application_id":"app"}"#.to_owned()
        };
        let request = EncodedCreate::new(Bytes::from(body)).unwrap();
        Job {
            ordinal,
            line: ordinal,
            bytes: Bytes::new(),
            external_id: request.external_id().map(str::to_owned),
            request,
        }
    }

    fn ordinals(block: &[Job]) -> Vec<u64> {
        block.iter().map(|job| job.ordinal).collect()
    }

    #[test]
    fn intents_are_journaled_in_blocks_but_a_record_without_id_alone() {
        let with_ids = [
            true, true, true, false, true, false, false, true, true, true, true,
        ];
        let mut queue: VecDeque<Job> = with_ids
            .iter()
            .enumerate()
            .map(|(i, &with_id)| job(i as u64 + 1, with_id))
            .collect();
        let mut blocks = Vec::new();
        while !queue.is_empty() {
            blocks.push(ordinals(&take_block(&mut queue, 3)));
        }
        assert_eq!(
            blocks,
            [
                vec![1, 2, 3],
                vec![4],
                vec![5],
                vec![6],
                vec![7],
                vec![8, 9, 10],
                vec![11]
            ]
        );
        // A block of at least one, whatever `most` says.
        let mut queue: VecDeque<Job> = [job(1, true), job(2, true)].into();
        assert_eq!(ordinals(&take_block(&mut queue, 0)), [1]);
    }

    #[tokio::test]
    async fn a_block_of_intents_is_journaled_before_its_first_record_goes_and_the_rest_wait() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let journal = Arc::new(crate::journal::Journal::open(&path).unwrap().into_writer());
        let (batches, incoming) = mpsc::channel(2);
        let with_ids = [true, true, true, true, false, true];
        batches
            .send(
                with_ids
                    .iter()
                    .enumerate()
                    .map(|(i, &with_id)| job(i as u64 + 1, with_id))
                    .collect(),
            )
            .await
            .unwrap();
        drop(batches);
        let client = Client::builder()
            .base_url("http://127.0.0.1:9")
            .tenant_access_token("t-test")
            .build()
            .unwrap();
        let shared = Shared::new(
            incoming,
            client,
            Arc::clone(&journal),
            "http://127.0.0.1:9",
            3,
        );
        let intents = || -> Vec<u64> {
            std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .map(|line| serde_json::from_str::<JournalEntry>(line).unwrap())
                .inspect(|entry| assert_eq!(entry.result, EntryResult::Sending))
                .map(|entry| entry.record)
                .collect()
        };

        let first = shared.next().await.unwrap().unwrap();
        assert_eq!((first.ordinal, intents()), (1, vec![1, 2, 3]));
        assert_eq!(shared.next().await.unwrap().unwrap().ordinal, 2);
        assert_eq!(shared.next().await.unwrap().unwrap().ordinal, 3);
        // Record 5 has no external_id: 4 goes alone before it, and it alone.
        assert_eq!(shared.next().await.unwrap().unwrap().ordinal, 4);
        assert_eq!(shared.next().await.unwrap().unwrap().ordinal, 5);
        assert_eq!(intents(), [1, 2, 3, 4, 5]);
        assert_eq!(shared.next().await.unwrap().unwrap().ordinal, 6);
        assert!(shared.next().await.unwrap().is_none(), "no more records");

        // Stopped with journaled records not yet taken: none is handed out, all are known.
        let (batches, incoming) = mpsc::channel(2);
        batches
            .send((11..=14).map(|i| job(i, true)).collect())
            .await
            .unwrap();
        let shared = Shared::new(
            incoming,
            shared.client.clone(),
            Arc::clone(&journal),
            "http://127.0.0.1:9",
            3,
        );
        assert_eq!(shared.next().await.unwrap().unwrap().ordinal, 11);
        shared.stop();
        assert!(shared.next().await.unwrap().is_none(), "stopped");
        let senders = Senders {
            shared: Arc::new(shared),
            tasks: JoinSet::new(),
        };
        assert_eq!(ordinals(&senders.never_sent().await), [12, 13]);
        assert_eq!(intents(), [1, 2, 3, 4, 5, 6, 11, 12, 13]);
    }

    #[tokio::test]
    async fn a_sender_waiting_for_the_reader_stops_when_the_run_does() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Arc::new(
            crate::journal::Journal::open(&dir.path().join("j"))
                .unwrap()
                .into_writer(),
        );
        // A reader that never hands anything on (it is still looking for a record to send).
        let (_reader, incoming) = mpsc::channel(2);
        let client = Client::builder()
            .base_url("http://127.0.0.1:9")
            .tenant_access_token("t-test")
            .build()
            .unwrap();
        let shared = Arc::new(Shared::new(
            incoming,
            client,
            journal,
            "http://127.0.0.1:9",
            2,
        ));
        let waiting = tokio::spawn({
            let shared = Arc::clone(&shared);
            async move { shared.next().await.map(|job| job.is_none()) }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        shared.stop();
        let stopped = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("the waiting sender ends at once")
            .unwrap();
        assert!(stopped.unwrap(), "no record after a stop");
    }

    #[test]
    fn a_record_the_run_never_sent_is_closed_as_failed_not_sent() {
        let entry = not_sent_entry(&job(7, true));
        assert_eq!(
            (entry.record, entry.result, entry.uncertain),
            (7, EntryResult::Failed, false)
        );
        assert_eq!(entry.external_id.as_deref(), Some("ext-7"));
        assert!(entry.reason.unwrap().starts_with("not sent"));
    }
}
