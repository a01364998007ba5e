//! The import journal: what Feishu confirmed, so a re-run sends only the rest.
//!
//! # Where
//! Beside the input, named `<input>.journal` (e.g. `interviews.jsonl.journal`), or wherever
//! `--journal PATH` says. Input from stdin gets `stdin-<first 12 hex digits of its SHA-256>.journal`
//! in the current directory. `--sandbox` runs use a temporary journal (the in-process sandbox
//! forgets everything when the run ends), unless `--journal` is given.
//!
//! # Format
//! JSON Lines, append-only, one object per line:
//!
//! ```text
//! {"journal":"feishu-hire import","version":1,"input":"interviews.jsonl","input_sha256":"9f2c…","input_bytes":183201,"target":"https://open.feishu.cn","created_at_ms":1718000000000,"options":{"derive_external_id":false,"strict":false,"max_record_bytes":65536}}
//! {"run":1,"started_at_ms":1718000000000,"importer":"0.1.0"}
//! {"record":1,"line":1,"external_id":"ats-1","result":"created","id":"7396…","at_ms":1718000000417}
//! {"record":2,"line":2,"external_id":"ats-2","result":"already_exists","code":12345,"at_ms":1718000000420}
//! {"record":3,"line":4,"external_id":"ats-3","result":"sending","at_ms":1718000000421}
//! {"record":3,"line":4,"external_id":"ats-3","result":"failed","code":1002001,"log_id":"2024…","reason":"…","at_ms":1718000000433}
//! ```
//!
//! - The **header** (first line) ties the journal to one input by its SHA-256 and size, to
//!   one target (base URL, or `sandbox` for `--sandbox`), and to the options that decide which records are sent under which
//!   `external_id` (`options`: `--derive-external-id`, `--strict`, `--max-record-bytes`). A
//!   run whose input, target or options differ is refused.
//! - A **run** line is appended at the start of each run.
//! - An **entry** per record outcome: `record` is the record's ordinal in the input (1-based,
//!   blank lines not counted), `line` where it starts. `created` and `already_exists` are
//!   *confirmed*: Feishu said the interview exists, so no later run sends the record again
//!   (`already_exists` carries the code that `--already-exists-code` matched).
//!   `failed` entries are for the record only; a later run retries those records.
//! - A `failed` entry with `"uncertain":true` may have created the record; like a `sending`
//!   entry without an answer, it is checked by the next run unless a `checked` entry follows.
//! - A **`sending`** entry (the intent) is written before each request goes out, and the
//!   record's answer follows it. A `sending` entry with no later entry for its record means a
//!   run stopped (killed, or a second Ctrl-C) while the request may have been in flight (or
//!   just answered, or, for a record with an `external_id`, about to go: the importer
//!   journals a few intents ahead): it may have been created, so the next run checks the
//!   target for it ([`crate::settle`]) before sending it again, rather than send it blind (a
//!   target that does not honour `external_id` would then hold it twice) or call it created.
//!   A run that stops gracefully closes the intents of records it never sent with a `failed`
//!   entry, "not sent".
//! - An uncertain outcome (see [`crate::settle`]) gets a second entry once the end-of-run
//!   check has read the target: `"checked":"present_once"` (confirmed, `created` or
//!   `already_exists`), `"checked":"duplicated"` (confirmed, with every Feishu id in
//!   `feishu_ids`: never sent again, it would only add a copy) or `"checked":"absent"`
//!   (`failed`). A `created` entry with `"maybe_twice":true` was created after an earlier
//!   attempt that may have been processed too; one without a later `checked` entry (the run
//!   stopped before its end-of-run check) is checked by the next run.
//!
//! # Durability
//! Each intent is written (`write`) before its request is sent, and each answer before it is
//! counted ([`JournalWriter::append`] and [`JournalWriter::append_all`] write at once, not
//! queued); lines that are ready together share one `write`. The importer journals the intents
//! of the next few records together (at most `--concurrency`, each with an `external_id`; a
//! record without one gets its intent alone, just before it is sent) and the answers that
//! arrived within about a millisecond together (`import/senders.rs`); the intents of records
//! a stopping run never sent are closed as `failed`, "not sent". So a killed process (even
//! SIGKILL) loses nothing it had been told: what it had not yet written is left as an open
//! intent, which the next run checks in the target before it sends the record again.
//! Lines are `fsync`ed in batches (every 256 lines, with the first line written a second
//! or more after the last `fsync`, and at the end), by a thread of the journal's own
//! (`journal/syncer.rs`) so that the sending never waits for the disk; a power cut loses at
//! most the lines since the last `fsync` that completed (the last batch or two), whose
//! records are then sent again under the same `external_id` (which Feishu deduplicates for
//! 24 h). A last line cut short by a kill is dropped when the journal is next opened; damage
//! anywhere else stops the import rather than guess.
//!
//! # Memory
//! Reading a journal keeps one bit per record (confirmed or not), plus the ordinals of the
//! records still uncertain: `sending` without an answer (at most the requests in flight when
//! a run was killed, and a few records about to go), and `uncertain` failures and `maybe_twice` creations without a check.
//!
//! # Locking
//! An import holds an exclusive lock on its journal ([`std::fs::File::try_lock`]) for its whole
//! run; a second import of the same input is refused at once.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::bitset::Bitset;

