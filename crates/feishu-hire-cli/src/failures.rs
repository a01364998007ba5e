//! The failures file: every record of a run that was invalid or not confirmed, ready to be
//! fixed and imported again.
//!
//! Two files, written only when something failed (an older pair for the same input is removed
//! when a run starts, since it describes a run this one supersedes):
//!
//! - **`<input stem>.failures.jsonl`** (or `--failures PATH`): the failed records themselves,
//!   one JSON object per line, exactly as they were in the input (a record from a JSON array
//!   is put on one line). It is valid input for `feishu-hire import`: fix what the report says
//!   and import it. A record over the size limit is not copied (it is only in the report).
//! - **`<input stem>.failures.report.jsonl`**: one line per failed record, in the same order,
//!   saying where it came from and why it failed:
//!
//! ```text
//! {"failures_line":1,"input_line":4,"record":4,"external_id":"ats-4","kind":"invalid","reason":"$.begin_time: expected an integer, found a string \"2021-04-15\"; …"}
//! {"failures_line":2,"input_line":9,"record":9,"external_id":"ats-9","kind":"failed","reason":"…","code":1002001,"log_id":"20240101…"}
//! ```
//!
//! `kind` is `invalid` (failed the checks; never sent), `duplicate` (its `external_id` is used
//! by an earlier record, which was sent; give it its own id before re-running), `failed`
//! (sent, but not confirmed: `code` and `log_id` are Feishu's when it answered) or
//! `duplicated_in_target` (the end-of-run check found it more than once in the target;
//! `feishu_ids` lists the copies; not copied to the failures file).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Why a record is in the failures file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailureKind {
    /// It failed the checks and was not sent.
    Invalid,
    /// Its `external_id` is used by an earlier record of the input; not sent.
    Duplicate,
    /// It was sent but not confirmed.
    Failed,
    /// The target holds it more than once (see `feishu_ids`); not copied to the failures
    /// file, since sending it again cannot help: delete all copies but one.
    DuplicatedInTarget,
    /// `verify`: the target does not hold it; copied, ready to be imported.
    Missing,
    /// `verify`: the target holds an interview for an application of the input under an
    /// `external_id` no record of the input has (or none).
    NotInInput,
    /// `verify`: it cannot be looked up (no `external_id`), or its application could not be
    /// read.
    Unchecked,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureReport {
    /// Line of the record in the failures file; `None` if it was too large to copy.
    pub failures_line: Option<u64>,
    /// Line of the record in the input.
    pub input_line: u64,
    /// Ordinal of the record in the input.
    pub record: u64,
    /// Its `external_id` (own or derived), if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Why it is here.
    pub kind: FailureKind,
    /// What went wrong.
    pub reason: String,
    /// Feishu's error code, if it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// Feishu's log id, if it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_id: Option<String>,
    /// Feishu's ids of the interviews the target holds for it (a duplicate's copies).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feishu_ids: Vec<String>,
}

/// The report's path for a failures file: `x.failures.jsonl` → `x.failures.report.jsonl`.
pub fn report_path(failures: &Path) -> PathBuf {
    let name = failures
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".jsonl").unwrap_or(&name);
    failures.with_file_name(format!("{stem}.report.jsonl"))
}

/// Writes the failures file and its report, creating them on the first failure.
#[derive(Debug)]
pub struct FailuresWriter {
    records_path: PathBuf,
    report_path: PathBuf,
    files: Option<(BufWriter<File>, BufWriter<File>)>,
    records: u64,
    reports: u64,
}

impl FailuresWriter {
    /// A writer for `records_path` (and its [`report_path`]); nothing is created yet.
    pub fn new(records_path: PathBuf) -> Self {
        let report_path = report_path(&records_path);
        Self {
            records_path,
            report_path,
            files: None,
            records: 0,
            reports: 0,
        }
    }

    /// The failures file's path.
    pub fn records_path(&self) -> &Path {
        &self.records_path
    }

    /// The report's path.
    pub fn report_path(&self) -> &Path {
        &self.report_path
    }

    /// Removes the files of an earlier run, if any.
    pub fn remove_stale(&self) -> io::Result<()> {
        for path in [&self.records_path, &self.report_path] {
            match std::fs::remove_file(path) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
                _ => {}
            }
        }
        Ok(())
    }

    /// Adds a failed record: `bytes` as read from the input (`None` if it was too large).
    pub fn add(&mut self, bytes: Option<&[u8]>, mut report: FailureReport) -> io::Result<()> {
        if self.files.is_none() {
            let records = BufWriter::new(File::create(&self.records_path)?);
            let reports = BufWriter::new(File::create(&self.report_path)?);
            self.files = Some((records, reports));
        }
        let Some((records, reports)) = self.files.as_mut() else {
            return Ok(());
        };
        report.failures_line = None;
        if let Some(bytes) = bytes {
            // A record from a JSON array may span lines; JSON allows a space wherever it
            // allows a line break, and a string cannot hold a raw one, so this keeps its value.
            let one_line: Vec<u8> = bytes
                .iter()
                .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b })
                .collect();
            records.write_all(&one_line)?;
            records.write_all(b"\n")?;
            self.records += 1;
            report.failures_line = Some(self.records);
        }
        serde_json::to_writer(&mut *reports, &report)?;
        reports.write_all(b"\n")?;
        self.reports += 1;
        Ok(())
    }

    /// Flushes and syncs both files; returns whether any failure was written.
    pub fn finish(self) -> io::Result<bool> {
        let Some((records, reports)) = self.files else {
            return Ok(false);
        };
        for writer in [records, reports] {
            let file = writer.into_inner().map_err(|e| e.into_error())?;
            file.sync_data()?;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_paths_sit_beside_the_failures_file() {
        assert_eq!(
            report_path(Path::new("a/b.failures.jsonl")),
            Path::new("a/b.failures.report.jsonl")
        );
        assert_eq!(report_path(Path::new("out")), Path::new("out.report.jsonl"));
    }

    #[test]
    fn records_go_on_one_line_each_and_reports_point_at_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.failures.jsonl");
        let mut writer = FailuresWriter::new(path.clone());
        let report = |record| FailureReport {
            failures_line: None,
            input_line: record,
            record,
            external_id: None,
            kind: FailureKind::Invalid,
            reason: "bad".to_owned(),
            code: None,
            log_id: None,
            feishu_ids: Vec::new(),
        };
        writer.add(Some(b"{\n  \"a\": 1\n}"), report(1)).unwrap();
        writer.add(None, report(2)).unwrap();
        writer.add(Some(b"{\"b\":2}"), report(3)).unwrap();
        assert!(writer.finish().unwrap());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{   \"a\": 1 }\n{\"b\":2}\n"
        );
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(report_path(&path))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let failure_lines: Vec<_> = lines.iter().map(|l| l["failures_line"].clone()).collect();
        assert_eq!(
            failure_lines,
            vec![1.into(), serde_json::Value::Null, 2.into()]
        );
    }

    #[test]
    fn nothing_is_created_without_failures() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.failures.jsonl");
        assert!(!FailuresWriter::new(path.clone()).finish().unwrap());
        assert!(!path.exists());
    }
}
