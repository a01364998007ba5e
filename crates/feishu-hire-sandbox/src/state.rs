//! Everything a running sandbox remembers: issued tokens, the store of interviews and
//! assessments, and the counters; the compiled schemas and rate limiters of the endpoints; and
//! the decisions made on them (is this token valid, is this a repeat inside the window).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use feishu_hire_types::{
    CREATE_EXTERNAL_INTERVIEW, CREATE_EXTERNAL_INTERVIEW_ASSESSMENT,
    CreateExternalInterviewAssessmentRequest, ENDPOINTS, Endpoint, ExternalInterview,
    ExternalInterviewAssessment, TENANT_ACCESS_TOKEN_INTERNAL, TenantAccessTokenRequest, schemas,
};
use rand::Rng;

use crate::clock::unix_millis;
use crate::config::SandboxConfig;
use crate::faults::FaultInjector;
use crate::paging::PageTokens;
use crate::rate_limit::AppRateLimiter;
use crate::stats::{Stats, StoredInterview};
use crate::store::{
    AssessmentPatch, Created, InterviewInput, KeyRule, Origin, QueryFilter, QueryPage, Store,
};
use crate::validate::BodyValidator;

/// Locks a mutex, taking the data even if another thread panicked while holding it: every
/// update here is a single assignment or push, so the data is never half-written.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The state shared by every request of one sandbox.
pub(crate) struct Shared {
    pub(crate) config: SandboxConfig,
    pub(crate) token_validator: BodyValidator,
    /// The request-body schema of every endpoint with a body, by endpoint name.
    body_validators: HashMap<&'static str, BodyValidator>,
    /// The rate limiter of every endpoint with a limit, by endpoint name.
    rate_limiters: HashMap<&'static str, AppRateLimiter>,
    pub(crate) faults: FaultInjector,
    pub(crate) page_tokens: PageTokens,
    id_sequence: AtomicU64,
    memory: Mutex<Memory>,
}

#[derive(Default)]
struct Memory {
    tokens: HashMap<String, IssuedToken>,
    store: Store,
    stats: Stats,
}

struct IssuedToken {
    app_id: String,
    expires_at: SystemTime,
}

/// Why a request's token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    /// No `Authorization: Bearer <token>` header.
    Missing,
    /// A token the sandbox did not issue, or one that expired.
    Invalid,
}

impl Shared {
    pub(crate) fn new(config: SandboxConfig) -> Result<Self, String> {
        let mut body_validators = HashMap::new();
        for (name, request_schema, _) in schemas::ALL {
            if let Some(schema) = request_schema {
                body_validators.insert(*name, BodyValidator::new(schema)?);
            }
        }
        let rate_limiters = ENDPOINTS
            .iter()
            .filter_map(|endpoint| {
                let (requests, window) = rate_limit_of(&config, endpoint)?;
                let limiter = AppRateLimiter::new(requests, window, config.clock.clone());
                Some((endpoint.name, limiter))
            })
            .collect();
        Ok(Self {
            token_validator: BodyValidator::new(schemas::TENANT_ACCESS_TOKEN_INTERNAL_REQUEST)?,
            body_validators,
            rate_limiters,
            faults: FaultInjector::new(config.faults.clone()),
            page_tokens: PageTokens::default(),
            id_sequence: AtomicU64::new(0),
            memory: Mutex::new(Memory::default()),
            config,
        })
    }

    /// The compiled request-body schema of an endpoint, if it has a body.
    pub(crate) fn body_validator(&self, endpoint: &Endpoint) -> Option<&BodyValidator> {
        self.body_validators.get(endpoint.name)
    }

