//! `feishu-hire verify`: checks an input against what the target holds, not against what the
//! importer believes (its journal).
//!
//! 1. **Index the input**: every valid record's `external_id` (own, or derived with
//!    `--derive-external-id`, as `import` derives it) and its `external_application_id`.
//! 2. **Read the target**: page through the interviews of every application of the input with
//!    batch query ([`crate::lookup`]), a few at a time, through the client's retries, with
//!    progress. Each interview is counted against the index; one whose `external_id` no record
//!    has (or that has none) is reported at once as *not in the input*.
//! 3. **Report per record**, reading the input again: *present once*, *missing*, *duplicated*
//!    (the target holds it more than once: every Feishu id is given) or *unchecked* (no
//!    `external_id`, or its application could not be read).
//!
//! Problems go to `<stem>.verify.report.jsonl` (one line each, as the failures report), and
//! the missing records themselves to `<stem>.verify.jsonl`, which `import` takes as input.
//!
//! **Records without `external_id`** cannot be matched: the target's interviews carry no key
//! from the file, and their content comes back changed (ids added, fields normalised), so two
//! records of one application could not be told apart. They are reported as unchecked; pass
//! `--derive-external-id` if they were imported with it (the same ids are derived).
//!
//! **Memory**: the index keeps 128 bits of the SHA-256 of each `external_id` and a counter,
//! about 40 bytes per record (sorted, no hash table), plus the set of application ids and, for
//! duplicated records only, their extra Feishu ids; the input itself is streamed twice.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::bitset::Bitset;
use crate::check::{CheckOptions, Checker};
use crate::console::{Console, ProgressMode};
use crate::exit;
use crate::failures::{FailureKind, FailureReport, FailuresWriter};
use crate::import::{Interrupts, Refusal, Target};
use crate::input::{InputError, InputFormat, RecordReader};
use crate::lookup::{Held, QueryEnd, Reader};

/// Problems printed per kind before "and N more".
const PRINTED_PER_KIND: u64 = 20;

/// What to verify and how.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    /// The input file.
    pub input: PathBuf,
    /// Its format.
    pub format: InputFormat,
    /// Size limit, derived ids, strictness: as the import had them.
    pub check: CheckOptions,
    /// Where the missing records go; the report beside it. Default `<stem>.verify.jsonl`.
    pub report: Option<PathBuf>,
    /// Applications read at once.
    pub concurrency: usize,
    /// How progress is shown.
    pub progress: ProgressMode,
}

impl VerifyConfig {
    /// Defaults for `input`.
    pub fn new(input: impl Into<PathBuf>) -> Self {
        Self {
            input: input.into(),
            format: InputFormat::Auto,
            check: CheckOptions::default(),
            report: None,
            concurrency: 8,
            progress: ProgressMode::Auto,
        }
    }
}

/// What `verify` found. Counts are of records unless named otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifySummary {
    /// The input as given.
    pub input: String,
    /// Where it looked, in words.
    pub target: String,
    /// Records in the input.
    pub records: u64,
    /// Valid records (the ones `import` sends).
    pub valid: u64,
    /// Invalid records: not checked (`validate` lists them).
    pub invalid: u64,
    /// Valid records whose `external_id` an earlier record has: not checked on their own.
    pub duplicates_in_input: u64,
    /// Valid records without `external_id`: they cannot be matched (unchecked).
    pub without_external_id: u64,
    /// Applications of the input read from the target.
    pub applications: u64,
    /// Of them, the ones whose reading failed (their records are unchecked).
    pub applications_failed: u64,
    /// Records the target holds exactly once.
    pub present_once: u64,
    /// Records the target does not hold (copied to the report file, ready to import).
    pub missing: u64,
    /// Records the target holds more than once (the report gives every Feishu id).
    pub duplicated: u64,
    /// Interviews of the input's applications that no record of the input has (interviews,
    /// not records).
    pub not_in_input: u64,
    /// Records that could not be checked (no `external_id`, or their application's reading
    /// failed or was interrupted).
    pub unchecked: u64,
    /// The missing records, valid input for `import`, if any are missing.
    pub report_file: Option<String>,
    /// One line per problem, if there is any.
    pub report: Option<String>,
    /// Whether Ctrl-C stopped the reading.
    pub interrupted: bool,
    /// Wall time, in milliseconds.
    pub elapsed_ms: u64,
    /// The exit code: 0 only when every valid record is present exactly once.
    pub exit_code: i32,
}

