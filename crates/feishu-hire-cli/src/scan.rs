//! The checking pass over a whole input, shared by `validate` and `import` (which runs it
//! before sending anything): every record is checked, findings are printed as
//! `FILE:LINE: error|warning: PATH: MESSAGE`, repeated `external_id`s are found
//! ([`crate::duplicates`]), and the input's SHA-256 is computed for the journal.
//!
//! What it keeps per record is one bit (valid or not), so it runs in flat memory. Records are
//! read, checked on every core (up to 4) and taken in input order all at once, in batches
//! (`scan/pipeline.rs`), so the messages and the report are those of a check one record at a
//! time.

use std::fs::File;
use std::io::{self, BufReader, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use feishu_hire_types::wire::parse_literally;

use crate::bitset::Bitset;
use crate::check::{CheckOutcome, Checker, Finding, Severity, external_id_of};
use crate::console::Console;
use crate::derive_id::derive_external_id;
use crate::duplicates::SeenIds;
use crate::failures::{FailureKind, FailureReport, FailuresWriter};
use crate::input::{HashingReader, InputDigest, InputError, InputFormat, RawRecord, RecordReader};

use pipeline::{Checked, CheckedBatch, Flow, Stop, Verdict};

mod pipeline;

/// How many lines of records without `external_id` are listed when the import refuses.
const LINES_LISTED: usize = 5;

/// What the checking pass found.
#[derive(Debug, Clone)]
pub struct ScanReport {
    /// Records read.
    pub records: u64,
    /// Ordinals of the records to send: valid, and not a repeat of an earlier `external_id`.
    pub sendable: Bitset,
    /// Records with errors.
    pub invalid: u64,
    /// Valid records whose `external_id` an earlier record already uses.
    pub duplicates: u64,
    /// Warnings printed.
    pub warnings: u64,
    /// Valid records without an `external_id` (none was derived).
    pub without_id: u64,
    /// The first lines of such records.
    pub without_id_lines: Vec<u64>,
    /// SHA-256 and size of the input.
    pub digest: InputDigest,
    /// The format found.
    pub format: InputFormat,
    /// Why reading stopped early (a broken JSON array), if it did.
    pub broken: Option<String>,
}

impl ScanReport {
    /// Records that are not sendable (invalid or duplicate).
    pub fn rejected(&self) -> u64 {
        self.invalid + self.duplicates
    }
}

/// The failures file could not be written during the check: an output problem, not the
/// input's. Travels inside an [`io::Error`]; [`FailuresWriteError::of`] finds it.
#[derive(Debug)]
pub struct FailuresWriteError {
    path: std::path::PathBuf,
    source: io::Error,
}

impl FailuresWriteError {
    fn wrap(path: &Path, source: io::Error) -> io::Error {
        io::Error::other(Self {
            path: path.to_owned(),
            source,
        })
    }

    /// The write error inside `error`, if it is one.
    pub fn of(error: &io::Error) -> Option<&Self> {
        error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<Self>())
    }
}

impl std::fmt::Display for FailuresWriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot write the failures file {}: {}",
            self.path.display(),
            self.source
        )
    }
}

impl std::error::Error for FailuresWriteError {}

/// What `validate` and `import` say about an input without records (empty, blank space only,
/// or `[]`).
pub fn no_records_message(source: &str) -> String {
    format!(
        "{source} has no records (it is empty or holds only blank space); nothing to check or send. Is it the right file?"
    )
}

/// Why `path` cannot be read as an input file, if it cannot: missing, a directory, or not a
/// regular file. `None` when it is a file (reading it may still fail, with its own error).
pub fn not_a_readable_file(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Some("no such file".to_owned()),
        Err(error) => Some(error.to_string()),
        Ok(meta) if meta.is_dir() => Some("it is a directory, not a file".to_owned()),
        Ok(_) => None,
    }
}

/// Prints a finding as `FILE:LINE: severity: PATH: MESSAGE`.
pub fn print_finding(console: &Console, source: &str, line: u64, finding: &Finding) {
    console.line(format!("{source}:{line}: {finding}"));
}

/// Runs the checking pass over the file at `path`; `source` names it in messages.
pub fn scan(
    path: &Path,
    source: &str,
    format: InputFormat,
    checker: &Checker,
    console: &Console,
    failures: Option<&mut FailuresWriter>,
) -> io::Result<ScanReport> {
    let file = File::open(path)?;
    let never = AtomicBool::new(false);
    scan_file(&file, source, format, checker, console, failures, &never)
}

