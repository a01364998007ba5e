//! How a sandbox behaves: credentials, token lifetime, the answer to a repeated `external_id`,
//! the rate limits, injected faults, the body size limit and the connection timeouts.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use feishu_hire_types::CREATE_EXTERNAL_INTERVIEW;
use feishu_hire_types::wire::Redacted;

use crate::clock::{Clock, SystemClock};

/// The create endpoint's documented rate limit, in requests per second per app
/// (from the spec: 10); `None` if the spec gave none.
pub const SPEC_RATE_LIMIT_PER_SECOND: Option<u32> = match CREATE_EXTERNAL_INTERVIEW.rate_limit {
    Some(limit) => Some(limit.requests / limit.per_seconds),
    None => None,
};

/// Lifetime of the tokens the sandbox issues unless configured otherwise: 7200 s, the `expire`
/// Feishu documents.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(7200);

/// Largest request body accepted unless configured otherwise: 1 MiB. Feishu does not document
/// its limit; this one is the sandbox's choice.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long a client may take to send a request's headers unless configured otherwise: 10 s.
/// It also closes a kept-alive connection that stays idle that long.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to send a request's body, counted from the end of its headers,
/// unless configured otherwise: 30 s.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a stopping sandbox lets open connections finish unless configured otherwise: 5 s.
/// Connections still open then are dropped.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The longest read timeout or shutdown grace accepted (24 h): longer is no timeout at all,
/// and far from overflowing the timers' arithmetic.
pub const MAX_CONNECTION_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// How a sandbox behaves. Start from [`SandboxConfig::default`] (what Feishu documents, no
/// faults) and change what a test needs:
///
/// ```
/// use std::time::Duration;
/// use feishu_hire_sandbox::{FaultConfig, IdempotencyMode, SandboxConfig};
///
/// let config = SandboxConfig::default()
///     .credentials("cli_sandbox", "secret")
///     .idempotency(IdempotencyMode::Reject { code: 1002002 })
///     .no_rate_limit()
///     .faults(FaultConfig::seeded(7).server_error_rate(0.1).cut_after_store_rate(0.1));
/// assert!(config.validate().is_ok());
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct SandboxConfig {
    /// The one `(app_id, app_secret)` pair the token endpoint accepts; `None` (the default)
    /// accepts any pair of non-empty strings.
    pub credentials: Option<(String, String)>,
    /// How long an issued token stays valid; answered as `expire` in whole seconds.
    pub token_ttl: Duration,
    /// What a create (of an interview or an assessment) with an `external_id` already used
    /// inside the endpoint's idempotency window gets.
    pub idempotency: IdempotencyMode,
    /// Interview creates allowed per second per app; `None` switches every rate limit off.
    ///
    /// The other endpoints follow their own limits from the specs (20/s for creating an
    /// assessment; none for the endpoints whose spec gives none) while this is `Some`.
    pub rate_limit_per_second: Option<u32>,
    /// Faults injected into requests (every endpoint but the token one).
    pub faults: FaultConfig,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long a client may take to send a request's headers (also the idle time after which
    /// a kept-alive connection is closed); then the connection is closed without an answer.
    pub header_read_timeout: Duration,
    /// How long a client may take to send a request's body once its headers are in; then the
    /// request is answered HTTP 400, code 1002002, and the connection closed.
    pub body_read_timeout: Duration,
    /// How long [`Sandbox::shutdown`](crate::Sandbox::shutdown) waits for open connections
    /// to finish before dropping them.
    pub shutdown_grace: Duration,
    /// The time source; [`SystemClock`] by default, a [`ManualClock`](crate::ManualClock) in tests.
    pub clock: Arc<dyn Clock>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            credentials: None,
            token_ttl: DEFAULT_TOKEN_TTL,
            idempotency: IdempotencyMode::default(),
            rate_limit_per_second: SPEC_RATE_LIMIT_PER_SECOND,
            faults: FaultConfig::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            clock: Arc::new(SystemClock),
        }
    }
}

impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxConfig")
            .field(
                "credentials",
                &self
                    .credentials
                    .as_ref()
                    .map(|(app_id, _)| (app_id, Redacted)),
            )
            .field("token_ttl", &self.token_ttl)
            .field("idempotency", &self.idempotency)
            .field("rate_limit_per_second", &self.rate_limit_per_second)
            .field("faults", &self.faults)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("clock", &self.clock)
            .finish()
    }
}

