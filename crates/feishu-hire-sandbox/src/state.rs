//! Everything a running sandbox remembers: issued tokens, stored interviews, the latest record
//! per `external_id` and the counters; and the decisions made on them (is this token valid, is
//! this a repeat inside the window).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use feishu_hire_types::{
    AssessmentDimension, AssessmentDimensionInput, CREATE_EXTERNAL_INTERVIEW,
    CreateExternalInterviewRequest, ExternalInterview, ExternalInterviewAssessment,
    ExternalInterviewAssessmentInput, TenantAccessTokenRequest, schemas,
};
use rand::Rng;

use crate::clock::unix_millis;
use crate::config::{IdempotencyMode, SandboxConfig};
use crate::faults::FaultInjector;
use crate::rate_limit::AppRateLimiter;
use crate::stats::{Stats, StoredInterview};
use crate::validate::BodyValidator;

/// Locks a mutex, taking the data even if another thread panicked while holding it: every
/// update here is a single assignment or push, so the data is never half-written.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The state shared by every request of one sandbox.
pub(crate) struct Shared {
    pub(crate) config: SandboxConfig,
    pub(crate) create_validator: BodyValidator<CreateExternalInterviewRequest>,
    pub(crate) token_validator: BodyValidator<TenantAccessTokenRequest>,
    pub(crate) rate_limiter: Option<AppRateLimiter>,
    pub(crate) faults: FaultInjector,
    id_sequence: AtomicU64,
    memory: Mutex<Memory>,
}

#[derive(Default)]
struct Memory {
    tokens: HashMap<String, IssuedToken>,
    records: Vec<StoredInterview>,
    // external_id -> (index into `records`, when it was stored), for the idempotency window.
    latest_by_external_id: HashMap<String, (usize, SystemTime)>,
    stats: Stats,
}

struct IssuedToken {
    app_id: String,
    expires_at: SystemTime,
}

/// Why a create's token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    /// No `Authorization: Bearer <token>` header.
    Missing,
    /// A token the sandbox did not issue, or one that expired.
    Invalid,
}

/// What the store did with a valid create.
#[derive(Debug)]
pub(crate) enum CreateOutcome {
    /// A new record was stored.
    Created(ExternalInterview),
    /// A repeat inside the window; the record stored first.
    ReturnedStored(ExternalInterview),
    /// A repeat inside the window, refused with this code.
    Rejected { code: i64, external_id: String },
}

impl Shared {
    pub(crate) fn new(config: SandboxConfig) -> Result<Self, String> {
        let rate_limiter = config
            .rate_limit_per_second
            .and_then(NonZeroU32::new)
            .map(|per_second| AppRateLimiter::new(per_second, config.clock.clone()));
        Ok(Self {
            create_validator: BodyValidator::new(schemas::CREATE_EXTERNAL_INTERVIEW_REQUEST)?,
            token_validator: BodyValidator::new(schemas::TENANT_ACCESS_TOKEN_INTERNAL_REQUEST)?,
            rate_limiter,
            faults: FaultInjector::new(config.faults.clone()),
            id_sequence: AtomicU64::new(0),
            memory: Mutex::new(Memory::default()),
            config,
        })
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.config.clock.now()
    }

    /// Updates the counters.
    pub(crate) fn count(&self, update: impl FnOnce(&mut Stats)) {
        update(&mut lock(&self.memory).stats);
    }

    pub(crate) fn stats(&self) -> Stats {
        lock(&self.memory).stats.clone()
    }

    pub(crate) fn records(&self) -> Vec<StoredInterview> {
        lock(&self.memory).records.clone()
    }

    /// A log id like Feishu's: a millisecond timestamp, then random hex, so ids sort by time.
    pub(crate) fn new_log_id(&self) -> String {
        let random: u64 = rand::rng().random();
        format!("{:013}{random:016X}", unix_millis(self.now()))
    }

    /// A Feishu-looking id (19 digits): the millisecond timestamp shifted left 22 bits, plus a
    /// sequence number, as snowflake ids are made. Unique within one sandbox; with a
    /// [`ManualClock`](crate::ManualClock) the same from run to run.
    fn new_id(&self) -> String {
        let sequence = self.id_sequence.fetch_add(1, Ordering::Relaxed) & 0x3F_FFFF;
        ((unix_millis(self.now()) << 22) | sequence).to_string()
    }

    /// Whether `app_id` / `app_secret` may have a token.
    pub(crate) fn credentials_match(&self, request: &TenantAccessTokenRequest) -> bool {
        match &self.config.credentials {
            Some((app_id, app_secret)) => {
                request.app_id == *app_id && request.app_secret == *app_secret
            }
            None => true,
        }
    }