/// The index of the input's `external_id`s: sorted 128-bit fingerprints and, beside each,
/// how often the target holds it and the first Feishu id seen.
#[derive(Debug, Default)]
struct Index {
    keys: Vec<u128>,
    found: Vec<u32>,
    first_id: Vec<Option<Box<str>>>,
    /// Feishu ids after the first, for the (few) duplicated records.
    more_ids: HashMap<usize, Vec<String>>,
}

/// 128 bits of the SHA-256 of an `external_id`: collisions are out of reach (2^-128 per pair).
fn fingerprint(external_id: &str) -> u128 {
    let digest = Sha256::digest(external_id.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(bytes)
}

impl Index {
    fn position(&self, external_id: &str) -> Option<usize> {
        self.keys.binary_search(&fingerprint(external_id)).ok()
    }

    /// Counts one interview the target holds; `false` if no record has its `external_id`.
    fn count(&mut self, external_id: &str, id: Option<String>) -> bool {
        let Some(at) = self.position(external_id) else {
            return false;
        };
        self.found[at] = self.found[at].saturating_add(1);
        let id = id.unwrap_or_default();
        if self.found[at] == 1 {
            self.first_id[at] = Some(id.into_boxed_str());
        } else {
            self.more_ids.entry(at).or_default().push(id);
        }
        true
    }

    /// How often the target holds `external_id`, and the Feishu ids.
    fn held(&self, external_id: &str) -> (u32, Vec<String>) {
        let Some(at) = self.position(external_id) else {
            return (0, Vec::new());
        };
        let mut ids: Vec<String> = self.first_id[at].iter().map(|id| id.to_string()).collect();
        ids.extend(self.more_ids.get(&at).into_iter().flatten().cloned());
        (self.found[at], ids)
    }
}

/// What the first pass learnt.
#[derive(Debug, Default)]
struct InputIndex {
    index: Index,
    applications: BTreeSet<String>,
    /// Ordinals of valid records whose `external_id` an earlier record has.
    repeats: Bitset,
    summary: VerifySummary,
}

/// One valid record's keys, or why it has none.
fn keys_of(
    checker: &Checker,
    bytes: &[u8],
    oversize: Option<u64>,
) -> Option<(Option<String>, String)> {
    let valid = checker.check_bytes(bytes, oversize).valid?;
    Some((valid.external_id, valid.request.external_application_id))
}

/// The first pass: indexes the valid records' `external_id`s and collects the applications.
fn index_input(file: &File, format: InputFormat, checker: &Checker) -> io::Result<InputIndex> {
    let mut found = InputIndex::default();
    let mut keyed: Vec<(u128, u64)> = Vec::new();
    let reader = RecordReader::new(
        BufReader::with_capacity(64 * 1024, file),
        format,
        checker.max_record_bytes(),
    );
    for record in reader {
        let record = record.map_err(input_error)?;
        found.summary.records += 1;
        let Some((external_id, application)) = keys_of(checker, &record.bytes, record.oversize)
        else {
            found.summary.invalid += 1;
            continue;
        };
        found.summary.valid += 1;
        if !found.applications.contains(&application) {
            found.applications.insert(application);
        }
        match external_id {
            Some(id) => keyed.push((fingerprint(&id), record.ordinal)),
            None => found.summary.without_external_id += 1,
        }
    }
    // Sorted by fingerprint, then ordinal: the first record of an id keeps it.
    keyed.sort_unstable();
    let mut last = None;
    for (key, ordinal) in keyed {
        if last == Some(key) {
            found.repeats.insert(ordinal);
            found.summary.duplicates_in_input += 1;
            continue;
        }
        last = Some(key);
        found.index.keys.push(key);
    }
    found.index.found = vec![0; found.index.keys.len()];
    found.index.first_id = vec![None; found.index.keys.len()];
    Ok(found)
}

fn input_error(error: InputError) -> io::Error {
    match error {
        InputError::Io(error) => error,
        broken => io::Error::new(io::ErrorKind::InvalidData, broken.to_string()),
    }
}

/// The report pair: `<stem>.verify.jsonl` beside the input unless given.
fn report_writer(config: &VerifyConfig) -> FailuresWriter {
    let path = config.report.clone().unwrap_or_else(|| {
        let stem = config
            .input
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "input".to_owned());
        config
            .input
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
            .join(format!("{stem}.verify.jsonl"))
    });
    FailuresWriter::new(path)
}

