//! The interviews and assessments a sandbox holds, and what each operation does to them:
//! create (with the `external_id` rule), replace, delete, page through, and create or patch an
//! assessment. Plain data with no locking or HTTP, so each rule is tested on its own.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use feishu_hire_types::{
    AssessmentDimension, AssessmentDimensionInput, CreateExternalInterviewAssessmentRequest,
    ExternalInterview, ExternalInterviewAssessment, ExternalInterviewAssessmentInput,
    InterviewConclusion, ParticipateStatus,
};

use crate::clock::unix_millis;
use crate::config::IdempotencyMode;
use crate::stats::StoredInterview;

/// The fields of an interview as create and update send them (the two bodies are the same).
#[derive(Debug, Clone)]
pub(crate) struct InterviewInput {
    pub(crate) external_id: Option<String>,
    pub(crate) external_application_id: String,
    pub(crate) participate_status: Option<ParticipateStatus>,
    pub(crate) begin_time: Option<i64>,
    pub(crate) end_time: Option<i64>,
    pub(crate) interview_assessments: Vec<ExternalInterviewAssessmentInput>,
}

/// The fields a patch of an assessment sent; `None` leaves the stored value as it is.
#[derive(Debug, Clone, Default)]
pub(crate) struct AssessmentPatch {
    pub(crate) username: Option<String>,
    pub(crate) conclusion: Option<InterviewConclusion>,
    pub(crate) content: Option<String>,
    pub(crate) assessment_dimension_list: Option<Vec<AssessmentDimensionInput>>,
}

/// Who stored a record and when, for the inspection endpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin<'a> {
    pub(crate) app_id: &'a str,
    pub(crate) log_id: &'a str,
    pub(crate) now: SystemTime,
}

/// How a create treats a repeated key: the configured mode and the endpoint's window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyRule {
    pub(crate) mode: IdempotencyMode,
    pub(crate) window: Duration,
}

/// What a create did.
#[derive(Debug)]
pub(crate) enum Created<T> {
    /// A new record was stored.
    New(T),
    /// A repeat inside the window: the record stored first, as it is now.
    Stored(T),
    /// A repeat inside the window, refused with this code.
    Rejected { code: i64, external_id: String },
}

/// What a query asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct QueryFilter {
    /// Only the interviews of this external application.
    pub(crate) external_application_id: Option<String>,
    /// Only these interviews (sorted, without repeats); empty for no restriction.
    pub(crate) ids: Vec<String>,
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueryPage {
    pub(crate) items: Vec<ExternalInterview>,
    /// The creation sequence of the last item, where the next page starts after.
    pub(crate) last: Option<u64>,
    pub(crate) has_more: bool,
}

/// Every interview and assessment, and the keys of the idempotency rules.
#[derive(Debug, Default)]
pub(crate) struct Store {
    // By creation sequence: the order of queries and of the inspection endpoint. A sequence
    // (not a position) keeps page tokens valid when an earlier interview is deleted.
    interviews: BTreeMap<u64, StoredInterview>,
    next_sequence: u64,
    sequence_by_id: HashMap<String, u64>,
    // assessment id -> id of the interview it is attached to.
    interview_of_assessment: HashMap<String, String>,
    // external_id -> (interview id, when it was stored), for the create-interview window.
    interview_keys: HashMap<String, (String, SystemTime)>,
    // external_id -> (assessment id, when it was stored), for the create-assessment window.
    assessment_keys: HashMap<String, (String, SystemTime)>,
}

impl Store {
    /// Every stored interview, in creation order.
    pub(crate) fn records(&self) -> Vec<StoredInterview> {
        self.interviews.values().cloned().collect()
    }

    pub(crate) fn interview(&self, id: &str) -> Option<&StoredInterview> {
        self.interviews.get(self.sequence_by_id.get(id)?)
    }

    fn interview_mut(&mut self, id: &str) -> Option<&mut StoredInterview> {
        self.interviews.get_mut(self.sequence_by_id.get(id)?)
    }

