//! Reading the input for an import: opening it (standard input is spooled to a file, since
//! it is read more than once), and the passes after the check, all through the handle the
//! check read: the records to send, the few an earlier run left uncertain, and the failed
//! records copied to the failures file.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs::File;
use std::io::{self, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use feishu_hire_client::EncodedCreate;
use tokio::sync::mpsc;

use crate::bitset::Bitset;
use crate::check::{Checker, application_of, sendable_of};
use crate::console::Console;
use crate::failures::{FailureReport, FailuresWriter};
use crate::input::{HashingReader, InputDigest, InputFormat, RawRecord, RecordReader};

use super::{Interrupts, Refusal, interrupted};
use crate::settle::{Doubt, Uncertain};

/// A record on its way to the target.
#[derive(Debug)]
pub(super) struct Job {
    pub(super) ordinal: u64,
    pub(super) line: u64,
    /// The record's bytes as read (the failures file copies them).
    pub(super) bytes: Bytes,
    /// What is sent: the same bytes, unless its `external_id` was derived.
    pub(super) request: EncodedCreate,
    pub(super) external_id: Option<String>,
}

impl Job {
    fn new(record: &RawRecord, bytes: Bytes, request: EncodedCreate) -> Self {
        Self {
            ordinal: record.ordinal,
            line: record.line,
            bytes,
            external_id: request.external_id().map(str::to_owned),
            request,
        }
    }

    /// This record as one to check against the target, by `external_id` (own or derived).
    pub(super) fn uncertain(&self, external_id: String, doubt: Doubt) -> Uncertain {
        Uncertain {
            ordinal: self.ordinal,
            line: self.line,
            external_id,
            // The body was checked, so it names its application.
            application: application_of(self.request.body()).unwrap_or_default(),
            doubt,
        }
    }
}

/// The input, as a file on disk.
pub(super) struct InputFile {
    pub(super) path: PathBuf,
    /// Opened once: both passes read through this handle (rewound in between), so a file
    /// replaced on disk meanwhile is not read by the second pass.
    pub(super) file: Arc<File>,
    /// Keeps a spooled copy of stdin alive.
    pub(super) _spool: Option<tempfile::NamedTempFile>,
    /// Known early for stdin (needed to name its journal).
    pub(super) stdin_digest: Option<InputDigest>,
}

pub(super) async fn open_input(
    input: &Path,
    interrupts: &mut Interrupts,
) -> Result<InputFile, Refusal> {
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

/// How the passes after the check read the input: through the handle the check read (rewound
/// each time), in the format it found, with the same checker.
#[derive(Clone)]
pub(super) struct Reading {
    pub(super) input: Arc<File>,
    pub(super) format: InputFormat,
    pub(super) checker: Arc<Checker>,
    /// The input as the messages name it.
    pub(super) source: String,
    pub(super) console: Console,
    /// The input's digest as checked, which the sending pass's read must match.
    pub(super) checked: Arc<InputDigest>,
}

impl Reading {
    /// The input's records from the start, hashing the bytes read.
    fn records(&self) -> io::Result<RecordReader<BufReader<HashingReader<&File>>>> {
        let mut file = &*self.input;
        file.seek(SeekFrom::Start(0))?;
        Ok(RecordReader::new(
            BufReader::with_capacity(64 * 1024, HashingReader::new(file)),
            self.format,
            self.checker.max_record_bytes(),
        ))
    }

    /// Copies the records of `deferred` (by ordinal) from the input to the failures file,
    /// with their reports, in input order; a record not met again is reported without its
    /// copy.
    pub(super) fn write_deferred(
        &self,
        mut deferred: BTreeMap<u64, FailureReport>,
        failures: &mut FailuresWriter,
    ) -> io::Result<()> {
        for record in self.records()? {
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

    /// The records of `wanted` (by ordinal) that are still valid, in order.
    pub(super) fn read_some(&self, wanted: &BTreeSet<u64>) -> io::Result<Vec<Job>> {
        let mut jobs = Vec::with_capacity(wanted.len());
        let last = wanted.last().copied().unwrap_or(0);
        for record in self.records()? {
            let mut record = record.map_err(|error| io::Error::other(error.to_string()))?;
            if record.ordinal > last {
                break;
            }
            if !wanted.contains(&record.ordinal) {
                continue;
            }
            let valid = self
                .checker
                .check_bytes(&record.bytes, record.oversize)
                .valid;
            let bytes = Bytes::from(std::mem::take(&mut record.bytes));
            if let Some(request) = valid.and_then(|valid| sendable_of(valid, bytes.clone())) {
                jobs.push(Job::new(&record, bytes, request));
            }
        }
        Ok(jobs)
    }

    /// Reads the input again and hands the records of `to_send` to the sending loop through
    /// `jobs`, until `stop`. Returns the input's digest if it read to the end, or as soon as
    /// its bytes differ from the checked ones (the rest of the input is then only hashed).
    ///
    /// Each record is checked once, by the checking pass: a record read here is handed on only
    /// once every byte up to it is known to be a byte that pass read, by the SHA-256 of the
    /// input's prefixes ([`HashingReader::checkpoints`], compared with `checked`'s every
    /// [`crate::input::CHECKPOINT_BYTES`], and the whole input's at the end). So its bytes
    /// are the ones found valid, and they are sent as they are ([`Checker::sendable`]).
    /// Until then it waits here, with the few records read since the last checkpoint; the
    /// read goes on meanwhile (while the sending loop is busy), up to [`READ_AHEAD_BYTES`] of
    /// waiting records, so that the loop need not wait for the next checkpoint.
    pub(super) fn read_jobs(
        &self,
        to_send: &Bitset,
        jobs: &mpsc::Sender<Vec<Job>>,
        stop: &AtomicBool,
    ) -> io::Result<Option<InputDigest>> {
        let mut reader = self.records()?;
        // Records to send, each with the bytes hashed when it was read (it lies within them).
        let mut waiting = Waiting::default();
        let mut vouched = Vouched::default();
        while let Some(record) = reader.next() {
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            // The checking pass read this far, so an error here means the input changed or the
            // disk failed: stop the run rather than report the rest as sent.
            let record = record.map_err(|error| io::Error::other(error.to_string()))?;
            let hashing = reader.get_ref().get_ref();
            if to_send.contains(record.ordinal) {
                waiting.push(hashing.hashed(), record);
            }
            if !vouched.advance(hashing.checkpoints(), &self.checked.checkpoints) {
                // Changed since the check: nothing more is sent; the caller stops the run
                // with both digests.
                return reader.into_inner().into_inner().finish().map(Some);
            }
            if !self.hand_on(&mut waiting, vouched.bytes, jobs, false) {
                return Ok(None);
            }
        }
        let digest = reader.into_inner().into_inner().finish()?;
        if digest == *self.checked && !self.hand_on(&mut waiting, u64::MAX, jobs, true) {
            return Ok(None);
        }
        Ok(Some(digest))
    }

    /// Decodes the waiting records within the first `vouched` bytes (known to be as checked)
    /// and hands them to the sending loop in batches, in order: while it has room, or until
    /// it takes them all if `all` (or if too many bytes are waiting). `false` once it stopped.
    fn hand_on(
        &self,
        waiting: &mut Waiting,
        vouched: u64,
        jobs: &mpsc::Sender<Vec<Job>>,
        all: bool,
    ) -> bool {
        loop {
            let wait = all || waiting.bytes > READ_AHEAD_BYTES;
            let batch = match waiting.held.take() {
                Some(batch) => batch,
                None => {
                    let (mut batch, mut bytes) = (Vec::new(), 0);
                    while batch.len() < JOBS_PER_BATCH
                        && bytes < BATCH_BYTES
                        && let Some(record) = waiting.pop(vouched)
                    {
                        bytes += record.bytes.len();
                        batch.extend(self.decode(record));
                    }
                    if batch.is_empty() {
                        return true;
                    }
                    batch
                }
            };
            if wait {
                if jobs.blocking_send(batch).is_err() {
                    return false;
                }
                continue;
            }
            match jobs.try_send(batch) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(batch)) => {
                    waiting.held = Some(batch);
                    return true;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
            }
        }
    }

    /// The job of a record known to be as checked, decoded without checking it again.
    fn decode(&self, mut record: RawRecord) -> Option<Job> {
        let bytes = Bytes::from(std::mem::take(&mut record.bytes));
        let Some(request) = self.checker.sendable(bytes.clone()) else {
            // Cannot happen to bytes that were found valid; should it, the record is not sent.
            self.console.line(format!(
                "{}:{}: error: the record changed since it was checked; not sent",
                self.source, record.line
            ));
            return None;
        };
        Some(Job::new(&record, bytes, request))
    }
}

/// Records waiting for a checkpoint (to send) are read ahead while the sending loop is busy,
/// up to this many bytes of them; then the read waits for the loop.
const READ_AHEAD_BYTES: usize = 1024 * 1024;

/// Records handed to the sending loop at a time, at most: fewer wake-ups of it and of this
/// thread.
const JOBS_PER_BATCH: usize = 64;

/// Bytes of records handed on at a time, at most (one record over it still makes a batch).
/// Besides [`READ_AHEAD_BYTES`] of records waiting here, at most four batches are on their
/// way (one held here, two in the channel, one in the sending loop's queue), so this bounds
/// the memory they take whatever `--max-record-bytes` allows.
const BATCH_BYTES: usize = 64 * 1024;

/// The records of the sending pass not yet handed on, in input order.
#[derive(Default)]
struct Waiting {
    /// Each with the input's bytes hashed when it was read (it lies within them).
    records: VecDeque<(u64, RawRecord)>,
    /// Their bytes.
    bytes: usize,
    /// Decoded, but the sending loop had no room for them: the next to go.
    held: Option<Vec<Job>>,
}

impl Waiting {
    fn push(&mut self, hashed: u64, record: RawRecord) {
        self.bytes += record.bytes.len();
        self.records.push_back((hashed, record));
    }

    /// The first record, if it lies within the first `vouched` bytes.
    fn pop(&mut self, vouched: u64) -> Option<RawRecord> {
        if self.records.front().is_none_or(|(end, _)| *end > vouched) {
            return None;
        }
        let (_, record) = self.records.pop_front()?;
        self.bytes -= record.bytes.len();
        Some(record)
    }
}

/// How much of the input a second read has found to be as checked: the prefix up to its last
/// checkpoint whose SHA-256 matched the checking pass's.
#[derive(Debug, Default)]
struct Vouched {
    checkpoints: usize,
    bytes: u64,
}

impl Vouched {
    /// Compares the checkpoints passed since the last call with the checked ones; `false` at
    /// the first that differs (or that the checked input did not have: it grew).
    fn advance(&mut self, read: &[[u8; 32]], checked: &[[u8; 32]]) -> bool {
        while self.checkpoints < read.len() {
            if checked.get(self.checkpoints) != Some(&read[self.checkpoints]) {
                return false;
            }
            self.checkpoints += 1;
            self.bytes = self.checkpoints as u64 * crate::input::CHECKPOINT_BYTES;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CheckOptions;

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
        let reading = Reading {
            input: Arc::new(file),
            format: InputFormat::JsonLines,
            checker: Arc::new(checker),
            source: "in.jsonl".to_owned(),
            console,
            checked: Arc::new(checked.clone()),
        };
        let digest = reading.read_jobs(&to_send, &jobs, &stop).unwrap();
        assert_eq!(digest, Some(checked));
        let mut ids = Vec::new();
        while let Ok(batch) = received.try_recv() {
            ids.extend(batch.into_iter().filter_map(|job| job.external_id));
        }
        assert_eq!(ids.len(), 2);
        assert!(ids.iter().all(|id| id.starts_with("old-")), "{ids:?}");
    }

    #[test]
    fn records_past_a_change_are_not_sent_and_those_before_it_are_as_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.jsonl");
        // Enough records for several checkpoints.
        let lines: Vec<String> = crate::examples::interview_lines(3, 2000, "old-").collect();
        let text = lines.join("\n") + "\n";
        assert!(text.len() as u64 > 3 * crate::input::CHECKPOINT_BYTES);
        std::fs::write(&path, &text).unwrap();
        let checked = HashingReader::new(File::open(&path).unwrap())
            .finish()
            .unwrap();
        // Changed in place (same handle, same length) past the second checkpoint.
        let at = 2 * crate::input::CHECKPOINT_BYTES as usize + 10;
        let at = at + text[at..].find("old-").unwrap();
        let mut changed = text.into_bytes();
        changed[at..at + 4].copy_from_slice(b"new-");
        std::fs::write(&path, &changed).unwrap();

        let checker = Checker::new(CheckOptions::default()).unwrap();
        let mut to_send = Bitset::new();
        for ordinal in 1..=2000 {
            to_send.insert(ordinal);
        }
        let (jobs, mut received) = mpsc::channel(4000);
        let (console, _) = Console::buffer();
        let stop = AtomicBool::new(false);
        let reading = Reading {
            input: Arc::new(File::open(&path).unwrap()),
            format: InputFormat::JsonLines,
            checker: Arc::new(checker),
            source: "in.jsonl".to_owned(),
            console,
            checked: Arc::new(checked.clone()),
        };
        let digest = reading.read_jobs(&to_send, &jobs, &stop).unwrap();
        assert_ne!(digest, Some(checked));
        let mut sent = Vec::new();
        while let Ok(batch) = received.try_recv() {
            sent.extend(batch);
        }
        assert!(!sent.is_empty());
        assert!(sent.len() < 2000);
        for job in &sent {
            assert_eq!(
                job.bytes,
                lines[usize::try_from(job.ordinal - 1).unwrap()].as_bytes()
            );
            assert!(job.external_id.as_deref().unwrap().starts_with("old-"));
        }
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
        let reading = Reading {
            input: Arc::new(File::open(&path).unwrap()),
            format: InputFormat::JsonArray,
            checker: Arc::new(checker),
            source: "in.json".to_owned(),
            console,
            checked: Arc::new(
                HashingReader::new(File::open(&path).unwrap())
                    .finish()
                    .unwrap(),
            ),
        };
        let result = reading.read_jobs(&to_send, &jobs, &stop);
        assert!(result.is_err(), "{result:?}");
    }
}