/// Runs `verify`; `Err` means it could not start (nothing was read from the target).
pub async fn verify(
    config: &VerifyConfig,
    target: &Target,
    mut interrupts: Interrupts,
    console: &Console,
) -> Result<VerifySummary, Refusal> {
    let started = Instant::now();
    let source = config.input.display().to_string();
    console.line(format!("Target: {}", target.description));
    if let Some(problem) = crate::scan::not_a_readable_file(&config.input) {
        return Err(Refusal::new(format!(
            "cannot read the input {source}: {problem}"
        )));
    }
    let checker = Checker::new(config.check).map_err(Refusal::new)?;
    let file = File::open(&config.input)
        .map_err(|e| Refusal::new(format!("cannot read the input {source}: {e}")))?;
    let mut found = index_input(&file, config.format, &checker)
        .map_err(|e| Refusal::new(format!("cannot read the input {source}: {e}")))?;
    let mut report = report_writer(config);
    report.remove_stale().map_err(|e| {
        Refusal::new(format!(
            "cannot remove the old report {}: {e}",
            report.records_path().display()
        ))
    })?;
    console.line(format!(
        "Indexed {} valid records of {} applications; reading the target",
        found.summary.valid,
        found.applications.len()
    ));
    crate::import::preflight(target)
        .await
        .map_err(|reason| Refusal {
            message: reason,
            exit_code: exit::ABORTED,
        })?;
    let failed = read_target(
        config,
        target,
        &mut found,
        &mut report,
        &mut interrupts,
        console,
    )
    .await?;
    found.summary.interrupted = *interrupts.borrow() > 0;
    let mut summary = report_records(
        &file,
        config.format,
        &checker,
        &found,
        &failed,
        &mut report,
        console,
        &source,
    )
    .map_err(|e| {
        Refusal::new(format!(
            "cannot read the input {source} again, or write the report: {e}"
        ))
    })?;
    summary.input = source;
    summary.target = target.description.clone();
    let paths = (
        report.records_path().to_owned(),
        report.report_path().to_owned(),
    );
    let written = report.finish().map_err(|e| {
        Refusal::new(format!(
            "cannot write the report {}: {e}",
            paths.0.display()
        ))
    })?;
    if written {
        summary.report = Some(paths.1.display().to_string());
        summary.report_file = (summary.missing > 0).then(|| paths.0.display().to_string());
    }
    summary.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    summary.exit_code = exit_code(&summary);
    Ok(summary)
}

/// 0 only when every valid record was found exactly once.
fn exit_code(summary: &VerifySummary) -> i32 {
    if summary.interrupted {
        return exit::INTERRUPTED;
    }
    let problems =
        summary.missing + summary.duplicated + summary.unchecked + summary.duplicates_in_input;
    if problems > 0 || summary.present_once < summary.valid {
        exit::INCOMPLETE
    } else {
        exit::SUCCESS
    }
}

/// The second pass: reads every application, counting its interviews into the index and
/// reporting those of no record at once. Returns the applications whose reading failed.
async fn read_target(
    config: &VerifyConfig,
    target: &Target,
    found: &mut InputIndex,
    report: &mut FailuresWriter,
    interrupts: &mut Interrupts,
    console: &Console,
) -> Result<HashMap<String, String>, Refusal> {
    let reader = Reader {
        client: &target.client,
        concurrency: config.concurrency,
        progress: config.progress,
        console,
    };
    let applications = std::mem::take(&mut found.applications);
    found.summary.applications = applications.len() as u64;
    let mut failed = HashMap::new();
    let mut write_error = None;
    let index = &mut found.index;
    let summary = &mut found.summary;
    let end = reader
        .read(
            applications,
            summary.applications,
            interrupts,
            |application, held| match held {
                Ok(held) => {
                    for interview in held {
                        if let Err(error) =
                            count_interview(index, summary, report, application, interview, console)
                        {
                            write_error.get_or_insert(error);
                        }
                    }
                }
                Err(error) => {
                    console.line(format!(
                        "error: reading the interviews of application {application} failed: {error}"
                    ));
                    failed.insert(application.to_owned(), error.to_string());
                }
            },
        )
        .await;
    if let Some(error) = write_error {
        return Err(Refusal::new(format!(
            "cannot write the report {}: {error}",
            report.report_path().display()
        )));
    }
    summary.applications_failed = failed.len() as u64;
    if end == QueryEnd::Interrupted {
        summary.interrupted = true;
    }
    Ok(failed)
}