    /// The rate limiter of an endpoint, if it has a limit and limits are on.
    pub(crate) fn rate_limiter(&self, endpoint: &Endpoint) -> Option<&AppRateLimiter> {
        self.rate_limiters.get(endpoint.name)
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
        lock(&self.memory).store.records()
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

    /// Counts a request to `endpoint`, and a create of an interview by the `external_id` of
    /// its body if it has one.
    pub(crate) fn count_request(&self, endpoint: &Endpoint, external_id: Option<&str>) {
        let mut memory = lock(&self.memory);
        *memory
            .stats
            .requests_by_endpoint
            .entry(endpoint.name.to_owned())
            .or_default() += 1;
        if endpoint.name != CREATE_EXTERNAL_INTERVIEW.name {
            return;
        }
        memory.stats.create_attempts += 1;
        if let Some(external_id) = external_id {
            *memory
                .stats
                .attempts_by_external_id
                .entry(external_id.to_owned())
                .or_default() += 1;
        }
    }

    /// Counts a request to `endpoint` answered `code: 0`.
    pub(crate) fn count_success(&self, endpoint: &Endpoint) {
        *lock(&self.memory)
            .stats
            .succeeded_by_endpoint
            .entry(endpoint.name.to_owned())
            .or_default() += 1;
    }

    /// Stores a valid create, applying the idempotency rule of the configuration.
    pub(crate) fn create_interview(
        &self,
        input: InterviewInput,
        app_id: &str,
        log_id: &str,
    ) -> Created<ExternalInterview> {
        let rule = KeyRule {
            mode: self.config.idempotency,
            window: CREATE_EXTERNAL_INTERVIEW
                .idempotency
                .key_window()
                .unwrap_or_default(),
        };
        let origin = Origin {
            app_id,
            log_id,
            now: self.now(),
        };
        let mut memory = lock(&self.memory);
        let created = memory
            .store
            .create_interview(input, rule, origin, &mut || self.new_id());
        let stats = &mut memory.stats;
        match &created {
            Created::New(interview) => {
                stats.created += 1;
                if let Some(external_id) = &interview.external_id {
                    *stats
                        .stored_by_external_id
                        .entry(external_id.clone())
                        .or_default() += 1;
                }
            }
            Created::Stored(_) => stats.returned_stored += 1,
            Created::Rejected { .. } => stats.rejected_duplicates += 1,
        }
        created
    }

    /// Replaces an interview; `None` if there is none with that id.
    pub(crate) fn update_interview(
        &self,
        id: &str,
        input: InterviewInput,
    ) -> Option<ExternalInterview> {
        lock(&self.memory)
            .store
            .update_interview(id, input, &mut || self.new_id())
    }

    /// Deletes an interview and its assessments; `false` if there is none with that id.
    pub(crate) fn delete_interview(&self, id: &str) -> bool {
        lock(&self.memory).store.delete_interview(id)
    }

    /// One page of the interviews that match `filter`.
    pub(crate) fn query(
        &self,
        filter: &QueryFilter,
        after: Option<u64>,
        limit: usize,
    ) -> QueryPage {
        lock(&self.memory).store.query(filter, after, limit)
    }

    /// Attaches a valid assessment to its interview, applying the idempotency rule of the
    /// configuration; `None` if the interview does not exist.
    pub(crate) fn create_assessment(
        &self,
        request: CreateExternalInterviewAssessmentRequest,
    ) -> Option<Created<ExternalInterviewAssessment>> {
        let rule = KeyRule {
            mode: self.config.idempotency,
            window: CREATE_EXTERNAL_INTERVIEW_ASSESSMENT
                .idempotency
                .key_window()
                .unwrap_or_default(),
        };
        let now = self.now();
        let mut memory = lock(&self.memory);
        let created = memory
            .store
            .create_assessment(request, rule, now, &mut || self.new_id())?;
        match &created {
            Created::New(_) => {}
            Created::Stored(_) => memory.stats.returned_stored += 1,
            Created::Rejected { .. } => memory.stats.rejected_duplicates += 1,
        }
        Some(created)
    }

    /// Changes the fields of an assessment that `patch` carries; `None` if there is none with
    /// that id.
    pub(crate) fn patch_assessment(
        &self,
        id: &str,
        patch: AssessmentPatch,
    ) -> Option<ExternalInterviewAssessment> {
        lock(&self.memory).store.patch_assessment(id, patch)
    }
}

/// The rate limit of `endpoint` as the sandbox applies it: none when limits are off
/// (`rate_limit_per_second` is `None`), the configured one for creating interviews (the
/// flag's meaning since the sandbox served only that endpoint), otherwise the spec's.
fn rate_limit_of(
    config: &SandboxConfig,
    endpoint: &Endpoint,
) -> Option<(NonZeroU32, std::time::Duration)> {
    let configured = config.rate_limit_per_second?;
    if endpoint.name == TENANT_ACCESS_TOKEN_INTERNAL.name {
        // The token endpoint is never limited, as before: the importer depends on it.
        return None;
    }
    let (requests, window) = if endpoint.name == CREATE_EXTERNAL_INTERVIEW.name {
        (configured, std::time::Duration::from_secs(1))
    } else {
        let limit = endpoint.rate_limit?;
        (limit.requests, limit.window())
    };
    Some((NonZeroU32::new(requests)?, window))
}