/// Runs the checking pass over an open file, from its start. Stops early (with a partial
/// report) once `cancel` is set; the caller knows it set it.
pub fn scan_file(
    file: &File,
    source: &str,
    format: InputFormat,
    checker: &Checker,
    console: &Console,
    mut failures: Option<&mut FailuresWriter>,
    cancel: &AtomicBool,
) -> io::Result<ScanReport> {
    let mut file = file;
    file.seek(SeekFrom::Start(0))?;
    let reader = RecordReader::new(
        BufReader::with_capacity(64 * 1024, HashingReader::new(file)),
        format,
        checker.max_record_bytes(),
    );
    let mut report = ScanReport {
        records: 0,
        sendable: Bitset::new(),
        invalid: 0,
        duplicates: 0,
        warnings: 0,
        without_id: 0,
        without_id_lines: Vec::new(),
        digest: InputDigest {
            sha256: String::new(),
            bytes: 0,
            checkpoints: Vec::new(),
        },
        format,
        broken: None,
    };
    let mut seen = SeenIds::new();
    // Records are read, checked (on every core) and taken in input order at once, in batches.
    let read = pipeline::check_in_order(reader, checker, source, cancel, |batch| {
        let CheckedBatch {
            records,
            checked,
            findings,
            stopped,
        } = batch;
        let stopped = stopped.take();
        // The batch's findings are printed together (one write for the batch); if the batch
        // ends early, those of the records taken.
        let mut taken_findings = 0;
        for (record, checked) in records.iter().zip(checked.iter()) {
            if cancel.load(Ordering::Relaxed) {
                console.lines(&findings[..taken_findings]);
                return Ok(Flow::Stop);
            }
            taken_findings = checked.findings_end;
            let tallied = tally(&mut report, &mut seen, record, checked, &mut failures);
            if tallied.is_err() {
                console.lines(&findings[..taken_findings]);
            }
            tallied?;
        }
        console.lines(findings);
        match stopped {
            None => Ok(Flow::More),
            Some(Stop::End) => Ok(Flow::Ended),
            Some(Stop::Cancelled) => Ok(Flow::Stop),
            Some(Stop::Failed(error)) => Err(error),
            Some(Stop::Broken(broken)) => {
                console.line(format!("{source}: error: {broken}"));
                report.broken = Some(broken.to_string());
                Ok(Flow::Ended)
            }
        }
    })?;
    let Some(reader) = read else {
        // Cancelled: the report so far.
        return Ok(report);
    };
    report.format = reader.format();
    let hashing = reader.into_inner().into_inner();
    report.digest = hashing.finish()?;
    if !seen.no_candidates() && report.broken.is_none() {
        find_duplicates(file, source, checker, seen, &mut report, console, failures)?;
    }
    Ok(report)
}

/// Takes one record's check into the report: valid ones noted (with their `external_id`),
/// invalid ones copied to the failures file.
fn tally(
    report: &mut ScanReport,
    seen: &mut SeenIds,
    record: &RawRecord,
    checked: &Checked,
    failures: &mut Option<&mut FailuresWriter>,
) -> io::Result<()> {
    report.records += 1;
    report.warnings += checked.warnings as u64;
    match &checked.verdict {
        Verdict::Valid(external_id) => {
            report.sendable.insert(record.ordinal);
            match external_id {
                Some(id) => seen.insert(id),
                None => {
                    report.without_id += 1;
                    if report.without_id_lines.len() < LINES_LISTED {
                        report.without_id_lines.push(record.line);
                    }
                }
            }
        }
        Verdict::Invalid(outcome) => {
            report.invalid += 1;
            if let Some(failures) = failures.as_deref_mut() {
                failures
                    .add(kept_bytes(record), invalid_report(record, outcome))
                    .map_err(|e| FailuresWriteError::wrap(failures.records_path(), e))?;
            }
        }
    }
    Ok(())
}

fn kept_bytes(record: &RawRecord) -> Option<&[u8]> {
    record.oversize.is_none().then_some(record.bytes.as_slice())
}

fn invalid_report(record: &RawRecord, outcome: &CheckOutcome) -> FailureReport {
    let errors: Vec<&Finding> = outcome
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    let mut reason = errors
        .first()
        .map(|f| format!("{}: {}", f.path, f.message))
        .unwrap_or_default();
    if errors.len() > 1 {
        reason.push_str(&format!(" (and {} more)", errors.len() - 1));
    }
    FailureReport {
        failures_line: None,
        input_line: record.line,
        record: record.ordinal,
        external_id: external_id_of(&record.bytes),
        kind: FailureKind::Invalid,
        reason,
        code: None,
        log_id: None,
        feishu_ids: Vec::new(),
    }
}

