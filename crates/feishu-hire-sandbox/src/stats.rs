//! What a sandbox reports about itself: the interviews it holds and its counters. Served as
//! JSON at `GET /sandbox/external_interviews` and `GET /sandbox/stats`.

use std::collections::BTreeMap;

use feishu_hire_types::ExternalInterview;
use serde::{Deserialize, Serialize};

/// One stored external interview, as it is now (an update replaces `interview`; a delete
/// removes the record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredInterview {
    /// The interview with the ids the sandbox assigned and its assessments; unlike the create
    /// answer (which follows the documented example), it keeps the `external_id` that was sent.
    pub interview: ExternalInterview,
    /// The app whose token created it.
    pub app_id: String,
    /// When it was stored, Unix time in milliseconds by the sandbox's clock.
    pub stored_at_unix_ms: u64,
    /// The log id of the create that stored it.
    pub log_id: String,
}

/// Counters of a sandbox since it started.
///
/// `attempts_by_external_id` counts every create-interview request whose body carried an
/// `external_id`, whatever the answer (refused token, rate limit, fault, invalid body);
/// `stored_by_external_id` counts interviews stored. A client that never duplicates a record
/// leaves every `stored_by_external_id` value at 1, even when it had to retry.
/// `requests_by_endpoint` and `succeeded_by_endpoint` count every endpoint, by its spec name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    /// Create-interview requests received, whatever the answer.
    pub create_attempts: u64,
    /// Interviews stored by creates.
    pub created: u64,
    /// Create-interview requests per `external_id` of their body, whatever the answer.
    pub attempts_by_external_id: BTreeMap<String, u64>,
    /// Interviews stored per `external_id`.
    pub stored_by_external_id: BTreeMap<String, u64>,
    /// Repeated creates (of interviews or assessments) answered with the stored record
    /// ([`IdempotencyMode::ReturnStored`](crate::IdempotencyMode::ReturnStored)).
    pub returned_stored: u64,
    /// Repeated creates (of interviews or assessments) refused
    /// ([`IdempotencyMode::Reject`](crate::IdempotencyMode::Reject)).
    pub rejected_duplicates: u64,
    /// Requests refused with 1002002 for their body or parameters (JSON, content type, size,
    /// fields, page token), not counting unknown ids.
    pub invalid_requests: u64,
    /// Requests refused for a missing, unknown or expired token.
    pub auth_failures: u64,
    /// Requests refused by a rate limit (not counting injected 429s).
    pub rate_limited: u64,
    /// Tokens issued.
    pub tokens_issued: u64,
    /// Token requests refused.
    pub token_failures: u64,
    /// Injected faults.
    pub faults: FaultCounts,
    /// Requests per endpoint (its name in the specs, e.g. `update_external_interview`),
    /// whatever the answer.
    #[serde(default)]
    pub requests_by_endpoint: BTreeMap<String, u64>,
    /// Requests per endpoint answered `code: 0` (including those whose connection was then
    /// cut on purpose).
    #[serde(default)]
    pub succeeded_by_endpoint: BTreeMap<String, u64>,
}

impl Stats {
    /// The `external_id`s stored more than once, with their counts: duplicates a client made.
    /// Empty unless idempotency is [`Off`](crate::IdempotencyMode::Off) or the window passed.
    pub fn stored_more_than_once(&self) -> BTreeMap<&str, u64> {
        self.stored_by_external_id
            .iter()
            .filter(|(_, count)| **count > 1)
            .map(|(external_id, count)| (external_id.as_str(), *count))
            .collect()
    }
}

/// How many faults of each kind were injected.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FaultCounts {
    /// HTTP 500 answers.
    pub server_errors: u64,
    /// HTTP 429 answers.
    pub rate_limits: u64,
    /// Delayed requests.
    pub delays: u64,
    /// Connections cut after the request took effect.
    pub cuts_after_store: u64,
}