    /// Issues a new token for `app_id`; returns it with its lifetime in seconds.
    pub(crate) fn issue_token(&self, app_id: &str) -> (String, i64) {
        let mut rng = rand::rng();
        let token = format!("t-{:032x}{:08x}", rng.random::<u128>(), rng.random::<u32>());
        let now = self.now();
        let mut memory = lock(&self.memory);
        // Forget expired tokens, so a long-running sandbox does not grow without bound.
        memory.tokens.retain(|_, issued| issued.expires_at > now);
        memory.tokens.insert(
            token.clone(),
            IssuedToken {
                app_id: app_id.to_owned(),
                expires_at: now + self.config.token_ttl,
            },
        );
        memory.stats.tokens_issued += 1;
        let ttl_secs = i64::try_from(self.config.token_ttl.as_secs()).unwrap_or(i64::MAX);
        (token, ttl_secs)
    }

    /// The app a token was issued to, if the sandbox issued it and it has not expired.
    pub(crate) fn authenticate(&self, bearer_token: Option<&str>) -> Result<String, TokenProblem> {
        let token = bearer_token.ok_or(TokenProblem::Missing)?;
        let now = self.now();
        let memory = lock(&self.memory);
        match memory.tokens.get(token) {
            Some(issued) if now < issued.expires_at => Ok(issued.app_id.clone()),
            _ => Err(TokenProblem::Invalid),
        }
    }

    /// Counts a create request, by the `external_id` of its body if it has one.
    pub(crate) fn count_attempt(&self, external_id: Option<&str>) {
        let mut memory = lock(&self.memory);
        memory.stats.create_attempts += 1;
        if let Some(external_id) = external_id {
            *memory
                .stats
                .attempts_by_external_id
                .entry(external_id.to_owned())
                .or_default() += 1;
        }
    }

    /// Stores a valid create, applying the idempotency rule of the configuration.
    pub(crate) fn create(
        &self,
        request: CreateExternalInterviewRequest,
        app_id: &str,
        log_id: &str,
    ) -> CreateOutcome {
        let window = CREATE_EXTERNAL_INTERVIEW
            .idempotency
            .map(|rule| rule.window())
            .unwrap_or_default();
        let now = self.now();
        let mut memory = lock(&self.memory);

        // Look for a repeat inside the window, unless the rule is off.
        if let Some(external_id) = &request.external_id
            && self.config.idempotency != IdempotencyMode::Off
            && let Some(&(index, stored_at)) = memory.latest_by_external_id.get(external_id)
            && now < stored_at + window
        {
            return match self.config.idempotency {
                IdempotencyMode::Reject { code } => {
                    memory.stats.rejected_duplicates += 1;
                    CreateOutcome::Rejected {
                        code,
                        external_id: external_id.clone(),
                    }
                }
                // `ReturnStored`; `Off` never looks for a repeat.
                _ => {
                    memory.stats.returned_stored += 1;
                    CreateOutcome::ReturnedStored(memory.records[index].interview.clone())
                }
            };
        }

        let interview = self.assign_ids(request);
        if let Some(external_id) = &interview.external_id {
            let index = memory.records.len();
            memory
                .latest_by_external_id
                .insert(external_id.clone(), (index, now));
            *memory
                .stats
                .stored_by_external_id
                .entry(external_id.clone())
                .or_default() += 1;
        }
        memory.stats.created += 1;
        memory.records.push(StoredInterview {
            interview: interview.clone(),
            app_id: app_id.to_owned(),
            stored_at_unix_ms: unix_millis(now),
            log_id: log_id.to_owned(),
        });
        CreateOutcome::Created(interview)
    }

    /// The request as a stored interview: every field echoed, ids added to the interview and
    /// to each assessment.
    fn assign_ids(&self, request: CreateExternalInterviewRequest) -> ExternalInterview {
        let mut interview = ExternalInterview::new()
            .id(self.new_id())
            .external_application_id(request.external_application_id)
            .interview_assessments(
                request
                    .interview_assessments
                    .into_iter()
                    .map(|assessment| self.stored_assessment(assessment)),
            );
        interview.external_id = request.external_id;
        interview.participate_status = request.participate_status;
        interview.begin_time = request.begin_time;
        interview.end_time = request.end_time;
        interview
    }

    fn stored_assessment(
        &self,
        input: ExternalInterviewAssessmentInput,
    ) -> ExternalInterviewAssessment {
        let mut assessment = ExternalInterviewAssessment::new()
            .id(self.new_id())
            .assessment_dimension_list(
                input
                    .assessment_dimension_list
                    .into_iter()
                    .map(stored_dimension),
            );
        assessment.username = input.username;
        assessment.conclusion = input.conclusion;
        assessment.content = input.content;
        assessment
    }
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
