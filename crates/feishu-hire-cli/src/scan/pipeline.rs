//! The checking pass's threads: one reads the input in batches of records, one per core checks
//! them, and the caller's thread takes the checked batches in input order, all at once, so
//! that on a machine with two cores the check takes about half as long as one record at a
//! time would. The threads are started once per pass; memory holds a few batches at most.
//!
//! A checking thread also writes the batch's findings as the messages to print and keeps of
//! each record only what the caller needs ([`Checked`]): the caller's part, which runs one
//! batch at a time, stays small, and what a checking thread allocates is freed there.

use std::collections::BTreeMap;
use std::io::{self, BufRead};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};

use crate::check::{CheckOutcome, Checker};
use crate::input::{InputError, RawRecord, RecordReader};

/// Records checked together, at most (and at most [`BATCH_BYTES`] of them): enough that
/// handing a batch over costs little, few enough that every core gets work to the end and
/// Ctrl-C is seen at once.
const BATCH_RECORDS: usize = 256;

/// Bytes of records checked together, at most (one record over it still makes a batch).
const BATCH_BYTES: usize = 256 * 1024;

/// Threads that check records at once, at most.
const MAX_CHECK_THREADS: usize = 4;

/// Why a batch ended before it was full.
pub(super) enum Stop {
    /// The input ended.
    End,
    /// `cancel` was set.
    Cancelled,
    /// Reading failed (after the records before it, which are still taken).
    Failed(io::Error),
    /// The JSON array is broken here (likewise).
    Broken(InputError),
}

/// Records, what their check found (in the same order), and why reading stopped after them,
/// if it did.
pub(super) struct CheckedBatch {
    pub(super) records: Vec<RawRecord>,
    pub(super) checked: Vec<Checked>,
    /// The findings of the batch, one message per line (`FILE:LINE: …`), in order.
    pub(super) findings: String,
    pub(super) stopped: Option<Stop>,
}

/// What the caller needs of one record's check.
pub(super) struct Checked {
    /// Warnings among its findings.
    pub(super) warnings: usize,
    pub(super) verdict: Verdict,
    /// Where its findings end in the batch's `findings`.
    pub(super) findings_end: usize,
}

/// Whether a record is to be sent.
pub(super) enum Verdict {
    /// Valid, with its `external_id` (own or derived), if it has one.
    Valid(Option<String>),
    /// Invalid, with its outcome (for the failures file); boxed, as few records are invalid
    /// and an outcome is large.
    Invalid(Box<CheckOutcome>),
}

/// What the caller wants after a batch.
pub(super) enum Flow {
    /// The next batch.
    More,
    /// Nothing more: the input was read to its end (or as far as it could be).
    Ended,
    /// Nothing more: cancelled.
    Stop,
}

/// Reads `reader` in batches, checks them with `checker` on every core, and hands them to
/// `take` in input order until it says otherwise (it may take the batch's `stopped`). Returns
/// the reader once `take` says the input `Ended` (for its format and digest), `None` if it
/// said `Stop`.
pub(super) fn check_in_order<R: BufRead + Send>(
    reader: RecordReader<R>,
    checker: &Checker,
    source: &str,
    cancel: &AtomicBool,
    take: impl FnMut(&mut CheckedBatch) -> io::Result<Flow>,
) -> io::Result<Option<RecordReader<R>>> {
    let threads = check_threads();
    std::thread::scope(|scope| {
        let (batches, to_check) = mpsc::sync_channel(1);
        let (checked_sender, checked) = mpsc::sync_channel(threads);
        // The batches in circulation: the reader reads one only into a batch taken and sent
        // back (so that it never runs far ahead of the slowest checker, and memory stays
        // bounded), and drops the records taken there, on the thread that allocated them,
        // where the allocator reuses the memory at once.
        let in_circulation = 2 * threads + 2;
        let (recycle, recycled) = mpsc::sync_channel(in_circulation);
        for _ in 0..in_circulation {
            let _ = recycle.send(Vec::new());
        }
        let reading = scope.spawn(move || read_batches(reader, &batches, &recycled, cancel));
        // Each checker holds the receiving end, so that once they all stop the reader's next
        // send fails and it stops too.
        let to_check = Arc::new(Mutex::new(to_check));
        for _ in 0..threads {
            let to_check = Arc::clone(&to_check);
            let checked = checked_sender.clone();
            scope.spawn(move || check_batches(checker, source, &to_check, &checked));
        }
        drop((to_check, checked_sender));
        // Takes `checked` and `recycle`, dropped when it returns, which stops the checkers and
        // the reader.
        let ended = take_in_order(checked, recycle, take)?;
        if !ended {
            return Ok(None);
        }
        match reading.join() {
            Ok(reader) => Ok(Some(reader)),
            // A panic while reading is a bug; it ends the run as it would on one thread.
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// The threads the check runs on: one per core, up to [`MAX_CHECK_THREADS`].
fn check_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(MAX_CHECK_THREADS)
}

/// A batch as read, numbered in input order.
type ReadBatch = (u64, Vec<RawRecord>, Option<Stop>);

/// A batch as checked, numbered, or the panic of the check.
type CheckedOrPanic = (u64, std::thread::Result<CheckedBatch>);

/// The reading thread: batches until the input ends, `cancel` is set or no one checks or
/// takes them.
fn read_batches<R: BufRead>(
    mut reader: RecordReader<R>,
    batches: &mpsc::SyncSender<ReadBatch>,
    recycled: &mpsc::Receiver<Vec<RawRecord>>,
    cancel: &AtomicBool,
) -> RecordReader<R> {
    for number in 0.. {
        let Ok(mut records) = recycled.recv() else {
            break;
        };
        records.clear();
        let stopped = read_batch(&mut reader, &mut records, cancel);
        let last = stopped.is_some();
        if batches.send((number, records, stopped)).is_err() || last {
            break;
        }
    }
    reader
}

/// A checking thread: checks batches until there are no more or no one takes them. The
/// findings of `source`'s records are written as messages. A panic in the check is passed on
/// to the caller, which raises it at once.
fn check_batches(
    checker: &Checker,
    source: &str,
    to_check: &Mutex<mpsc::Receiver<ReadBatch>>,
    checked: &mpsc::SyncSender<CheckedOrPanic>,
) {
    loop {
        // The lock is held only while waiting for the next batch.
        let next = to_check
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok((number, records, stopped)) = next else {
            return;
        };
        let batch = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check_batch(checker, source, records, stopped)
        }));
        let panicked = batch.is_err();
        if checked.send((number, batch)).is_err() || panicked {
            return;
        }
    }
}

