//! Settling uncertain records during an import ([`crate::settle`] decides what the target
//! holds): the records this run could not be sure of, checked at the end of the run, and the
//! ones earlier runs left uncertain, checked before anything is sent. Each verdict moves the
//! record between the summary's counts, is journaled, and may go to the failures file.

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use crate::bitset::Bitset;
use crate::console::Console;
use crate::failures::{FailureKind, FailureReport, FailuresWriter};
use crate::journal::{Checked, EntryResult, JournalEntry, JournalWriter, now_ms};
use crate::settle::{Doubt, Uncertain, Verdict};
use crate::summary::Ending;

use super::Interrupts;
use super::reading::Job;
use super::run::{Context, Run};

/// What the checks leave to do: failure reports whose records are copied from the input at
/// the end (by ordinal), and records to send again now.
#[derive(Default)]
pub(super) struct Settled {
    pub(super) deferred: BTreeMap<u64, FailureReport>,
    pub(super) resend: Bitset,
}

/// An uncertain record, waiting for the end-of-run check: what to look up, its journal entry
/// (to append the outcome to), and its failure report (for a failed call), written once the
/// check has decided.
pub(super) struct Pending {
    pub(super) record: Uncertain,
    pub(super) entry: JournalEntry,
    pub(super) failure: Option<FailureReport>,
    pub(super) origin: Origin,
}

/// Which run left a record uncertain: the counts it moves between differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// This run sent it (counted as created or failed).
    ThisRun,
    /// An earlier run sent it and got no answer, or failed it uncertain and did not check
    /// (counted as failed until checked; sent again if the target does not hold it).
    UncertainEarlier,
    /// An earlier run created it maybe twice and did not check (counted as confirmed
    /// earlier).
    ConfirmedEarlier,
}

/// What earlier runs left uncertain, by ordinal (see [`crate::journal`]): records not confirmed
/// that were sent without an answer (the run was killed) or failed in a way that may have
/// created them, without a check; and records created "maybe twice", without a check. Few:
/// the requests in flight when a run stopped, and those that met faults before it.
pub(super) struct EarlierDoubts {
    pub(super) uncertain: BTreeSet<u64>,
    pub(super) unsettled: BTreeSet<u64>,
}

impl EarlierDoubts {
    pub(super) fn is_empty(&self) -> bool {
        self.uncertain.is_empty() && self.unsettled.is_empty()
    }

    pub(super) fn announce(&self, console: &Console) {
        if !self.uncertain.is_empty() {
            console.line(format!(
                "{} record(s) were left uncertain by an earlier run (sent without an answer because it was killed, or failed in a way that may have created them, and not checked): the target is checked for them before anything is sent, and only the ones it does not hold are sent again",
                self.uncertain.len()
            ));
        }
        if !self.unsettled.is_empty() {
            console.line(format!(
                "{} record(s) an earlier run created \"maybe twice\" were not checked (it stopped first): the target is checked for them now",
                self.unsettled.len()
            ));
        }
    }
}

impl Run {
    /// Checks what earlier runs left uncertain, before anything is sent.
    pub(super) async fn settle_earlier(
        &mut self,
        cx: &Context<'_>,
        earlier: &EarlierDoubts,
        failures: &mut FailuresWriter,
        interrupts: &mut Interrupts,
        settled: &mut Settled,
    ) {
        let pending = match self.earlier_pending(earlier, cx) {
            Ok((pending, without_id)) => {
                settled.deferred.extend(without_id);
                pending
            }
            Err(error) => {
                self.abort(format!("reading {} failed: {error}", cx.reading.source));
                Vec::new()
            }
        };
        let verdicts = self.check_pending(&pending, cx, interrupts).await;
        self.apply_verdicts(pending, verdicts, cx, failures, settled);
    }

    /// Reads the uncertain records back from the target (unless the run is stopping), one
    /// verdict per record, in order.
    pub(super) async fn check_pending(
        &mut self,
        pending: &[Pending],
        cx: &Context<'_>,
        interrupts: &mut Interrupts,
    ) -> Vec<Verdict> {
        if pending.is_empty() {
            return Vec::new();
        }
        if self.stopping() {
            let why = "the run stopped before the check".to_owned();
            return vec![Verdict::Unchecked(why); pending.len()];
        }
        let records: Vec<Uncertain> = pending.iter().map(|p| p.record.clone()).collect();
        let verdicts = crate::settle::check(
            &records,
            cx.target.queries(),
            cx.config.concurrency,
            cx.config.progress,
            cx.console,
            interrupts,
        )
        .await;
        if *interrupts.borrow() > 0 {
            self.ending = Ending::Interrupted;
        }
        verdicts
    }