/// Counts one interview of the target; reports it if no record of the input has it.
fn count_interview(
    index: &mut Index,
    summary: &mut VerifySummary,
    report: &mut FailuresWriter,
    application: &str,
    interview: Held,
    console: &Console,
) -> io::Result<()> {
    let reason = match &interview.external_id {
        Some(external_id) if index.count(external_id, interview.id.clone()) => return Ok(()),
        Some(external_id) => format!(
            "the target holds interview {} of application {application} with external_id {external_id:?}, which no record of the input has",
            interview.id.as_deref().unwrap_or("(no id)")
        ),
        None => format!(
            "the target holds interview {} of application {application} without an external_id, so it cannot be matched to a record of the input",
            interview.id.as_deref().unwrap_or("(no id)")
        ),
    };
    summary.not_in_input += 1;
    if summary.not_in_input <= PRINTED_PER_KIND {
        console.line(format!("not in the input: {reason}"));
    }
    report.add(
        None,
        FailureReport {
            failures_line: None,
            input_line: 0,
            record: 0,
            external_id: interview.external_id,
            kind: FailureKind::NotInInput,
            reason,
            code: None,
            log_id: None,
            feishu_ids: interview.id.into_iter().collect(),
        },
    )
}

/// The third pass: a verdict per valid record, in input order; problems to the report.
#[allow(clippy::too_many_arguments)]
fn report_records(
    file: &File,
    format: InputFormat,
    checker: &Checker,
    found: &InputIndex,
    failed: &HashMap<String, String>,
    report: &mut FailuresWriter,
    console: &Console,
    source: &str,
) -> io::Result<VerifySummary> {
    let mut summary = found.summary.clone();
    let mut file = file;
    io::Seek::seek(&mut file, io::SeekFrom::Start(0))?;
    let reader = RecordReader::new(
        BufReader::with_capacity(64 * 1024, file),
        format,
        checker.max_record_bytes(),
    );
    let mut printed: HashMap<FailureKind, u64> = HashMap::new();
    for record in reader {
        let record = record.map_err(input_error)?;
        if found.repeats.contains(record.ordinal) {
            continue;
        }
        let Some((external_id, application)) = keys_of(checker, &record.bytes, record.oversize)
        else {
            continue;
        };
        let Some((kind, reason, ids)) = judge(
            &found.index,
            &mut summary,
            failed,
            external_id.as_deref(),
            &application,
        ) else {
            continue;
        };
        let shown = printed.entry(kind).or_default();
        *shown += 1;
        if *shown <= PRINTED_PER_KIND {
            console.line(format!("{source}:{}: {reason}", record.line));
        }
        let bytes = (kind == FailureKind::Missing && record.oversize.is_none())
            .then_some(record.bytes.as_slice());
        report.add(
            bytes,
            FailureReport {
                failures_line: None,
                input_line: record.line,
                record: record.ordinal,
                external_id,
                kind,
                reason,
                code: None,
                log_id: None,
                feishu_ids: ids,
            },
        )?;
    }
    for (kind, shown) in printed {
        if shown > PRINTED_PER_KIND {
            console.line(format!(
                "… and {} more {kind:?} records in the report",
                shown - PRINTED_PER_KIND
            ));
        }
    }
    Ok(summary)
}