/// Checks one batch.
fn check_batch(
    checker: &Checker,
    source: &str,
    records: Vec<RawRecord>,
    stopped: Option<Stop>,
) -> CheckedBatch {
    let mut findings = String::new();
    let checked = records
        .iter()
        .map(|record| {
            let outcome = checker.check_bytes(&record.bytes, record.oversize);
            for finding in &outcome.findings {
                finding.push_line(&mut findings, source, record.line);
            }
            let warnings = outcome.warnings();
            let findings_end = findings.len();
            let verdict = match outcome.valid {
                Some(valid) => Verdict::Valid(valid.external_id),
                None => Verdict::Invalid(Box::new(outcome)),
            };
            Checked {
                warnings,
                verdict,
                findings_end,
            }
        })
        .collect();
    CheckedBatch {
        records,
        checked,
        findings,
        stopped,
    }
}

/// Hands the checked batches to `take` in input order, sending each taken batch's records
/// back to the reader through `recycle`; `true` once `take` said `Ended`, `false` if it said
/// `Stop` (or a thread ended early, which only a panic does: the scope then passes it on).
fn take_in_order(
    checked: mpsc::Receiver<CheckedOrPanic>,
    recycle: mpsc::SyncSender<Vec<RawRecord>>,
    mut take: impl FnMut(&mut CheckedBatch) -> io::Result<Flow>,
) -> io::Result<bool> {
    // Batches checked before an earlier one: fewer than the batches in circulation.
    let mut early = BTreeMap::new();
    let mut next = 0;
    for (number, batch) in checked {
        let batch = match batch {
            Ok(batch) => batch,
            // A panic in the check is a bug; it ends the run as it would on one thread.
            Err(panic) => std::panic::resume_unwind(panic),
        };
        early.insert(number, batch);
        while let Some(mut batch) = early.remove(&next) {
            next += 1;
            let flow = take(&mut batch)?;
            // Never blocks: the channel holds every batch in circulation. Fails only once
            // the reader has stopped.
            let _ = recycle.send(std::mem::take(&mut batch.records));
            match flow {
                Flow::More => {}
                Flow::Ended => return Ok(true),
                Flow::Stop => return Ok(false),
            }
        }
    }
    Ok(false)
}

/// Reads the next batch of records into `batch` (empty); why it ended early, if it did.
fn read_batch<R: BufRead>(
    reader: &mut RecordReader<R>,
    batch: &mut Vec<RawRecord>,
    cancel: &AtomicBool,
) -> Option<Stop> {
    let mut bytes = 0;
    while batch.len() < BATCH_RECORDS && bytes < BATCH_BYTES {
        if cancel.load(Ordering::Relaxed) {
            return Some(Stop::Cancelled);
        }
        match reader.next() {
            None => return Some(Stop::End),
            Some(Ok(record)) => {
                bytes += record.bytes.len();
                batch.push(record);
            }
            Some(Err(InputError::Io(error))) => return Some(Stop::Failed(error)),
            Some(Err(broken)) => return Some(Stop::Broken(broken)),
        }
    }
    None
}