impl SandboxConfig {
    /// Accepts only this `app_id` / `app_secret` pair at the token endpoint.
    #[must_use]
    pub fn credentials(mut self, app_id: impl Into<String>, app_secret: impl Into<String>) -> Self {
        self.credentials = Some((app_id.into(), app_secret.into()));
        self
    }

    /// Accepts any pair of non-empty strings at the token endpoint (the default).
    #[must_use]
    pub fn any_credentials(mut self) -> Self {
        self.credentials = None;
        self
    }

    /// Sets how long issued tokens stay valid (at least one second).
    #[must_use]
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// Sets the answer to a repeated `external_id`.
    #[must_use]
    pub fn idempotency(mut self, mode: IdempotencyMode) -> Self {
        self.idempotency = mode;
        self
    }

    /// Allows `per_second` interview creates per second per app (at least 1); the other
    /// endpoints keep the limits of their specs.
    #[must_use]
    pub fn rate_limit_per_second(mut self, per_second: u32) -> Self {
        self.rate_limit_per_second = Some(per_second);
        self
    }

    /// Switches every rate limit off.
    #[must_use]
    pub fn no_rate_limit(mut self) -> Self {
        self.rate_limit_per_second = None;
        self
    }

    /// Sets the faults to inject.
    #[must_use]
    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.faults = faults;
        self
    }

    /// Sets the largest request body accepted, in bytes.
    #[must_use]
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// Sets how long a client may take to send a request's headers (more than 0).
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets how long a client may take to send a request's body (more than 0).
    #[must_use]
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Sets how long a shutdown waits for open connections before dropping them (0 drops
    /// them at once).
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Sets the time source.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Checks the settings [`spawn`](crate::spawn) would refuse.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some((app_id, app_secret)) = &self.credentials
            && (app_id.is_empty() || app_secret.is_empty())
        {
            return Err(ConfigError::EmptyCredentials);
        }
        if self.token_ttl < Duration::from_secs(1) {
            return Err(ConfigError::TokenTtlTooShort(self.token_ttl));
        }
        if self.token_ttl > MAX_TOKEN_TTL {
            return Err(ConfigError::TokenTtlTooLong(self.token_ttl));
        }
        if self.rate_limit_per_second == Some(0) {
            return Err(ConfigError::ZeroRateLimit);
        }
        for (name, value, zero_allowed) in [
            ("header_read_timeout", self.header_read_timeout, false),
            ("body_read_timeout", self.body_read_timeout, false),
            ("shutdown_grace", self.shutdown_grace, true),
        ] {
            if (value.is_zero() && !zero_allowed) || value > MAX_CONNECTION_TIMEOUT {
                return Err(ConfigError::Timeout { name, value });
            }
        }
        self.faults.validate()
    }
}

/// The longest token lifetime the sandbox accepts (10 years): enough for any test, and far from
/// overflowing the clock's arithmetic.
pub const MAX_TOKEN_TTL: Duration = Duration::from_secs(10 * 366 * 24 * 3600);

/// What the create endpoints (interview and assessment) answer to an `external_id` already used
/// inside the idempotency window (24 h, from the specs).
///
/// Feishu documents that the same `external_id` creates at most one interview within 24 h,
/// but not what it answers to the repeat; the assessment endpoint follows the same rule. Each plausible answer has a mode, so a client can be
/// tested against both; [`Off`](IdempotencyMode::Off) stores every attempt, so a test can count
/// how often a client sent the same record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IdempotencyMode {
    /// Answer `code: 0` with the record stored first (same ids); store nothing new.
    #[default]
    ReturnStored,
    /// Answer HTTP 400 with this `code` and a `msg` saying the `external_id` already exists;
    /// store nothing new.
    Reject {
        /// The error code to answer with. Feishu's real code is not documented.
        code: i64,
    },
    /// No idempotency: store every create, even with a repeated `external_id`.
    Off,
}

impl IdempotencyMode {
    /// The code [`IdempotencyMode::reject`] answers with: 1002002 ("invalid parameter"), the
    /// endpoint's documented code for a request it refuses. Whether Feishu uses it for a
    /// repeated `external_id` is not documented; it is the sandbox's choice.
    pub const DEFAULT_REJECT_CODE: i64 = 1002002;

    /// [`IdempotencyMode::Reject`] with [`DEFAULT_REJECT_CODE`](Self::DEFAULT_REJECT_CODE).
    pub const fn reject() -> Self {
        Self::Reject {
            code: Self::DEFAULT_REJECT_CODE,
        }
    }
}