    /// Stores an interview unless its `external_id` was used inside the window (and the
    /// interview then stored still exists).
    pub(crate) fn create_interview(
        &mut self,
        input: InterviewInput,
        rule: KeyRule,
        origin: Origin<'_>,
        new_id: &mut dyn FnMut() -> String,
    ) -> Created<ExternalInterview> {
        if let Some(external_id) = &input.external_id
            && rule.mode != IdempotencyMode::Off
            && let Some((id, stored_at)) = self.interview_keys.get(external_id)
            && origin.now < *stored_at + rule.window
            && let Some(stored) = self.interview(id)
        {
            return match rule.mode {
                IdempotencyMode::Reject { code } => Created::Rejected {
                    code,
                    external_id: external_id.clone(),
                },
                // `ReturnStored`; `Off` never looks for a repeat.
                _ => Created::Stored(stored.interview.clone()),
            };
        }

        let id = new_id();
        let interview = build_interview(id.clone(), input, &[], new_id);
        if let Some(external_id) = &interview.external_id {
            self.interview_keys
                .insert(external_id.clone(), (id.clone(), origin.now));
        }
        self.attach_assessments(&interview);
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.sequence_by_id.insert(id, sequence);
        self.interviews.insert(
            sequence,
            StoredInterview {
                interview: interview.clone(),
                app_id: origin.app_id.to_owned(),
                stored_at_unix_ms: unix_millis(origin.now),
                log_id: origin.log_id.to_owned(),
            },
        );
        Created::New(interview)
    }

    /// Replaces an interview with `input`, keeping its id and place; `None` if there is none
    /// with that id. Its assessments become those of `input`: one whose `external_id` matches
    /// a stored assessment keeps that assessment's id, the others get new ids.
    pub(crate) fn update_interview(
        &mut self,
        id: &str,
        input: InterviewInput,
        new_id: &mut dyn FnMut() -> String,
    ) -> Option<ExternalInterview> {
        let old = self.interview(id)?.interview.clone();
        let interview = build_interview(id.to_owned(), input, &old.interview_assessments, new_id);
        self.detach_assessments(&old);
        self.attach_assessments(&interview);
        let stored = self.interview_mut(id)?;
        stored.interview = interview.clone();
        Some(interview)
    }

    /// Deletes an interview and its assessments; `false` if there is none with that id.
    pub(crate) fn delete_interview(&mut self, id: &str) -> bool {
        let Some(sequence) = self.sequence_by_id.remove(id) else {
            return false;
        };
        if let Some(stored) = self.interviews.remove(&sequence) {
            self.detach_assessments(&stored.interview);
        }
        true
    }

    /// Up to `limit` interviews that match `filter`, in creation order, after the one with
    /// sequence `after`.
    pub(crate) fn query(
        &self,
        filter: &QueryFilter,
        after: Option<u64>,
        limit: usize,
    ) -> QueryPage {
        let start = after.map_or(0, |after| after.saturating_add(1));
        let mut matching = self
            .interviews
            .range(start..)
            .filter(|(_, stored)| matches(filter, &stored.interview));
        let mut items = Vec::new();
        let mut last = None;
        for (sequence, stored) in matching.by_ref().take(limit) {
            items.push(stored.interview.clone());
            last = Some(*sequence);
        }
        let has_more = matching.next().is_some();
        QueryPage {
            items,
            last,
            has_more,
        }
    }

    /// Attaches a new assessment to its interview, unless its `external_id` was used inside
    /// the window; `None` if the interview does not exist.
    pub(crate) fn create_assessment(
        &mut self,
        request: CreateExternalInterviewAssessmentRequest,
        rule: KeyRule,
        now: SystemTime,
        new_id: &mut dyn FnMut() -> String,
    ) -> Option<Created<ExternalInterviewAssessment>> {
        let interview_id = request.external_interview_id.clone();
        self.interview(&interview_id)?;
        if let Some(external_id) = &request.external_id
            && rule.mode != IdempotencyMode::Off
            && let Some((id, stored_at)) = self.assessment_keys.get(external_id)
            && now < *stored_at + rule.window
            && let Some(stored) = self.assessment(id)
        {
            return Some(match rule.mode {
                IdempotencyMode::Reject { code } => Created::Rejected {
                    code,
                    external_id: external_id.clone(),
                },
                _ => Created::Stored(stored),
            });
        }

        // The generated types are non-exhaustive: set the fields one by one.
        let mut input = ExternalInterviewAssessmentInput::new()
            .assessment_dimension_list(request.assessment_dimension_list);
        input.external_id = request.external_id;
        input.username = request.username;
        input.conclusion = request.conclusion;
        input.content = request.content;
        let assessment = build_assessment(new_id(), input);
        let id = assessment.id.clone().unwrap_or_default();
        if let Some(external_id) = &assessment.external_id {
            self.assessment_keys
                .insert(external_id.clone(), (id.clone(), now));
        }
        self.interview_of_assessment
            .insert(id, interview_id.clone());
        let stored = self.interview_mut(&interview_id)?;
        stored
            .interview
            .interview_assessments
            .push(assessment.clone());
        Some(Created::New(standalone(assessment, &interview_id)))
    }