    /// Counts, journals and reports what the check found; adds to `settled` the failure
    /// reports whose records must still be copied from the input, and the records of an
    /// earlier run that the target does not hold (to be sent now).
    pub(super) fn apply_verdicts(
        &mut self,
        pending: Vec<Pending>,
        verdicts: Vec<Verdict>,
        cx: &Context<'_>,
        failures: &mut FailuresWriter,
        settled: &mut Settled,
    ) {
        let (journal, console, source) = (cx.journal, cx.console, &cx.reading.source);
        for (pending, verdict) in pending.into_iter().zip(verdicts) {
            let (ordinal, line) = (pending.record.ordinal, pending.record.line);
            let (entry, report) = match verdict {
                Verdict::Absent if pending.origin == Origin::UncertainEarlier => {
                    settled.resend.insert(ordinal);
                    (Some(self.uncertain_absent(pending)), None)
                }
                Verdict::Once(id) => (Some(self.found_once(pending, id)), None),
                Verdict::Many(ids) => {
                    let (entry, report) = self.found_many(pending, ids);
                    console.line(format!("{source}:{line}: duplicated: {}", report.reason));
                    if let Err(error) = failures.add(None, report) {
                        self.abort(format!("the failures file could not be written: {error}"));
                    }
                    (Some(entry), None)
                }
                Verdict::Absent => self.found_none(pending),
                Verdict::Unchecked(why) => (None, self.unchecked(pending, &why)),
            };
            if let Some(entry) = entry
                && let Err(error) = journal.append(&entry)
            {
                self.abort(error.to_string());
            }
            if let Some(report) = report {
                console.line(format!("{source}:{line}: failed: {}", report.reason));
                settled.deferred.insert(ordinal, report);
            }
        }
    }

    /// A record an earlier run left uncertain that the target does not hold: its request
    /// created nothing, so it is sent again now, like any record not confirmed.
    fn uncertain_absent(&mut self, pending: Pending) -> JournalEntry {
        let mut entry = pending.entry;
        self.checked += 1;
        self.failed -= 1;
        entry.at_ms = now_ms();
        entry.checked = Some(Checked::Absent);
        entry.reason = Some(
            "an earlier run left its outcome uncertain; the target does not hold it (checked), so it is sent again"
                .to_owned(),
        );
        entry
    }

    /// The target holds the uncertain record once: created, or already present if our call
    /// was refused and no attempt of it may have created it.
    fn found_once(&mut self, pending: Pending, id: Option<String>) -> JournalEntry {
        let Pending {
            record,
            mut entry,
            failure,
            ..
        } = pending;
        self.checked += 1;
        entry.at_ms = now_ms();
        entry.checked = Some(Checked::PresentOnce);
        entry.feishu_ids = id.iter().cloned().collect();
        entry.id = id.or(entry.id);
        entry.reason = None;
        if failure.is_some() {
            self.failed -= 1;
            if let Doubt::RefusedNamingId {
                code,
                maybe_created_earlier: false,
            } = record.doubt
            {
                self.already_present += 1;
                self.refused_but_present += 1;
                self.refusal_codes.insert(code);
                entry.result = EntryResult::AlreadyExists;
            } else {
                self.created += 1;
                entry.result = EntryResult::Created;
            }
        }
        entry
    }

    /// The target holds the uncertain record more than once: a duplicate, confirmed (sending
    /// it again would only add a copy), and reported with every Feishu id.
    fn found_many(&mut self, pending: Pending, ids: Vec<String>) -> (JournalEntry, FailureReport) {
        let Pending {
            record,
            mut entry,
            failure,
            origin,
        } = pending;
        self.checked += 1;
        self.duplicated += 1;
        match (&failure, origin) {
            (Some(_), _) => self.failed -= 1,
            (None, Origin::ConfirmedEarlier) => {
                // No longer "in the target" but duplicated, which this run reports: it joins
                // the records this run answers for, so that "not sent" stays right.
                self.confirmed_earlier -= 1;
                self.to_send += 1;
            }
            (None, _) => self.created -= 1,
        }
        let reason = format!(
            "the target holds {} interviews with external_id {:?} (Feishu ids {}): a request was retried after an attempt that may have been processed, \
             and the target did not honour the external_id. Delete all but one of them; against this target import with --no-retry-after-uncertain",
            ids.len(),
            record.external_id,
            ids.join(", ")
        );
        entry.at_ms = now_ms();
        entry.result = EntryResult::Created;
        entry.checked = Some(Checked::Duplicated);
        entry.feishu_ids.clone_from(&ids);
        entry.reason = Some(reason.clone());
        let report = FailureReport {
            failures_line: None,
            input_line: record.line,
            record: record.ordinal,
            external_id: Some(record.external_id),
            kind: FailureKind::DuplicatedInTarget,
            reason,
            code: None,
            log_id: entry.log_id.clone(),
            feishu_ids: ids,
        };
        (entry, report)
    }