/// One valid record's verdict: `None` when it is present once, else the problem.
fn judge(
    index: &Index,
    summary: &mut VerifySummary,
    failed: &HashMap<String, String>,
    external_id: Option<&str>,
    application: &str,
) -> Option<(FailureKind, String, Vec<String>)> {
    let Some(external_id) = external_id else {
        summary.unchecked += 1;
        return Some((
            FailureKind::Unchecked,
            "unchecked: no external_id, so it cannot be matched to an interview of the target (pass --derive-external-id if it was imported with it)".to_owned(),
            Vec::new(),
        ));
    };
    if let Some(error) = failed.get(application) {
        summary.unchecked += 1;
        return Some((
            FailureKind::Unchecked,
            format!(
                "unchecked: reading the interviews of application {application} failed: {error}"
            ),
            Vec::new(),
        ));
    }
    if summary.interrupted {
        summary.unchecked += 1;
        return Some((
            FailureKind::Unchecked,
            "unchecked: interrupted".to_owned(),
            Vec::new(),
        ));
    }
    let (count, ids) = index.held(external_id);
    match count {
        1 => {
            summary.present_once += 1;
            None
        }
        0 => {
            summary.missing += 1;
            Some((
                FailureKind::Missing,
                format!(
                    "missing: the target holds no interview with external_id {external_id:?}; import the report file to send it"
                ),
                Vec::new(),
            ))
        }
        _ => {
            summary.duplicated += 1;
            Some((
                FailureKind::DuplicatedInTarget,
                format!(
                    "duplicated: the target holds {count} interviews with external_id {external_id:?} (Feishu ids {}); delete all but one",
                    ids.join(", ")
                ),
                ids,
            ))
        }
    }
}

impl std::fmt::Display for VerifySummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Verify of {} against {}", self.input, self.target)?;
        let rows = [
            ("records", self.records, ""),
            ("present once", self.present_once, ""),
            (
                "missing",
                self.missing,
                "not in the target; import the report file",
            ),
            (
                "duplicated",
                self.duplicated,
                "in the target more than once; ids in the report",
            ),
            (
                "unchecked",
                self.unchecked,
                "could not be looked up; see the report",
            ),
            (
                "not in input",
                self.not_in_input,
                "interviews of the input's applications no record has",
            ),
            (
                "invalid",
                self.invalid,
                "not checked; `validate` lists them",
            ),
            (
                "repeated ids",
                self.duplicates_in_input,
                "external_id of an earlier record; not checked",
            ),
        ];
        for (name, count, note) in rows {
            if count == 0 && !matches!(name, "records" | "present once" | "missing" | "duplicated")
            {
                continue;
            }
            match (note.is_empty() || count == 0, name) {
                (true, _) => writeln!(f, "  {name:<14} {count:>8}")?,
                (false, _) => writeln!(f, "  {name:<14} {count:>8}  ({note})")?,
            }
        }
        writeln!(f, "  {:<14} {:>8}", "applications", self.applications)?;
        if let Some(report) = &self.report {
            writeln!(f, "  {:<14} {report}", "report")?;
        }
        if let Some(file) = &self.report_file {
            writeln!(
                f,
                "  {:<14} {file} (the missing records: `feishu-hire import {file}` sends them)",
                "to import"
            )?;
        }
        if self.without_external_id > 0 {
            writeln!(
                f,
                "note: {} records have no external_id and cannot be matched: the target's interviews carry no key from the file. \
                 Pass --derive-external-id if they were imported with it; otherwise compare them by hand.",
                self.without_external_id
            )?;
        }
        let verdict = match self.exit_code {
            exit::SUCCESS => format!(
                "OK: every one of the {} valid records is in the target exactly once.",
                self.valid
            ),
            exit::INTERRUPTED => {
                "Interrupted: the records not read are unchecked; run verify again.".to_owned()
            }
            _ => format!(
                "Problems: {} of {} valid records are in the target exactly once.",
                self.present_once, self.valid
            ),
        };
        write!(f, "{verdict} (exit code {})", self.exit_code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_counts_copies_and_keeps_every_id() {
        let mut index = Index {
            keys: {
                let mut keys = vec![fingerprint("a"), fingerprint("b")];
                keys.sort_unstable();
                keys
            },
            ..Index::default()
        };
        index.found = vec![0; 2];
        index.first_id = vec![None; 2];
        assert!(index.count("a", Some("1".into())));
        assert!(index.count("a", Some("2".into())));
        assert!(!index.count("c", Some("3".into())));
        assert_eq!(index.held("a"), (2, vec!["1".to_owned(), "2".to_owned()]));
        assert_eq!(index.held("b"), (0, Vec::new()));
    }
}