/// The second read, for the candidate ids of the first: marks every record whose
/// `external_id` an earlier sendable record uses.
fn find_duplicates(
    file: &File,
    source: &str,
    checker: &Checker,
    seen: SeenIds,
    report: &mut ScanReport,
    console: &Console,
    mut failures: Option<&mut FailuresWriter>,
) -> io::Result<()> {
    let mut first_use = seen.into_first_use();
    let mut file = file;
    file.seek(SeekFrom::Start(0))?;
    let reader = RecordReader::new(
        BufReader::with_capacity(64 * 1024, file),
        report.format,
        checker.max_record_bytes(),
    );
    for record in reader {
        let record = match record {
            Ok(record) => record,
            Err(InputError::Io(error)) => return Err(error),
            Err(InputError::BrokenArray { .. }) => break,
        };
        if !report.sendable.contains(record.ordinal) {
            continue;
        }
        // Only the id is read, unless it is to be derived from the whole record.
        let id = match external_id_of(&record.bytes) {
            Some(id) => id,
            None if checker.derives_ids() => match parse_literally(&record.bytes) {
                Ok(json) => derive_external_id(&json.value),
                Err(_) => continue,
            },
            None => continue,
        };
        let Some(first_line) = first_use.earlier_use(&id, record.line) else {
            continue;
        };
        report.sendable.remove(record.ordinal);
        report.duplicates += 1;
        let message = format!(
            "external_id {} is also used by the record on line {first_line}, which is sent; Feishu keeps one interview per external_id, so this record is not sent",
            crate::check::shorten(&format!("{id:?}"), 60)
        );
        print_finding(
            console,
            source,
            record.line,
            &Finding {
                severity: Severity::Error,
                path: "$.external_id".to_owned(),
                message: message.clone(),
            },
        );
        if let Some(failures) = failures.as_deref_mut() {
            failures
                .add(
                    Some(&record.bytes),
                    FailureReport {
                        failures_line: None,
                        input_line: record.line,
                        record: record.ordinal,
                        external_id: Some(id),
                        kind: FailureKind::Duplicate,
                        reason: format!(
                            "{message}; give it its own external_id before importing it"
                        ),
                        code: None,
                        log_id: None,
                        feishu_ids: Vec::new(),
                    },
                )
                .map_err(|e| FailuresWriteError::wrap(failures.records_path(), e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CheckOptions;

    /// Many batches of good, warned and broken records (checked on several threads at once)
    /// give the findings and counts of checking one record at a time, in input order.
    #[test]
    fn the_pipelined_check_reports_as_one_record_at_a_time_would() {
        let good: Vec<String> = crate::examples::interview_lines(3, 40, "scan-").collect();
        let bad: Vec<String> = crate::examples::bad_jsonl()
            .lines()
            .map(str::to_owned)
            .collect();
        let lines: Vec<String> = (0..1500)
            .map(|i| match i % 7 {
                0 => bad[i % bad.len()].clone(),
                _ => good[i % good.len()].replace("scan-", &format!("scan-{i}-")),
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.jsonl");
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let checker = Checker::new(CheckOptions::default()).unwrap();

        let (console, output) = Console::buffer();
        let report = scan(&path, "in", InputFormat::Auto, &checker, &console, None).unwrap();

        let mut expected = String::new();
        let (mut valid, mut warnings) = (0, 0);
        for (i, line) in lines.iter().enumerate() {
            let outcome = checker.check_bytes(line.as_bytes(), None);
            for finding in &outcome.findings {
                expected.push_str(&format!("in:{}: {finding}\n", i + 1));
            }
            valid += u64::from(outcome.valid.is_some());
            warnings += outcome.warnings() as u64;
        }
        assert!(expected.contains("error") && expected.contains("warning"));
        assert!(output.text().starts_with(&expected), "{}", output.text());
        assert_eq!(report.records, 1500);
        assert_eq!(report.warnings, warnings);
        assert_eq!(report.sendable.len() + report.duplicates, valid);
        assert_eq!(report.invalid, 1500 - valid);
    }

    /// The second read finds the records whose id repeats an earlier one's: the same id however
    /// it is written, or, with `--derive-external-id`, the same record without one.
    #[test]
    fn repeated_ids_are_found_as_written_or_as_derived() {
        let lines = [
            r#"{"external_id":"ext","external_application_id":"1"}"#,
            r#"{"external_application_id":"1","external_id":"e\u0078t"}"#,
            r#"{"external_application_id":"1","begin_time":1618500278638}"#,
            r#"{"external_application_id":"1","begin_time":1618500278638}"#,
            r#"{"external_id":"other","external_application_id":"1"}"#,
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.jsonl");
        std::fs::write(&path, lines.join("\n")).unwrap();
        for (derive, duplicate_lines) in [(false, vec![2]), (true, vec![2, 4])] {
            let checker = Checker::new(CheckOptions {
                derive_external_ids: derive,
                ..CheckOptions::default()
            })
            .unwrap();
            let (console, output) = Console::buffer();
            let report = scan(&path, "in", InputFormat::Auto, &checker, &console, None).unwrap();
            assert_eq!(report.duplicates, duplicate_lines.len() as u64);
            let text = output.text();
            for line in 1..=5 {
                let reported = text.contains(&format!("in:{line}: error: $.external_id:"));
                assert_eq!(reported, duplicate_lines.contains(&line), "{text}");
            }
        }
    }
}