/// The `journal` value of a header line.
pub const JOURNAL_KIND: &str = "feishu-hire import";
/// The format version this importer writes and reads.
pub const JOURNAL_VERSION: u32 = 1;

/// Lines are `fsync`ed after this many…
const SYNC_EVERY_LINES: u32 = 256;
/// …or this long, whichever comes first.
const SYNC_EVERY: Duration = Duration::from_secs(1);
/// Longest journal line read back; real lines are a few hundred bytes.
const MAX_LINE_BYTES: usize = 1 << 20;

/// The first line of a journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalHeader {
    /// Always [`JOURNAL_KIND`].
    pub journal: String,
    /// Always [`JOURNAL_VERSION`].
    pub version: u32,
    /// The input's path as given on the first run (for people; not compared).
    pub input: String,
    /// Hex SHA-256 of the input's bytes.
    pub input_sha256: String,
    /// The input's size in bytes.
    pub input_bytes: u64,
    /// Base URL of the target the records were sent to, or `sandbox` for the in-process
    /// sandbox of `import --sandbox` (its port changes from run to run).
    pub target: String,
    /// When the first run started, in milliseconds since 1970.
    pub created_at_ms: i64,
    /// The options that decide which records are sent and under which `external_id`;
    /// absent in journals of earlier importers (then not compared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<JournalOptions>,
}

/// The options a journal is bound to: a resume with others would send records under another
/// `external_id` (or none), or count a confirmed record as invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalOptions {
    /// `--derive-external-id`.
    pub derive_external_id: bool,
    /// `--strict`.
    pub strict: bool,
    /// `--max-record-bytes`.
    pub max_record_bytes: u64,
}

impl JournalOptions {
    /// The first option (as its flag) whose value differs, with both values.
    fn first_difference(&self, other: &Self) -> Option<(&'static str, String, String)> {
        if self.derive_external_id != other.derive_external_id {
            let said = |on: bool| if on { "given" } else { "not given" }.to_owned();
            return Some((
                "--derive-external-id",
                said(self.derive_external_id),
                said(other.derive_external_id),
            ));
        }
        if self.strict != other.strict {
            let said = |on: bool| if on { "given" } else { "not given" }.to_owned();
            return Some(("--strict", said(self.strict), said(other.strict)));
        }
        if self.max_record_bytes != other.max_record_bytes {
            return Some((
                "--max-record-bytes",
                self.max_record_bytes.to_string(),
                other.max_record_bytes.to_string(),
            ));
        }
        None
    }
}

/// A line appended at the start of each run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLine {
    /// 1 for the first run, then counting up.
    pub run: u32,
    /// When it started, in milliseconds since 1970.
    pub started_at_ms: i64,
    /// The importer's version.
    pub importer: String,
}

/// What happened to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryResult {
    /// Feishu created the interview.
    Created,
    /// Feishu answered that the `external_id` was already used (see `--already-exists-code`).
    AlreadyExists,
    /// The record was not confirmed; a later run tries again.
    Failed,
    /// The intent: the request is about to be sent; its answer follows in a later entry. Left
    /// without one, the record's outcome is unknown (see the module docs).
    Sending,
}

impl EntryResult {
    /// Whether Feishu confirmed the interview exists.
    pub fn is_confirmed(self) -> bool {
        matches!(self, EntryResult::Created | EntryResult::AlreadyExists)
    }
}