/// Faults injected into requests, drawn from a random sequence seeded with `seed`.
///
/// Each request (to any endpoint but the token one) that passes the token check and the rate
/// limit draws one number; the rates
/// split `[0, 1)` in the order server error, rate limit, delay, cut, and the rest is "no
/// fault". The same seed and the same order of requests give the same faults. The rates must
/// each be in `[0, 1]` and add up to at most 1.
///
/// - **server error**: HTTP 500, code 1002001; nothing is stored.
/// - **rate limit**: HTTP 429, code 99991400 with the rate-limit headers; nothing is stored.
/// - **delay**: the request waits [`delay`](Self::delay), then is handled normally; a client
///   that times out first never sees the answer, but the record is stored all the same.
/// - **cut after store**: the request is handled normally and, if it would be answered with
///   `code: 0`, the connection is closed instead of answering: the record is stored (updated,
///   deleted) but the client never learns it. This is the case that makes blind retries
///   create duplicates.
///
/// Answers to injected faults carry the header `x-sandbox-fault` (`server_error`,
/// `rate_limit` or `delay`), so a test can tell them from real ones.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FaultConfig {
    /// Seed of the random sequence.
    pub seed: u64,
    /// Share of requests answered with HTTP 500, code 1002001.
    pub server_error_rate: f64,
    /// Share of requests answered with HTTP 429, code 99991400.
    pub rate_limit_rate: f64,
    /// Share of requests delayed by [`delay`](Self::delay).
    pub delay_rate: f64,
    /// How long a delayed request waits.
    pub delay: Duration,
    /// Share of requests whose connection is cut after they took effect.
    pub cut_after_store_rate: f64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self::none()
    }
}

impl FaultConfig {
    /// How long a delayed request waits unless configured otherwise.
    pub const DEFAULT_DELAY: Duration = Duration::from_secs(1);

    /// No faults (seed 0).
    pub const fn none() -> Self {
        Self::seeded(0)
    }

    /// No faults yet, drawn from `seed` once rates are set.
    pub const fn seeded(seed: u64) -> Self {
        Self {
            seed,
            server_error_rate: 0.0,
            rate_limit_rate: 0.0,
            delay_rate: 0.0,
            delay: Self::DEFAULT_DELAY,
            cut_after_store_rate: 0.0,
        }
    }

    /// Sets the seed.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the share of requests answered with HTTP 500.
    #[must_use]
    pub fn server_error_rate(mut self, rate: f64) -> Self {
        self.server_error_rate = rate;
        self
    }

    /// Sets the share of requests answered with HTTP 429.
    #[must_use]
    pub fn rate_limit_rate(mut self, rate: f64) -> Self {
        self.rate_limit_rate = rate;
        self
    }

    /// Sets the share of requests delayed.
    #[must_use]
    pub fn delay_rate(mut self, rate: f64) -> Self {
        self.delay_rate = rate;
        self
    }

    /// Sets how long a delayed create waits.
    #[must_use]
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Sets the share of requests whose connection is cut after they took effect.
    #[must_use]
    pub fn cut_after_store_rate(mut self, rate: f64) -> Self {
        self.cut_after_store_rate = rate;
        self
    }

    /// Whether any fault has a non-zero rate.
    pub fn is_active(&self) -> bool {
        self.rates().iter().any(|(_, rate)| *rate > 0.0)
    }

    /// The rates with their field names, in the order they split `[0, 1)`.
    pub(crate) fn rates(&self) -> [(&'static str, f64); 4] {
        [
            ("server_error_rate", self.server_error_rate),
            ("rate_limit_rate", self.rate_limit_rate),
            ("delay_rate", self.delay_rate),
            ("cut_after_store_rate", self.cut_after_store_rate),
        ]
    }

    /// Checks that every rate is in `[0, 1]` and that they add up to at most 1.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, rate) in self.rates() {
            if !(0.0..=1.0).contains(&rate) {
                return Err(ConfigError::FaultRate { name, rate });
            }
        }
        let total: f64 = self.rates().iter().map(|(_, rate)| rate).sum();
        // A little slack, so that e.g. 0.1 + 0.2 + 0.7 is not refused for rounding.
        if total > 1.0 + 1e-9 {
            return Err(ConfigError::FaultRatesAboveOne { total });
        }
        Ok(())
    }
}

