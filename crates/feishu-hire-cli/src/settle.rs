//! Settling the outcomes `import` cannot be sure of, by reading the target back at the end of
//! the run ([`crate::lookup`]) instead of guessing from the answers.
//!
//! A record is *uncertain* when
//!
//! - it was created, but an earlier attempt of the same call may have been processed too
//!   (a timeout, a cut connection, a server error before the success): against a target that
//!   does not honour `external_id` it may exist twice ("created, maybe twice");
//! - its call failed in a way that may have taken effect (every attempt timed out, was cut or
//!   met a server error): it may exist once, twice, or not at all;
//! - it was refused with an answer no `--already-exists-code` recognises but that names its
//!   `external_id` (Feishu does not document its answer to a repeat): it may be there already;
//! - an earlier run sent it and stopped before the answer (killed, or a second Ctrl-C): its
//!   journal has the intent and nothing after it; or that run left any of the above unchecked
//!   (it stopped before its end-of-run check). The resumed run checks such records before it
//!   sends anything, and sends again only the ones the target does not hold.
//!
//! Only records with an `external_id` can be looked up: the check pages through the interviews
//! of each uncertain record's application and counts the ones carrying its `external_id`.

use std::collections::{BTreeSet, HashMap};

use feishu_hire_client::{Client, Error as ClientError};
use feishu_hire_types::ErrorCategory;

use crate::console::{Console, ProgressMode};
use crate::import::Interrupts;
use crate::lookup::Reader;

/// Why a record's outcome is uncertain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doubt {
    /// Created, after an earlier attempt that may have been processed too.
    CreatedMaybeTwice,
    /// The call failed, but may have created it.
    MaybeCreated,
    /// Refused with an unrecognised answer naming `external_id`; `code` is the answer's.
    /// `maybe_created_earlier`: an earlier attempt of the call may have created it.
    RefusedNamingId {
        /// Feishu's code.
        code: i64,
        /// Whether an earlier attempt may have been processed.
        maybe_created_earlier: bool,
    },
    /// An earlier run sent it and stopped before the answer, or failed it in a way that may
    /// have created it and stopped before checking: it may have been created (twice, if that
    /// run had retried it).
    EarlierRun,
}

/// An uncertain record, as much as the check needs.
#[derive(Debug, Clone)]
pub struct Uncertain {
    /// Its ordinal in the input.
    pub ordinal: u64,
    /// Its line in the input.
    pub line: u64,
    /// Its `external_id` (own or derived).
    pub external_id: String,
    /// Its `external_application_id`, whose interviews are read.
    pub application: String,
    /// Why it is uncertain.
    pub doubt: Doubt,
}

/// What the target holds for one uncertain record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Exactly one interview carries its `external_id`, with this Feishu id.
    Once(Option<String>),
    /// Several do: a duplicate, with every Feishu id.
    Many(Vec<String>),
    /// None does.
    Absent,
    /// The check could not tell (its query failed, or it was interrupted): why.
    Unchecked(String),
}

/// Whether a failed create is uncertain, and why; `None` when the error is certain (nothing
/// was created, or a refusal that says nothing about the `external_id`).
pub fn doubt_of(error: &ClientError) -> Option<Doubt> {
    if error.may_have_been_created() && !refusal_names_external_id(error) {
        return Some(Doubt::MaybeCreated);
    }
    refusal_names_external_id(error).then(|| Doubt::RefusedNamingId {
        code: error.code().unwrap_or_default(),
        maybe_created_earlier: error.earlier_attempt_may_have_been_processed(),
    })
}

/// An answered refusal that could mean "this `external_id` exists": a parameter (or unknown)
/// error whose field violations or message name the interview's own `external_id` (not an
/// assessment's, `interview_assessments[0].external_id`).
fn refusal_names_external_id(error: &ClientError) -> bool {
    let Some(api) = error.as_api_error() else {
        return false;
    };
    if matches!(
        api.category(),
        ErrorCategory::Auth | ErrorCategory::Permission | ErrorCategory::RateLimited
    ) {
        return false;
    }
    let in_violations = api
        .field_violations()
        .iter()
        .any(|violation| violation.field.as_deref() == Some("external_id"));
    let msg = api.msg().to_ascii_lowercase();
    in_violations || (msg.contains("external_id") && !msg.contains("assessment"))
}

/// Reads the applications of `uncertain` back and judges each record, in the same order.
pub async fn check(
    uncertain: &[Uncertain],
    client: &Client,
    concurrency: usize,
    progress: ProgressMode,
    console: &Console,
    interrupts: &mut Interrupts,
) -> Vec<Verdict> {
    let mut by_id: HashMap<(&str, &str), usize> = HashMap::with_capacity(uncertain.len());
    for (index, record) in uncertain.iter().enumerate() {
        by_id.insert((&record.application, &record.external_id), index);
    }
    let applications: BTreeSet<String> = uncertain.iter().map(|r| r.application.clone()).collect();
    console.line(format!(
        "Checking {} uncertain record(s) against the target: reading the interviews of {} application(s)",
        uncertain.len(),
        applications.len()
    ));
    let mut found: Vec<Vec<String>> = vec![Vec::new(); uncertain.len()];
    let mut failed: HashMap<String, String> = HashMap::new();
    let mut read: BTreeSet<String> = BTreeSet::new();
    let reader = Reader {
        client,
        concurrency,
        progress,
        console,
    };
    let total = applications.len() as u64;
    reader
        .read(applications, total, interrupts, |application, held| {
            read.insert(application.to_owned());
            match held {
                Ok(held) => {
                    for interview in held {
                        let Some(external_id) = interview.external_id.as_deref() else {
                            continue;
                        };
                        if let Some(&index) = by_id.get(&(application, external_id)) {
                            found[index].push(interview.id.unwrap_or_default());
                        }
                    }
                }
                Err(error) => {
                    failed.insert(application.to_owned(), error.to_string());
                }
            }
        })
        .await;
    uncertain
        .iter()
        .zip(found)
        .map(|(record, ids)| match failed.get(&record.application) {
            Some(error) => Verdict::Unchecked(format!(
                "reading the interviews of application {} failed: {error}",
                record.application
            )),
            None if !read.contains(&record.application) => {
                Verdict::Unchecked("the check was interrupted first".to_owned())
            }
            None => verdict(ids),
        })
        .collect()
}

fn verdict(mut ids: Vec<String>) -> Verdict {
    match ids.len() {
        0 => Verdict::Absent,
        1 => Verdict::Once(ids.pop().filter(|id| !id.is_empty())),
        _ => Verdict::Many(ids),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_decide_the_verdict() {
        assert_eq!(verdict(vec![]), Verdict::Absent);
        assert_eq!(verdict(vec!["1".into()]), Verdict::Once(Some("1".into())));
        assert_eq!(
            verdict(vec!["1".into(), "2".into()]),
            Verdict::Many(vec!["1".into(), "2".into()])
        );
    }
}
