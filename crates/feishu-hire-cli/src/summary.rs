//! The end-of-run summary of `import`, for people (a table) and for programs (`--json`).

use std::fmt;

use serde::Serialize;

use crate::check::human_bytes;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Ending {
    /// Every record was handled.
    Finished,
    /// Ctrl-C or SIGTERM: the requests in flight were finished and the run stopped.
    Interrupted,
    /// An error that would fail every record stopped the run (see `abort_reason`).
    Aborted,
}

/// What an import did. Counts are of records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The input as given (`-` for stdin).
    pub input: String,
    /// Hex SHA-256 of the input.
    pub input_sha256: String,
    /// Where the records went, in words.
    pub target: String,
    /// The target's base URL.
    pub base_url: String,
    /// The journal, unless it was temporary.
    pub journal: Option<String>,
    /// The failures file, if anything failed.
    pub failures_file: Option<String>,
    /// The failures report, if anything failed.
    pub failures_report: Option<String>,
    /// Records in the input.
    pub records: u64,
    /// Confirmed by an earlier run (journal), so not sent.
    pub confirmed_earlier: u64,
    /// Sent and created now.
    pub created: u64,
    /// Sent; Feishu answered that the `external_id` already exists.
    pub already_present: u64,
    /// Failed the checks; not sent.
    pub invalid: u64,
    /// Valid, but an earlier record has the same `external_id`; not sent.
    pub duplicates: u64,
    /// Sent, not confirmed (see the failures file).
    pub failed: u64,
    /// Of the failed, those that may have been created anyway (no answer, or a server error).
    pub failed_maybe_created: u64,
    /// Of those, the ones sent without an `external_id` (`--allow-unsafe-retries`): re-sending
    /// them can create the interview twice.
    pub failed_maybe_created_without_id: u64,
    /// Of the created (or confirmed earlier), those created after an earlier attempt that may
    /// have created them too, which the check could not settle: each may exist twice (run
    /// `verify`).
    pub created_maybe_twice: u64,
    /// Records the end-of-run check found more than once in the target (duplicates; their
    /// Feishu ids are in the failures report). Not counted as created.
    pub duplicated_in_target: u64,
    /// Records whose uncertain outcome was checked against the target at the end of the run.
    pub checked_in_target: u64,
    /// Of the already present, those refused with an unrecognised code naming `external_id`
    /// that the check found in the target; `refusal_codes` lists the codes.
    pub refused_but_present: u64,
    /// The codes of those refusals, for `--already-exists-code`.
    pub refusal_codes: Vec<i64>,
    /// Records whose outcome an earlier run left uncertain (it was killed while they were in
    /// flight, or before it checked them): checked against the target before this run sent
    /// anything, counted by what the check found (created, duplicated, or failed if it could
    /// not tell), and sent again only if the target does not hold them.
    pub uncertain_earlier: u64,
    /// Why some uncertain outcomes could not be checked, if so.
    pub check_problem: Option<String>,
    /// Not sent this run because it stopped early; the next run sends them.
    pub not_sent: u64,
    /// Warnings printed.
    pub warnings: u64,
    /// Wall time of the run, in milliseconds.
    pub elapsed_ms: u64,
    /// Records answered per second while sending.
    pub records_per_second: f64,
    /// How the run ended.
    pub ending: Ending,
    /// Why it was aborted.
    pub abort_reason: Option<String>,
    /// The exit code (see [`crate::exit`]).
    pub exit_code: i32,
    /// The process's peak resident memory in bytes (Linux only), for the benchmark.
    pub peak_memory_bytes: Option<u64>,
}

impl Summary {
    /// Whether every record of the input is known to be in the target.
    pub fn is_complete(&self) -> bool {
        self.not_sent == 0
            && self.duplicated_in_target == 0
            && self.created_maybe_twice == 0
            && self.in_target() >= self.records
    }