/// A setting [`spawn`](crate::spawn) refuses.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configured `app_id` or `app_secret` is empty.
    #[error("the configured app_id and app_secret must not be empty")]
    EmptyCredentials,
    /// The token lifetime is under a second; `expire` is answered in whole seconds.
    #[error("token_ttl is {0:?}; it must be at least 1 s, since `expire` is in whole seconds")]
    TokenTtlTooShort(Duration),
    /// The token lifetime is over [`MAX_TOKEN_TTL`]; expiry times would overflow.
    #[error("token_ttl is {0:?}; it must be at most 10 years")]
    TokenTtlTooLong(Duration),
    /// A rate limit of 0 requests per second.
    #[error(
        "rate_limit_per_second is 0; switch the limit off instead (no_rate_limit, --no-rate-limit)"
    )]
    ZeroRateLimit,
    /// A read timeout of 0, or a read timeout or shutdown grace over
    /// [`MAX_CONNECTION_TIMEOUT`].
    #[error("{name} is {value:?}; it must be at most 24 h, and a read timeout more than 0")]
    Timeout {
        /// The field, e.g. `header_read_timeout`.
        name: &'static str,
        /// The duration given.
        value: Duration,
    },
    /// A fault rate outside `[0, 1]`.
    #[error("fault rate {name} is {rate}; it must be between 0 and 1")]
    FaultRate {
        /// The field, e.g. `server_error_rate`.
        name: &'static str,
        /// The rate given.
        rate: f64,
    },
    /// The fault rates add up to more than 1.
    #[error("the fault rates add up to {total}; they must add up to at most 1")]
    FaultRatesAboveOne {
        /// Their sum.
        total: f64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_spec() {
        let config = SandboxConfig::default();
        assert_eq!(config.rate_limit_per_second, Some(10));
        assert_eq!(config.token_ttl, Duration::from_secs(7200));
        assert_eq!(config.idempotency, IdempotencyMode::ReturnStored);
        assert!(!config.faults.is_active());
        assert_eq!(config.header_read_timeout, Duration::from_secs(10));
        assert_eq!(config.body_read_timeout, Duration::from_secs(30));
        assert_eq!(config.shutdown_grace, Duration::from_secs(5));
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn debug_hides_the_app_secret() {
        let config = SandboxConfig::default().credentials("cli_a", "very-secret");
        let debug = format!("{config:?}");
        assert!(debug.contains("cli_a"));
        assert!(!debug.contains("very-secret"));
    }

    #[test]
    fn bad_settings_are_refused_with_a_reason() {
        let refused = |config: SandboxConfig| config.validate().unwrap_err().to_string();
        assert_eq!(
            refused(SandboxConfig::default().credentials("", "secret")),
            "the configured app_id and app_secret must not be empty"
        );
        assert!(
            refused(SandboxConfig::default().token_ttl(Duration::from_secs(u64::MAX)))
                .contains("at most 10 years")
        );
        assert!(
            refused(SandboxConfig::default().token_ttl(Duration::from_millis(10)))
                .contains("at least 1 s")
        );
        assert!(
            refused(SandboxConfig::default().rate_limit_per_second(0)).contains("no_rate_limit")
        );
        assert_eq!(
            refused(SandboxConfig::default().header_read_timeout(Duration::ZERO)),
            "header_read_timeout is 0ns; it must be at most 24 h, and a read timeout more than 0"
        );
        assert!(
            refused(SandboxConfig::default().body_read_timeout(Duration::MAX))
                .starts_with("body_read_timeout is")
        );
        assert!(
            refused(SandboxConfig::default().shutdown_grace(Duration::from_secs(86_401)))
                .starts_with("shutdown_grace is")
        );
        assert!(
            SandboxConfig::default()
                .shutdown_grace(Duration::ZERO)
                .validate()
                .is_ok()
        );
        assert_eq!(
            refused(SandboxConfig::default().faults(FaultConfig::seeded(1).delay_rate(1.5))),
            "fault rate delay_rate is 1.5; it must be between 0 and 1"
        );
        assert_eq!(
            refused(
                SandboxConfig::default().faults(
                    FaultConfig::seeded(1)
                        .server_error_rate(0.6)
                        .rate_limit_rate(0.6)
                )
            ),
            "the fault rates add up to 1.2; they must add up to at most 1"
        );
        assert!(
            FaultConfig::seeded(1)
                .server_error_rate(0.1)
                .rate_limit_rate(0.2)
                .cut_after_store_rate(0.7)
                .validate()
                .is_ok()
        );
    }
}
