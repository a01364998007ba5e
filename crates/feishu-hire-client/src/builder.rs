//! Building a [`Client`]: host, credentials, timeouts, retries, pacing.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use feishu_hire_types::{HOST_FEISHU, HOST_LARK};
use reqwest::header::HeaderValue;

use crate::already_exists::AlreadyExistsRule;
use crate::client::{Client, EndpointUrls, Inner};
use crate::rate_limit::{RateLimitSetting, RateLimiters};
use crate::request_id::RequestIds;
use crate::retry::{RetryPolicy, Sleeper, SleeperName, TokioSleeper};
use crate::secret::Secret;
use crate::token::{AppCredentials, Auth, BearerToken};

/// The `User-Agent` of every request.
const USER_AGENT: &str = concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Configures a [`Client`]. Start with [`Client::builder`].
///
/// Defaults: Feishu's host ([`HOST_FEISHU`]), a 30 s timeout per attempt and 10 s to connect,
/// [`RetryPolicy::default`], each endpoint's documented rate limit, [`AlreadyExistsRule::none`].
/// Credentials have no default: set a tenant token or app credentials.
#[derive(Clone)]
pub struct ClientBuilder {
    base_url: String,
    auth: Option<AuthConfig>,
    timeout: Duration,
    connect_timeout: Duration,
    http_client: Option<reqwest::Client>,
    retry: RetryPolicy,
    rate_limit: RequestedRate,
    undocumented_rate: Option<u32>,
    already_exists: AlreadyExistsRule,
    sleeper: Arc<dyn Sleeper>,
}

#[derive(Clone)]
enum AuthConfig {
    TenantToken(Secret),
    App { app_id: String, app_secret: Secret },
}