    /// What to do after a run that finished with problems.
    fn advice(&self) -> String {
        let mut advice = format!(
            "Done with problems: {} of {} records are in the target.",
            self.in_target(),
            self.records
        );
        if self.not_sent > 0 {
            advice.push_str(&format!(
                " {} record(s) were not sent; run the same command again to send them.",
                self.not_sent
            ));
        }
        if self.failures_file.is_some() {
            advice.push_str(" Fix the records in the failures file and import it.");
        }
        let with_id = self
            .failed_maybe_created
            .saturating_sub(self.failed_maybe_created_without_id);
        if with_id > 0 {
            advice.push_str(&format!(
                " {with_id} failed record(s) may have been created anyway; re-sending them within 24 h is safe because of their external_id.",
            ));
        }
        advice.push_str(&self.check_advice());
        if self.failed_maybe_created_without_id > 0 {
            advice.push_str(&format!(
                " Warning: {} failed record(s) were sent without an external_id (--allow-unsafe-retries) and may have been created anyway; \
                 check the target for them before re-sending, or they may be created twice.",
                self.failed_maybe_created_without_id
            ));
        }
        advice
    }

    /// What to do about what the end-of-run check found (or could not find).
    fn check_advice(&self) -> String {
        let mut advice = String::new();
        if self.duplicated_in_target > 0 {
            advice.push_str(&format!(
                " {} record(s) are in the target more than once (the target did not honour their external_id when a request was retried): \
                 the failures report lists the Feishu ids of every copy; delete all but one of each. Against such a target, import with --no-retry-after-uncertain.",
                self.duplicated_in_target
            ));
        }
        if self.created_maybe_twice > 0 {
            advice.push_str(&format!(
                " {} created record(s) may exist twice (an earlier attempt may have created them too) and could not be checked{}; run `feishu-hire verify` on the input.",
                self.created_maybe_twice,
                self.check_problem.as_deref().map(|p| format!(" ({p})")).unwrap_or_default()
            ));
        }
        advice
    }

    /// The last line: how the run ended and what to do next.
    fn verdict(&self) -> String {
        match self.ending {
            Ending::Interrupted => format!(
                "Interrupted: {} of {} records are in the target; run the same command again to finish.",
                self.in_target(),
                self.records
            ),
            Ending::Aborted => format!(
                "Stopped: {}. Fix it and run the same command again to finish.",
                self.abort_reason.as_deref().unwrap_or("an error")
            ),
            Ending::Finished if self.is_complete() => {
                format!("Done: all {} records are in the target.", self.records)
            }
            Ending::Finished => self.advice(),
        }
    }

    /// Records now known to be in the target (created now, already present, or confirmed
    /// by an earlier run).
    pub fn in_target(&self) -> u64 {
        self.created + self.already_present + self.confirmed_earlier
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Import of {} into {}", self.input, self.target)?;
        let rows: [(&str, u64, &str); 13] = [
            ("records", self.records, ""),
            ("created", self.created, ""),
            (
                "already present",
                self.already_present,
                "Feishu answered that the external_id exists",
            ),
            (
                "confirmed earlier",
                self.confirmed_earlier,
                "in the journal from an earlier run; not sent again",
            ),
            ("invalid", self.invalid, "not sent; see the messages above"),
            (
                "duplicates",
                self.duplicates,
                "external_id used by an earlier record; not sent",
            ),
            ("failed", self.failed, "sent but not confirmed"),
            (
                "maybe twice",
                self.created_maybe_twice,
                "of the created: an earlier attempt may have created it too; run verify",
            ),
            (
                "duplicated",
                self.duplicated_in_target,
                "held more than once by the target; ids in the failures report",
            ),
            (
                "uncertain earlier",
                self.uncertain_earlier,
                "left uncertain by a stopped run; checked first, not sent blind",
            ),
            (
                "checked",
                self.checked_in_target,
                "uncertain outcomes read back from the target",
            ),
            (
                "not sent",
                self.not_sent,
                "the run stopped first; run again to send them",
            ),
            ("warnings", self.warnings, ""),
        ];
        for (name, count, note) in rows {
            if count == 0 && !matches!(name, "records" | "created" | "invalid" | "failed") {
                continue;
            }
            if note.is_empty() || count == 0 {
                writeln!(f, "  {name:<18} {count:>8}")?;
            } else {
                writeln!(f, "  {name:<18} {count:>8}  ({note})")?;
            }
        }
        writeln!(
            f,
            "  {:<18} {:>8.1} s ({:.1} records/s)",
            "time",
            self.elapsed_ms as f64 / 1000.0,
            self.records_per_second
        )?;
        if let Some(journal) = &self.journal {
            writeln!(f, "  {:<18} {journal}", "journal")?;
        }
        if let (Some(file), Some(report)) = (&self.failures_file, &self.failures_report) {
            writeln!(f, "  {:<18} {file} (reasons: {report})", "failures")?;
        }
        if self.refused_but_present > 0 {
            let codes: Vec<String> = self.refusal_codes.iter().map(i64::to_string).collect();
            writeln!(
                f,
                "note: {} record(s) were refused with code {} naming external_id, and the target holds each of them once: counted as already present. \
                 If this code always means \"external_id already exists\", pass --already-exists-code {} to skip the check.",
                self.refused_but_present,
                codes.join(", "),
                codes.first().map_or("CODE", String::as_str)
            )?;
        }
        if let Some(peak) = self.peak_memory_bytes {
            writeln!(f, "  {:<18} {}", "peak memory", human_bytes(peak))?;
        }
        let verdict = self.verdict();
        write!(f, "{verdict} (exit code {})", self.exit_code)
    }
}