    /// Changes the fields of an assessment that `patch` carries; `None` if there is none with
    /// that id.
    pub(crate) fn patch_assessment(
        &mut self,
        id: &str,
        patch: AssessmentPatch,
    ) -> Option<ExternalInterviewAssessment> {
        let interview_id = self.interview_of_assessment.get(id)?.clone();
        let stored = self.interview_mut(&interview_id)?;
        let assessment = stored
            .interview
            .interview_assessments
            .iter_mut()
            .find(|assessment| assessment.id.as_deref() == Some(id))?;
        if let Some(username) = patch.username {
            assessment.username = Some(username);
        }
        if let Some(conclusion) = patch.conclusion {
            assessment.conclusion = Some(conclusion);
        }
        if let Some(content) = patch.content {
            assessment.content = Some(content);
        }
        if let Some(dimensions) = patch.assessment_dimension_list {
            assessment.assessment_dimension_list =
                dimensions.into_iter().map(stored_dimension).collect();
        }
        Some(standalone(assessment.clone(), &interview_id))
    }

    /// An assessment as its own endpoints answer it, with the interview it belongs to.
    fn assessment(&self, id: &str) -> Option<ExternalInterviewAssessment> {
        let interview_id = self.interview_of_assessment.get(id)?;
        let stored = self.interview(interview_id)?;
        stored
            .interview
            .interview_assessments
            .iter()
            .find(|assessment| assessment.id.as_deref() == Some(id))
            .map(|assessment| standalone(assessment.clone(), interview_id))
    }

    fn attach_assessments(&mut self, interview: &ExternalInterview) {
        let Some(interview_id) = &interview.id else {
            return;
        };
        for id in interview
            .interview_assessments
            .iter()
            .filter_map(|assessment| assessment.id.clone())
        {
            self.interview_of_assessment
                .insert(id, interview_id.clone());
        }
    }

    fn detach_assessments(&mut self, interview: &ExternalInterview) {
        for id in interview
            .interview_assessments
            .iter()
            .filter_map(|assessment| assessment.id.as_ref())
        {
            self.interview_of_assessment.remove(id);
        }
    }
}

fn matches(filter: &QueryFilter, interview: &ExternalInterview) -> bool {
    let application_matches = filter
        .external_application_id
        .as_ref()
        .is_none_or(|wanted| interview.external_application_id.as_ref() == Some(wanted));
    let id_matches = filter.ids.is_empty()
        || interview
            .id
            .as_ref()
            .is_some_and(|id| filter.ids.binary_search(id).is_ok());
    application_matches && id_matches
}

/// The stored form of an interview: every field sent, the id, and an id for each assessment
/// (kept from `previous` when the `external_id` matches, so an update keeps known ones).
fn build_interview(
    id: String,
    input: InterviewInput,
    previous: &[ExternalInterviewAssessment],
    new_id: &mut dyn FnMut() -> String,
) -> ExternalInterview {
    let assessments = input
        .interview_assessments
        .into_iter()
        .map(|assessment| {
            let kept = assessment.external_id.as_ref().and_then(|key| {
                previous
                    .iter()
                    .find(|old| old.external_id.as_ref() == Some(key))
                    .and_then(|old| old.id.clone())
            });
            build_assessment(kept.unwrap_or_else(&mut *new_id), assessment)
        })
        .collect::<Vec<_>>();
    let mut interview = ExternalInterview::new()
        .id(id)
        .external_application_id(input.external_application_id)
        .interview_assessments(assessments);
    interview.external_id = input.external_id;
    interview.participate_status = input.participate_status;
    interview.begin_time = input.begin_time;
    interview.end_time = input.end_time;
    interview
}

/// An assessment as stored inside its interview. A nested assessment's own
/// `external_interview_id` is not kept: where it is nested decides its interview.
fn build_assessment(
    id: String,
    input: ExternalInterviewAssessmentInput,
) -> ExternalInterviewAssessment {
    let mut assessment = ExternalInterviewAssessment::new()
        .id(id)
        .assessment_dimension_list(
            input
                .assessment_dimension_list
                .into_iter()
                .map(stored_dimension),
        );
    assessment.external_id = input.external_id;
    assessment.username = input.username;
    assessment.conclusion = input.conclusion;
    assessment.content = input.content;
    assessment
}

/// An assessment as the assessment endpoints answer it: with its interview's id.
fn standalone(
    assessment: ExternalInterviewAssessment,
    interview_id: &str,
) -> ExternalInterviewAssessment {
    assessment.external_interview_id(interview_id)
}