#[derive(Debug, Clone, Copy)]
enum RequestedRate {
    FromSpec,
    PerSecond(u32),
    Off,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientBuilder {
    /// A builder with the defaults listed above.
    pub fn new() -> Self {
        Self {
            base_url: HOST_FEISHU.to_owned(),
            auth: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            http_client: None,
            retry: RetryPolicy::default(),
            rate_limit: RequestedRate::FromSpec,
            undocumented_rate: None,
            already_exists: AlreadyExistsRule::none(),
            sleeper: Arc::new(TokioSleeper),
        }
    }

    /// Sends requests to this base URL (scheme and host, optionally a path prefix), for
    /// example a local sandbox's `http://127.0.0.1:8080`.
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Sends requests to Feishu, `https://open.feishu.cn` (the default).
    #[must_use]
    pub fn feishu(self) -> Self {
        self.base_url(HOST_FEISHU)
    }

    /// Sends requests to Lark, `https://open.larksuite.com`.
    #[must_use]
    pub fn lark(self) -> Self {
        self.base_url(HOST_LARK)
    }

    /// Authenticates with a `tenant_access_token` you manage. When it expires, calls fail
    /// with an [`Auth`](feishu_hire_types::ErrorCategory::Auth) error. Replaces app credentials.
    #[must_use]
    pub fn tenant_access_token(mut self, token: impl Into<String>) -> Self {
        self.auth = Some(AuthConfig::TenantToken(Secret::new(token)));
        self
    }

    /// Authenticates with a custom app's credentials: the client fetches tenant tokens, caches
    /// them until shortly before they expire, and fetches a new one when Feishu refuses one.
    /// Replaces a tenant token.
    #[must_use]
    pub fn app_credentials(
        mut self,
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
    ) -> Self {
        self.auth = Some(AuthConfig::App {
            app_id: app_id.into(),
            app_secret: Secret::new(app_secret),
        });
        self
    }

    /// The time one attempt may take, from connecting to the last byte of the answer
    /// (default 30 s). Also applies to a client given to [`http_client`](Self::http_client).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time to establish a connection (default 10 s). Ignored with
    /// [`http_client`](Self::http_client): set it on that client.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Uses your `reqwest::Client` (proxies, TLS roots, connection pool) instead of building
    /// one. The client still sets its timeout, `User-Agent` and headers per request.
    #[must_use]
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// How calls are retried (default [`RetryPolicy::default`]).
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Paces every endpoint that has a documented rate limit at `requests` per second instead
    /// of its documented rate. Must be at least 1.
    #[must_use]
    pub fn rate_limit_per_second(mut self, requests: u32) -> Self {
        self.rate_limit = RequestedRate::PerSecond(requests);
        self
    }

    /// Also paces every endpoint whose spec documents no rate limit (update, delete and the
    /// assessment patch, today) at
    /// `requests` per second, each endpoint on its own. By default such endpoints are not
    /// paced: Feishu documents no rate for them, and the client does not invent one; a bulk
    /// job that queries a lot sets one here. [`no_rate_limit`](Self::no_rate_limit) turns it
    /// off too. Must be at least 1.
    #[must_use]
    pub fn undocumented_rate_limit_per_second(mut self, requests: u32) -> Self {
        self.undocumented_rate = Some(requests);
        self
    }

    /// Does not pace requests at all; Feishu's 429 answers are still waited out and retried.
    #[must_use]
    pub fn no_rate_limit(mut self) -> Self {
        self.rate_limit = RequestedRate::Off;
        self
    }

    /// Which answers to a create request mean "this `external_id` already exists" (default:
    /// none). See the crate docs, "Repeated `external_id`".
    #[must_use]
    pub fn already_exists(mut self, rule: AlreadyExistsRule) -> Self {
        self.already_exists = rule;
        self
    }

    /// Waits between attempts with this sleeper (default [`TokioSleeper`](crate::TokioSleeper)).
    #[must_use]
    pub fn sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<Client, BuildError> {
        let base_url = check_base_url(&self.base_url)?;
        let auth = match self.auth {
            None => return Err(BuildError::MissingCredentials),
            Some(AuthConfig::TenantToken(token)) => {
                Auth::Fixed(BearerToken::new(token.expose()).map_err(|reason| {
                    BuildError::InvalidCredentials {
                        what: "tenant_access_token",
                        reason,
                    }
                })?)
            }
            Some(AuthConfig::App { app_id, app_secret }) => {
                for (what, value) in [
                    ("app_id", app_id.as_str()),
                    ("app_secret", app_secret.expose()),
                ] {
                    if value.trim().is_empty() {
                        return Err(BuildError::InvalidCredentials {
                            what,
                            reason: "it is empty".into(),
                        });
                    }
                }
                Auth::App(AppCredentials::new(app_id, app_secret))
            }
        };
        let rate_limit = match self.rate_limit {
            RequestedRate::FromSpec => RateLimitSetting::FromSpec,
            RequestedRate::Off => RateLimitSetting::Off,
            RequestedRate::PerSecond(requests) => NonZeroU32::new(requests)
                .map(RateLimitSetting::PerSecond)
                .ok_or(BuildError::InvalidRateLimit)?,
        };
        // Parsed once: each call's URL is this one with its path and query set.
        let base = reqwest::Url::parse(&base_url).map_err(|error| BuildError::InvalidBaseUrl {
            url: self.base_url.clone(),
            reason: error.to_string(),
        })?;
        let own_http = self.http_client.is_none();
        let undocumented_rate = match self.undocumented_rate {
            None => None,
            Some(requests) => Some(NonZeroU32::new(requests).ok_or(BuildError::InvalidRateLimit)?),
        };
        let http = match self.http_client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .timeout(self.timeout)
                .connect_timeout(self.connect_timeout)
                .user_agent(USER_AGENT)
                .build()
                .map_err(BuildError::Http)?,
        };
        Ok(Client::from_inner(Inner {
            http,
            own_http,
            urls: EndpointUrls::new(base),
            base_url,
            request_ids: RequestIds::new(),
            auth,
            timeout: self.timeout,
            user_agent: HeaderValue::from_static(USER_AGENT),
            retry: self.retry,
            rate_limiters: RateLimiters::new(rate_limit).undocumented(undocumented_rate),
            already_exists: self.already_exists,
            sleeper: self.sleeper,
        }))
    }
}