/// The process's peak resident memory (`VmHWM` of `/proc/self/status`), on Linux.
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests_support {
    use super::*;

    pub(super) fn finished() -> Summary {
        Summary {
            input: "in.jsonl".to_owned(),
            input_sha256: "aa".to_owned(),
            target: "t".to_owned(),
            base_url: "http://127.0.0.1:1".to_owned(),
            journal: None,
            failures_file: None,
            failures_report: None,
            records: 10,
            confirmed_earlier: 0,
            created: 10,
            already_present: 0,
            invalid: 0,
            duplicates: 0,
            failed: 0,
            failed_maybe_created: 0,
            failed_maybe_created_without_id: 0,
            created_maybe_twice: 0,
            duplicated_in_target: 0,
            checked_in_target: 0,
            refused_but_present: 0,
            refusal_codes: Vec::new(),
            uncertain_earlier: 0,
            check_problem: None,
            not_sent: 0,
            warnings: 0,
            elapsed_ms: 0,
            records_per_second: 0.0,
            ending: Ending::Finished,
            abort_reason: None,
            exit_code: crate::exit::SUCCESS,
            peak_memory_bytes: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::finished;

    #[test]
    fn records_not_sent_are_never_reported_as_done() {
        let mut summary = finished();
        assert!(summary.to_string().contains("Done: all 10 records"));
        summary.created = 7;
        summary.not_sent = 3;
        let text = summary.to_string();
        assert!(!text.contains("Done: all"), "{text}");
        assert!(text.contains("7 of 10 records are in the target"), "{text}");
        assert!(text.contains("3 record(s) were not sent"), "{text}");
    }

    #[test]
    fn failures_without_an_external_id_are_not_called_safe_to_resend() {
        let mut summary = finished();
        summary.created = 7;
        summary.failed = 3;
        summary.failed_maybe_created = 3;
        summary.failed_maybe_created_without_id = 2;
        summary.failures_file = Some("f".to_owned());
        summary.failures_report = Some("r".to_owned());
        let text = summary.to_string();
        assert!(
            text.contains("1 failed record(s) may have been created anyway; re-sending them within 24 h is safe"),
            "{text}"
        );
        assert!(
            text.contains("2 failed record(s) were sent without an external_id"),
            "{text}"
        );
        assert!(!text.contains("retried as they are"), "{text}");
    }
}

#[cfg(test)]
mod check_tests {
    use super::tests_support::finished;

    #[test]
    fn a_record_that_may_exist_twice_is_never_done() {
        let mut summary = finished();
        summary.created_maybe_twice = 1;
        let text = summary.to_string();
        assert!(!text.contains("Done: all"), "{text}");
        assert!(text.contains("may exist twice"), "{text}");
        assert!(text.contains("feishu-hire verify"), "{text}");
        summary.created_maybe_twice = 0;
        summary.created = 9;
        summary.duplicated_in_target = 1;
        let text = summary.to_string();
        assert!(!text.contains("Done: all"), "{text}");
        assert!(text.contains("delete all but one"), "{text}");
    }
}