fn stored_dimension(input: AssessmentDimensionInput) -> AssessmentDimension {
    let mut dimension = AssessmentDimension::new().options(input.options);
    dimension.score = input.score;
    dimension.option = input.option;
    dimension.content = input.content;
    dimension.assessment_type = input.assessment_type;
    dimension.title = input.title;
    dimension.description = input.description;
    dimension
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> impl FnMut() -> String {
        let mut next = 0;
        move || {
            next += 1;
            format!("id-{next}")
        }
    }

    fn input(application: &str, external_id: Option<&str>) -> InterviewInput {
        InterviewInput {
            external_id: external_id.map(str::to_owned),
            external_application_id: application.to_owned(),
            participate_status: None,
            begin_time: None,
            end_time: None,
            interview_assessments: Vec::new(),
        }
    }

    const RULE: KeyRule = KeyRule {
        mode: IdempotencyMode::ReturnStored,
        window: Duration::from_secs(3600),
    };

    fn origin(now: SystemTime) -> Origin<'static> {
        Origin {
            app_id: "cli_test",
            log_id: "log",
            now,
        }
    }

    fn created_id(created: Created<ExternalInterview>) -> String {
        match created {
            Created::New(interview) => interview.id.unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pages_stay_stable_when_earlier_items_are_deleted() {
        let mut store = Store::default();
        let mut new_id = ids();
        let now = SystemTime::UNIX_EPOCH;
        let created: Vec<String> = (0..5)
            .map(|_| {
                created_id(store.create_interview(
                    input("app", None),
                    RULE,
                    origin(now),
                    &mut new_id,
                ))
            })
            .collect();
        let filter = QueryFilter {
            external_application_id: Some("app".into()),
            ids: Vec::new(),
        };
        let first = store.query(&filter, None, 2);
        assert!(first.has_more);
        assert!(store.delete_interview(&created[0]));
        let second = store.query(&filter, first.last, 2);
        let third = store.query(&filter, second.last, 2);
        let seen: Vec<_> = [first, second, third.clone()]
            .iter()
            .flat_map(|page| page.items.iter().map(|i| i.id.clone().unwrap()))
            .collect();
        assert_eq!(seen, created);
        assert!(!third.has_more);
        assert!(
            !store.delete_interview(&created[0]),
            "a second delete finds nothing"
        );
    }

    #[test]
    fn a_deleted_interview_no_longer_answers_a_repeated_external_id() {
        let mut store = Store::default();
        let mut new_id = ids();
        let now = SystemTime::UNIX_EPOCH;
        let first = created_id(store.create_interview(
            input("app", Some("k")),
            RULE,
            origin(now),
            &mut new_id,
        ));
        assert!(matches!(
            store.create_interview(input("app", Some("k")), RULE, origin(now), &mut new_id),
            Created::Stored(_)
        ));
        store.delete_interview(&first);
        let second = created_id(store.create_interview(
            input("app", Some("k")),
            RULE,
            origin(now),
            &mut new_id,
        ));
        assert_ne!(first, second);
    }

    #[test]
    fn an_update_keeps_assessment_ids_by_external_id_and_drops_the_others() {
        let mut store = Store::default();
        let mut new_id = ids();
        let mut with_assessments = input("app", None);
        with_assessments.interview_assessments = vec![
            ExternalInterviewAssessmentInput::new().external_id("a"),
            ExternalInterviewAssessmentInput::new().username("no key"),
        ];
        let interview = match store.create_interview(
            with_assessments,
            RULE,
            origin(SystemTime::UNIX_EPOCH),
            &mut new_id,
        ) {
            Created::New(interview) => interview,
            other => panic!("{other:?}"),
        };
        let id = interview.id.clone().unwrap();
        let kept = interview.interview_assessments[0].id.clone().unwrap();
        let dropped = interview.interview_assessments[1].id.clone().unwrap();

        let mut replacement = input("app2", None);
        replacement.interview_assessments = vec![
            ExternalInterviewAssessmentInput::new()
                .external_id("a")
                .username("new"),
        ];
        let updated = store
            .update_interview(&id, replacement, &mut new_id)
            .unwrap();
        assert_eq!(updated.id.as_deref(), Some(id.as_str()));
        assert_eq!(updated.interview_assessments.len(), 1);
        assert_eq!(
            updated.interview_assessments[0].id.as_deref(),
            Some(kept.as_str())
        );
        assert!(
            store
                .patch_assessment(&dropped, AssessmentPatch::default())
                .is_none()
        );
        let patched = store
            .patch_assessment(
                &kept,
                AssessmentPatch {
                    content: Some("notes".into()),
                    ..AssessmentPatch::default()
                },
            )
            .unwrap();
        assert_eq!(patched.username.as_deref(), Some("new"));
        assert_eq!(patched.content.as_deref(), Some("notes"));
        assert_eq!(patched.external_interview_id.as_deref(), Some(id.as_str()));
        assert!(
            store
                .update_interview("nope", input("app", None), &mut new_id)
                .is_none()
        );
    }
}