/// The base URL without a trailing slash, if it is an absolute http(s) URL without query.
fn check_base_url(url: &str) -> Result<String, BuildError> {
    let invalid = |reason: &str| BuildError::InvalidBaseUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let parsed = reqwest::Url::parse(url).map_err(|error| invalid(&error.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("it has no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid("it must not have a query or fragment"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field(
                "http_client",
                &self.http_client.as_ref().map(|_| "<custom>"),
            )
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .field("already_exists", &self.already_exists)
            .field("sleeper", &SleeperName)
            .finish()
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthConfig::TenantToken(token) => {
                f.debug_tuple("TenantAccessToken").field(token).finish()
            }
            AuthConfig::App { app_id, app_secret } => f
                .debug_struct("AppCredentials")
                .field("app_id", app_id)
                .field("app_secret", app_secret)
                .finish(),
        }
    }
}

/// Why [`ClientBuilder::build`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// The base URL is not an absolute `http`/`https` URL without query.
    InvalidBaseUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Neither a tenant token nor app credentials were given.
    MissingCredentials,
    /// A credential is empty or cannot be sent in a header.
    InvalidCredentials {
        /// Which one (`tenant_access_token`, `app_id`, `app_secret`); never its value.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `rate_limit_per_second(0)`; use `no_rate_limit()` to turn pacing off.
    InvalidRateLimit,
    /// The HTTP client could not be built (for example, no TLS roots).
    Http(reqwest::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::InvalidBaseUrl { url, reason } => {
                write!(f, "invalid base URL {url:?}: {reason}")
            }
            BuildError::MissingCredentials => f.write_str(
                "no credentials: set a tenant_access_token or app credentials (app_id and app_secret)",
            ),
            BuildError::InvalidCredentials { what, reason } => {
                write!(f, "invalid {what}: {reason}")
            }
            BuildError::InvalidRateLimit => f.write_str(
                "the rate limit must be at least 1 request per second; use no_rate_limit() to turn it off",
            ),
            BuildError::Http(error) => write!(f, "cannot build the HTTP client: {error}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Http(error) => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_token() -> ClientBuilder {
        ClientBuilder::new().tenant_access_token("t-1")
    }

    #[test]
    fn base_urls_are_checked_and_trimmed() {
        let client = with_token()
            .base_url("http://127.0.0.1:8080/")
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:8080");
        assert_eq!(with_token().build().unwrap().base_url(), HOST_FEISHU);
        assert_eq!(with_token().lark().build().unwrap().base_url(), HOST_LARK);
        for bad in ["open.feishu.cn", "ftp://x", "http://x/?a=1", ""] {
            let error = with_token().base_url(bad).build().unwrap_err();
            assert!(
                matches!(error, BuildError::InvalidBaseUrl { .. }),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn credentials_are_required_and_checked() {
        assert!(matches!(
            ClientBuilder::new().build(),
            Err(BuildError::MissingCredentials)
        ));
        assert!(matches!(
            ClientBuilder::new().app_credentials("cli_1", " ").build(),
            Err(BuildError::InvalidCredentials {
                what: "app_secret",
                ..
            })
        ));
        assert!(matches!(
            ClientBuilder::new().tenant_access_token("t-1\n").build(),
            Err(BuildError::InvalidCredentials {
                what: "tenant_access_token",
                ..
            })
        ));
    }

    #[test]
    fn zero_rate_is_refused() {
        assert!(matches!(
            with_token().rate_limit_per_second(0).build(),
            Err(BuildError::InvalidRateLimit)
        ));
    }
}