/// The outcome of one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The record's ordinal in the input (1-based).
    pub record: u64,
    /// The line it starts on.
    pub line: u64,
    /// The `external_id` sent (the record's own or derived).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// What happened.
    pub result: EntryResult,
    /// Feishu's id of the interview, when it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Feishu's code, for `already_exists` and `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// Feishu's log id, to quote to its support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_id: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the answer arrived, in milliseconds since 1970.
    pub at_ms: i64,
    /// `created`, but an earlier attempt of the call may have created it too: against a
    /// target that does not honour `external_id` it may exist twice. A later entry with
    /// `checked` says what the target holds.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub maybe_twice: bool,
    /// `failed`, but the call may have created it (every attempt timed out, was cut or met a
    /// server error, or a refusal named `external_id`): a later entry with `checked` says what
    /// the target holds; without one (the run stopped first), the next run checks.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub uncertain: bool,
    /// What the end-of-run check found in the target for an uncertain record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked: Option<Checked>,
    /// The Feishu ids the check found (several for a duplicate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feishu_ids: Vec<String>,
}

impl JournalEntry {
    /// An entry for `record` (at `line`, sent under `external_id`) with `result`, stamped now,
    /// and nothing else yet.
    pub fn new(record: u64, line: u64, external_id: Option<String>, result: EntryResult) -> Self {
        Self {
            record,
            line,
            external_id,
            result,
            id: None,
            code: None,
            log_id: None,
            reason: None,
            at_ms: now_ms(),
            maybe_twice: false,
            uncertain: false,
            checked: None,
            feishu_ids: Vec::new(),
        }
    }
}

/// What the target held when an uncertain record was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Checked {
    /// One interview with its `external_id`.
    PresentOnce,
    /// More than one: a duplicate (see `feishu_ids`).
    Duplicated,
    /// None.
    Absent,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Line {
    Header(JournalHeader),
    Run(RunLine),
    Entry(JournalEntry),
}

/// Why a journal cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Another import holds the lock.
    #[error(
        "another import is running with the journal {path} (it is locked); wait for it to finish, or stop it first"
    )]
    Locked {
        /// The journal.
        path: PathBuf,
    },
    /// Reading or writing failed.
    #[error("journal {path}: {source}")]
    Io {
        /// The journal.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// A line other than the last is not a journal line.
    #[error(
        "journal {path} is damaged at line {line} ({message}); move it away to start over, but note that the records it confirmed would then be sent again"
    )]
    Damaged {
        /// The journal.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The journal belongs to another input.
    #[error(
        "journal {path} belongs to another input (sha256 {journal_sha256}, {journal_bytes} bytes; this input: sha256 {input_sha256}, {input_bytes} bytes). The input changed since the journal was started. To import a corrected file, import it under a new name or pass --journal NEW_PATH; to retry failed records, re-run with the failures file"
    )]
    OtherInput {
        /// The journal.
        path: PathBuf,
        /// The journal's input hash.
        journal_sha256: String,
        /// The journal's input size.
        journal_bytes: u64,
        /// This input's hash.
        input_sha256: String,
        /// This input's size.
        input_bytes: u64,
    },
    /// The journal belongs to another target.
    #[error(
        "journal {path} records an import into {journal_target}, not {target}; pass --journal NEW_PATH to import the same input somewhere else"
    )]
    OtherTarget {
        /// The journal.
        path: PathBuf,
        /// The journal's target.
        journal_target: String,
        /// This run's target.
        target: String,
    },
    /// The journal was started with other options.
    #[error(
        "journal {path} was started with {option} {journal_value}, but this run has it {this_value}. \
         Resuming with other options could send records under another external_id (or none) or \
         miscount confirmed ones, so nothing was sent. Run again with the same options as the \
         first run, or pass --journal NEW_PATH to start over (records the old journal confirmed \
         would then be sent again)"
    )]
    OtherOptions {
        /// The journal.
        path: PathBuf,
        /// The option's flag.
        option: &'static str,
        /// Its value in the journal.
        journal_value: String,
        /// Its value in this run.
        this_value: String,
    },
    /// The journal's writer stopped (a write failed).
    #[error("journal {path}: writing stopped after an error")]
    WriterStopped {
        /// The journal.
        path: PathBuf,
    },
}