    /// The target does not hold the uncertain record: a failed call certainly created
    /// nothing; a created one that cannot be found stays uncertain.
    fn found_none(&mut self, pending: Pending) -> (Option<JournalEntry>, Option<FailureReport>) {
        let Pending {
            record,
            mut entry,
            failure,
            ..
        } = pending;
        let Some(mut report) = failure else {
            let why = "the target answered that it created it, but its query does not list it";
            self.check_problem.get_or_insert_with(|| why.to_owned());
            self.created_maybe_twice += 1;
            return (None, None);
        };
        self.checked += 1;
        let advice = match record.doubt {
            Doubt::RefusedNamingId { .. } => {
                "; the target does not hold it (checked), so the refusal does not mean \"already exists\": fix the record as the answer says and import the failures file"
            }
            _ => {
                "; the target does not hold it (checked): not created. Import the failures file to send it again"
            }
        };
        report.reason.push_str(advice);
        entry.at_ms = now_ms();
        entry.checked = Some(Checked::Absent);
        entry.reason = Some(report.reason.clone());
        (Some(entry), Some(report))
    }

    /// The check could not tell: a created record stays "maybe twice", a failed one "may
    /// have been created".
    fn unchecked(&mut self, pending: Pending, why: &str) -> Option<FailureReport> {
        self.check_problem.get_or_insert_with(|| why.to_owned());
        let Some(mut report) = pending.failure else {
            self.created_maybe_twice += 1;
            return None;
        };
        let maybe = match pending.record.doubt {
            Doubt::MaybeCreated => true,
            Doubt::RefusedNamingId {
                maybe_created_earlier,
                ..
            } => maybe_created_earlier,
            Doubt::CreatedMaybeTwice => false,
            Doubt::EarlierRun => true,
        };
        self.failed_maybe_created += u64::from(maybe);
        report.reason.push_str(&format!(
            " (uncertain: it may be in the target, and the check could not tell: {why}. Run `feishu-hire verify` on the input before sending it again)"
        ));
        Some(report)
    }

    /// The uncertain records of earlier runs, read from the input, ready for the check; and
    /// the failure reports of uncertain records that cannot be checked (no `external_id`),
    /// by ordinal. Those are journaled as failed now: this run does not send them, and the
    /// report says to check the target before re-sending them.
    fn earlier_pending(
        &mut self,
        earlier: &EarlierDoubts,
        cx: &Context<'_>,
    ) -> io::Result<(Vec<Pending>, BTreeMap<u64, FailureReport>)> {
        let wanted: BTreeSet<u64> = earlier
            .uncertain
            .union(&earlier.unsettled)
            .copied()
            .collect();
        let jobs = cx.reading.read_some(&wanted)?;
        let mut pending = Vec::with_capacity(jobs.len());
        let mut unverifiable = BTreeMap::new();
        for job in jobs {
            let uncertain = earlier.uncertain.contains(&job.ordinal);
            let Some(external_id) = job.external_id.clone() else {
                if uncertain {
                    let report = self.uncertain_without_id(&job, cx.journal);
                    unverifiable.insert(job.ordinal, report);
                }
                continue;
            };
            let (result, doubt, origin) = if uncertain {
                self.failed += 1;
                (
                    EntryResult::Failed,
                    Doubt::EarlierRun,
                    Origin::UncertainEarlier,
                )
            } else {
                (
                    EntryResult::Created,
                    Doubt::CreatedMaybeTwice,
                    Origin::ConfirmedEarlier,
                )
            };
            let mut entry =
                JournalEntry::new(job.ordinal, job.line, job.external_id.clone(), result);
            entry.maybe_twice = !uncertain;
            let failure = uncertain.then(|| FailureReport {
                failures_line: None,
                input_line: job.line,
                record: job.ordinal,
                external_id: job.external_id.clone(),
                kind: FailureKind::Failed,
                reason: "an earlier run sent it and stopped before it knew the outcome (it was killed or interrupted before the answer or the check), so it may have been created; not sent again"
                    .to_owned(),
                code: None,
                log_id: None,
                feishu_ids: Vec::new(),
            });
            pending.push(Pending {
                record: job.uncertain(external_id, doubt),
                entry,
                failure,
                origin,
            });
        }
        Ok((pending, unverifiable))
    }

    /// A record an earlier run sent without an `external_id` (`--allow-unsafe-retries`) and
    /// got no answer for: it cannot be looked up, so it is failed, "may have been created",
    /// and not sent.
    fn uncertain_without_id(&mut self, job: &Job, journal: &JournalWriter) -> FailureReport {
        self.failed += 1;
        self.failed_maybe_created += 1;
        self.failed_maybe_created_without_id += 1;
        let reason = "an earlier run sent it and stopped before the answer, so it may have been created; it has no external_id, so it cannot be checked: check the target for it before re-sending it, or it may be created twice".to_owned();
        let mut entry = JournalEntry::new(job.ordinal, job.line, None, EntryResult::Failed);
        entry.reason = Some(reason.clone());
        if let Err(error) = journal.append(&entry) {
            self.abort(error.to_string());
        }
        FailureReport {
            failures_line: None,
            input_line: job.line,
            record: job.ordinal,
            external_id: None,
            kind: FailureKind::Failed,
            reason,
            code: None,
            log_id: None,
            feishu_ids: Vec::new(),
        }
    }
}