/// An open, locked journal, with what earlier runs confirmed.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    header: Option<JournalHeader>,
    confirmed: Bitset,
    /// Records whose last entry is a `sending` one (no answer), or an `uncertain` failure
    /// (not checked).
    uncertain: BTreeSet<u64>,
    /// Records created `maybe_twice` (with an `external_id`) and not checked since.
    unsettled: BTreeSet<u64>,
    runs: u32,
    entries: u64,
    repaired_tail: bool,
}

/// Milliseconds since 1970 now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Journal {
    /// Opens (or creates) the journal at `path`, locks it and reads it.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let io_error = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(JournalError::Locked {
                    path: path.to_owned(),
                });
            }
            Err(std::fs::TryLockError::Error(error)) => return Err(io_error(error)),
        }
        if !existed {
            sync_parent_dir(path);
        }
        let mut journal = Self {
            path: path.to_owned(),
            file,
            header: None,
            confirmed: Bitset::new(),
            uncertain: BTreeSet::new(),
            unsettled: BTreeSet::new(),
            runs: 0,
            entries: 0,
            repaired_tail: false,
        };
        journal.load()?;
        Ok(journal)
    }

    fn load(&mut self) -> Result<(), JournalError> {
        let path = self.path.clone();
        let io_error = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        let damaged = |line: u64, message: String| JournalError::Damaged {
            path: path.clone(),
            line,
            message,
        };
        let length = self.file.metadata().map_err(io_error)?.len();
        let reading = self.file.try_clone().map_err(io_error)?;
        let mut reader = BufReader::new(reading.take(length));
        let mut offset: u64 = 0;
        let mut number: u64 = 0;
        let mut buffer = Vec::new();
        // Where to cut a torn last line, and whether a complete last line lacks its newline.
        let mut keep_until = 0;
        let mut add_newline = false;
        loop {
            buffer.clear();
            let read = (&mut reader)
                .take(MAX_LINE_BYTES as u64)
                .read_until(b'\n', &mut buffer)
                .map_err(io_error)? as u64;
            if read == 0 {
                break;
            }
            number += 1;
            let next_offset = offset + read;
            let has_newline = buffer.last() == Some(&b'\n');
            let is_last = next_offset >= length;
            let text = buffer.strip_suffix(b"\n").unwrap_or(&buffer);
            if text.iter().all(u8::is_ascii_whitespace) {
                offset = next_offset;
                keep_until = offset;
                continue;
            }
            let parsed = if !has_newline && !is_last {
                Err("line too long".to_owned())
            } else {
                serde_json::from_slice::<Line>(text).map_err(|e| e.to_string())
            };
            match parsed {
                Ok(line) => {
                    self.apply(line, number).map_err(|m| damaged(number, m))?;
                    keep_until = next_offset;
                    add_newline = !has_newline;
                }
                // Only a journal whose header was read can have a torn tail: anything else
                // (say `--journal data.jsonl` by mistake) is not ours to cut.
                Err(_) if is_last && self.header.is_some() => {
                    // Cut short by a kill in the middle of a write: that answer is lost,
                    // and its record will simply be sent again.
                    self.repaired_tail = true;
                    break;
                }
                Err(message) => return Err(damaged(number, message)),
            }
            offset = next_offset;
        }
        if keep_until < length {
            self.file.set_len(keep_until).map_err(io_error)?;
        }
        self.file.seek(SeekFrom::End(0)).map_err(io_error)?;
        if add_newline {
            self.file.write_all(b"\n").map_err(io_error)?;
        }
        Ok(())
    }

    fn apply(&mut self, line: Line, number: u64) -> Result<(), String> {
        match (line, &self.header) {
            (Line::Header(header), None) if number == 1 => {
                if header.journal != JOURNAL_KIND || header.version != JOURNAL_VERSION {
                    return Err(format!(
                        "this is a `{}` journal of version {}; this importer reads `{JOURNAL_KIND}` version {JOURNAL_VERSION}",
                        header.journal, header.version
                    ));
                }
                self.header = Some(header);
            }
            (_, None) => return Err("the first line is not a journal header".to_owned()),
            (Line::Header(_), Some(_)) => return Err("a second header".to_owned()),
            (Line::Run(run), Some(_)) => self.runs = self.runs.max(run.run),
            (Line::Entry(entry), Some(header)) => {
                // Every record takes at least one byte of the input, so a larger ordinal is
                // damage; taken at its word it would grow the confirmed set without bound.
                if entry.record == 0 || entry.record > header.input_bytes.max(1) {
                    return Err(format!(
                        "record {} cannot be in an input of {} bytes",
                        entry.record, header.input_bytes
                    ));
                }
                self.entries += 1;
                if entry.result.is_confirmed() {
                    self.confirmed.insert(entry.record);
                }
                // Entries come in the order they happened: an intent stays open until any
                // other entry of its record, an uncertain failure or a `maybe_twice` until a
                // `checked` one (which repeats the flag, so the order of these lines matters).
                if entry.result == EntryResult::Sending
                    || (entry.uncertain && entry.checked.is_none())
                {
                    self.uncertain.insert(entry.record);
                } else {
                    self.uncertain.remove(&entry.record);
                }
                if entry.maybe_twice && entry.external_id.is_some() {
                    self.unsettled.insert(entry.record);
                }
                if entry.checked.is_some() {
                    self.unsettled.remove(&entry.record);
                }
            }
        }
        Ok(())
    }

    /// The header, unless the journal is new.
    pub fn header(&self) -> Option<&JournalHeader> {
        self.header.as_ref()
    }

    /// Whether an earlier run got a confirmation for the record with this ordinal.
    pub fn is_confirmed(&self, record: u64) -> bool {
        self.confirmed.contains(record)
    }

    /// Number of records confirmed by earlier runs.
    #[cfg(test)]
    pub fn confirmed_count(&self) -> u64 {
        self.confirmed.len()
    }

    /// Records not confirmed whose outcome an earlier run left uncertain: sent without an
    /// answer (it was killed, or abandoned them), or failed in a way that may have created
    /// them and not checked since (it stopped before its end-of-run check).
    pub fn uncertain(&self) -> &BTreeSet<u64> {
        &self.uncertain
    }

    /// Records an earlier run created `maybe_twice` and did not check (it stopped first).
    pub fn unsettled(&self) -> &BTreeSet<u64> {
        &self.unsettled
    }

    /// Number of earlier runs.
    pub fn runs(&self) -> u32 {
        self.runs
    }

    /// Whether a torn last line (from a killed run) was dropped on opening.
    pub fn repaired_tail(&self) -> bool {
        self.repaired_tail
    }

    /// Ties a new journal to `header`'s input and target, or checks that an existing one
    /// has the same; then notes the start of a run.
    pub fn bind(&mut self, header: JournalHeader) -> Result<(), JournalError> {
        match &self.header {
            Some(existing) => {
                if existing.input_sha256 != header.input_sha256
                    || existing.input_bytes != header.input_bytes
                {
                    return Err(JournalError::OtherInput {
                        path: self.path.clone(),
                        journal_sha256: existing.input_sha256.clone(),
                        journal_bytes: existing.input_bytes,
                        input_sha256: header.input_sha256,
                        input_bytes: header.input_bytes,
                    });
                }
                if existing.target.trim_end_matches('/') != header.target.trim_end_matches('/') {
                    return Err(JournalError::OtherTarget {
                        path: self.path.clone(),
                        journal_target: existing.target.clone(),
                        target: header.target,
                    });
                }
                if let (Some(theirs), Some(ours)) = (&existing.options, &header.options)
                    && let Some((option, journal_value, this_value)) = theirs.first_difference(ours)
                {
                    return Err(JournalError::OtherOptions {
                        path: self.path.clone(),
                        option,
                        journal_value,
                        this_value,
                    });
                }
            }
            None => {
                self.write_line(&header)?;
                self.header = Some(header);
            }
        }
        self.runs += 1;
        let run = RunLine {
            run: self.runs,
            started_at_ms: now_ms(),
            importer: env!("CARGO_PKG_VERSION").to_owned(),
        };
        self.write_line(&run)?;
        self.file.sync_data().map_err(|source| JournalError::Io {
            path: self.path.clone(),
            source,
        })
    }

    fn write_line(&mut self, value: &impl Serialize) -> Result<(), JournalError> {
        let line = encode_line(value);
        self.file
            .write_all(&line)
            .map_err(|source| JournalError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// Turns the journal into a writer for entries; the lock is held until it is closed.
    pub fn into_writer(self) -> JournalWriter {
        // Without a second handle or a thread, the writer syncs in line, as it always may.
        let syncer = self.file.try_clone().ok().and_then(Syncer::start);
        JournalWriter {
            path: self.path,
            state: Mutex::new(WriterState {
                file: Some(self.file),
                unsynced: 0,
                last_sync: Instant::now(),
                syncer,
            }),
        }
    }
}

fn encode_line(value: &impl Serialize) -> Vec<u8> {
    // Our journal types always serialize.
    let mut line = serde_json::to_vec(value).unwrap_or_default();
    line.push(b'\n');
    line
}

/// Makes a new file's directory entry durable (best effort; not all systems allow it).
fn sync_parent_dir(path: &Path) {
    if let Some(parent) = path.parent() {
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(dir) = File::open(parent) {
            let _ = dir.sync_all();
        }
    }
}

/// Appends entries from any thread; see [`Journal::into_writer`].
#[derive(Debug)]
pub struct JournalWriter {
    path: PathBuf,
    state: Mutex<WriterState>,
}

#[derive(Debug)]
struct WriterState {
    /// `None` once a write failed: later lines would leave a gap.
    file: Option<File>,
    unsynced: u32,
    last_sync: Instant,
    /// Where the `fsync`s happen, off the caller's thread (see `journal/syncer.rs`).
    syncer: Option<Syncer>,
}

impl JournalWriter {
    /// Appends one entry: written at once with one `write_all` (so a kill, even SIGKILL,
    /// cannot lose it), `fsync`ed with its batch (in the background).
    pub fn append(&self, entry: &JournalEntry) -> Result<(), JournalError> {
        self.append_all(std::slice::from_ref(entry))
    }

    /// Appends entries that are ready together (group commit): all written at once with one
    /// `write_all` before this returns, so a kill, even SIGKILL, cannot lose one of them (it
    /// can only cut the last line short, which opening drops); `fsync`ed with their batch, in
    /// the background (a failed `fsync` is reported by the next append, and stops the journal).
    pub fn append_all<'a>(
        &self,
        entries: impl IntoIterator<Item = &'a JournalEntry>,
    ) -> Result<(), JournalError> {
        let mut lines = Vec::with_capacity(256);
        let mut count: u32 = 0;
        for entry in entries {
            // Our journal types always serialize.
            let _ = serde_json::to_writer(&mut lines, entry);
            lines.push(b'\n');
            count = count.saturating_add(1);
        }
        if count == 0 {
            return Ok(());
        }
        // A poisoned lock only means another append panicked; the file is still whole.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let state = &mut *state;
        let Some(file) = state.file.as_mut() else {
            return Err(JournalError::WriterStopped {
                path: self.path.clone(),
            });
        };
        // A failed background `fsync` stops the journal at the next append, as an `fsync`
        // failing here would have.
        let synced = state.syncer.as_ref().map_or(Ok(()), Syncer::check);
        let written = synced.and_then(|()| file.write_all(&lines)).and_then(|()| {
            state.unsynced = state.unsynced.saturating_add(count);
            if state.unsynced >= SYNC_EVERY_LINES || state.last_sync.elapsed() >= SYNC_EVERY {
                match &state.syncer {
                    Some(syncer) => syncer.request()?,
                    None => file.sync_data()?,
                }
                state.unsynced = 0;
                state.last_sync = Instant::now();
            }
            Ok(())
        });
        written.map_err(|source| {
            state.file = None;
            JournalError::Io {
                path: self.path.clone(),
                source,
            }
        })
    }

    /// Closes the journal at once, as a kill would (no last `fsync` beyond one already asked
    /// for), releasing its lock even while others still hold this writer: their appends fail
    /// from then on. For an import dropped mid-run, whose sending tasks end only a moment
    /// later, so that the next import can lock the journal at once.
    pub fn abandon(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.file = None;
        // Joins the sync thread, which closes its handle of the file.
        drop(state.syncer.take());
    }

    /// `fsync`s everything and releases the lock.
    pub fn close(self) -> Result<(), JournalError> {
        let mut state = self
            .state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let background = state.syncer.take().map_or(Ok(()), Syncer::finish);
        if let Err(source) = background {
            return Err(JournalError::Io {
                path: self.path,
                source,
            });
        }
        match state.file {
            Some(file) => file.sync_data().map_err(|source| JournalError::Io {
                path: self.path,
                source,
            }),
            None => Err(JournalError::WriterStopped { path: self.path }),
        }
    }
}

mod syncer;

use syncer::Syncer;

#[cfg(test)]
mod tests;
