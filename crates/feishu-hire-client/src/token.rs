//! Where the `Authorization` header comes from: a fixed tenant token, or one fetched with the
//! app's credentials and cached until shortly before it expires.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::HeaderValue;

use crate::error::Error;
use crate::secret::Secret;

/// Feishu hands out a new token only in the last 30 minutes of the old one; refreshing 5 minutes
/// early leaves time for a slow token endpoint without using tokens up to the last second.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// How the client authenticates.
pub(crate) enum Auth {
    /// A `tenant_access_token` the caller manages.
    Fixed(BearerToken),
    /// App credentials; the client fetches and caches tokens.
    App(AppCredentials),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Fixed(token) => f.debug_tuple("TenantAccessToken").field(token).finish(),
            Auth::App(app) => f
                .debug_struct("AppCredentials")
                .field("app_id", &app.app_id)
                .field("app_secret", &app.app_secret)
                .finish_non_exhaustive(),
        }
    }
}

/// A token and the `Authorization` header made from it (marked sensitive, so that HTTP
/// libraries do not log it). Every attempt takes a copy: both parts are reference-counted, so
/// a copy allocates nothing.
#[derive(Clone)]
pub(crate) struct BearerToken {
    token: Arc<Secret>,
    header: HeaderValue,
}

impl BearerToken {
    /// Fails with a reason if the token cannot be sent in a header.
    pub(crate) fn new(token: &str) -> Result<Self, String> {
        if token.trim().is_empty() {
            return Err("the token is empty".into());
        }
        let mut header = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| "the token contains characters not allowed in an HTTP header")?;
        header.set_sensitive(true);
        Ok(Self {
            token: Arc::new(Secret::new(token)),
            header,
        })
    }

    pub(crate) fn header(&self) -> &HeaderValue {
        &self.header
    }

    pub(crate) fn same_token(&self, other: &BearerToken) -> bool {
        self.token == other.token
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.token.fmt(f)
    }
}

/// App credentials and the token cache. The cache's lock is held while a token is fetched, so
/// that many calls needing a token at once cause one fetch (the others wait and reuse it). A
/// fetch that fails is not repeated by the calls that waited for it: they get its failure (see
/// [`TokenCache::failure_since`]), so an unreachable token endpoint costs one fetch's time, not
/// one per waiting call.
pub(crate) struct AppCredentials {
    pub(crate) app_id: String,
    pub(crate) app_secret: Secret,
    pub(crate) cache: tokio::sync::Mutex<TokenCache>,
    /// Fetches finished so far, successful or not. Read without the lock by a call before it
    /// waits for the lock, so that it can tell afterwards whether a fetch ended while it waited.
    fetches: AtomicU64,
}

impl AppCredentials {
    pub(crate) fn new(app_id: String, app_secret: Secret) -> Self {
        Self {
            app_id,
            app_secret,
            cache: tokio::sync::Mutex::new(TokenCache::default()),
            fetches: AtomicU64::new(0),
        }
    }

    /// The number of fetches finished so far; pass it to [`TokenCache::failure_since`].
    pub(crate) fn fetches_finished(&self) -> u64 {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Counts a finished fetch (called with the cache's lock held); returns its number.
    pub(crate) fn fetch_finished(&self) -> u64 {
        self.fetches.fetch_add(1, Ordering::SeqCst) + 1
    }
}

/// What the lock guards: the token, and the failure of the last fetch if it failed.
#[derive(Default)]
pub(crate) struct TokenCache {
    pub(crate) token: Option<CachedToken>,
    failure: Option<FetchFailure>,
}

/// The failure of a token fetch, kept for the calls that waited for that fetch.
struct FetchFailure {
    /// The fetch's number (see [`AppCredentials::fetch_finished`]).
    fetch: u64,
    /// A copy of the fetch's error (a clone: errors are cheap to clone).
    error: Error,
}

impl TokenCache {
    /// A copy of the failure of a fetch that finished after `seen` fetches had, i.e. one that
    /// ended while the caller waited for the lock. `None` if the last fetch succeeded or ended
    /// before the caller came: then the caller fetches itself.
    pub(crate) fn failure_since(&self, seen: u64) -> Option<Error> {
        self.failure
            .as_ref()
            .filter(|failure| failure.fetch > seen)
            .map(|failure| failure.error.clone())
    }

    /// Records the outcome of fetch number `fetch`.
    pub(crate) fn fetched(&mut self, fetch: u64, outcome: Result<CachedToken, &Error>) {
        match outcome {
            Ok(token) => {
                self.token = Some(token);
                self.failure = None;
            }
            Err(error) => {
                self.failure = Some(FetchFailure {
                    fetch,
                    error: error.clone(),
                });
            }
        }
    }
}

/// A fetched token and when to stop using it.
pub(crate) struct CachedToken {
    pub(crate) token: BearerToken,
    refresh_at: Instant,
}

impl CachedToken {
    /// A token fetched at `fetched_at` that Feishu says expires in `expire_seconds`.
    pub(crate) fn new(
        token: BearerToken,
        fetched_at: Instant,
        expire_seconds: Option<i64>,
    ) -> Self {
        Self {
            token,
            refresh_at: fetched_at + usable_for(expire_seconds),
        }
    }

    pub(crate) fn is_fresh(&self, now: Instant) -> bool {
        now < self.refresh_at
    }
}

/// How long a token with this `expire` may be used: until 5 minutes before it expires, or
/// for half its life if it lives 10 minutes or less. Without `expire`, only for the call that
/// fetched it.
pub(crate) fn usable_for(expire_seconds: Option<i64>) -> Duration {
    let lifetime = Duration::from_secs(expire_seconds.unwrap_or(0).max(0).unsigned_abs());
    if lifetime > 2 * REFRESH_MARGIN {
        lifetime - REFRESH_MARGIN
    } else {
        lifetime / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_refreshed_before_they_expire() {
        assert_eq!(usable_for(Some(7200)), Duration::from_secs(6900));
        assert_eq!(usable_for(Some(600)), Duration::from_secs(300));
        assert_eq!(usable_for(Some(60)), Duration::from_secs(30));
        assert_eq!(usable_for(Some(0)), Duration::ZERO);
        assert_eq!(usable_for(Some(-5)), Duration::ZERO);
        assert_eq!(usable_for(None), Duration::ZERO);
    }

    #[test]
    fn cached_token_goes_stale() {
        let now = Instant::now();
        let token = BearerToken::new("t-1").map(|t| CachedToken::new(t, now, Some(7200)));
        let token = token.unwrap();
        assert!(token.is_fresh(now + Duration::from_secs(6899)));
        assert!(!token.is_fresh(now + Duration::from_secs(6900)));
    }

    #[test]
    fn bad_tokens_are_refused_and_good_ones_hidden() {
        assert!(BearerToken::new("").is_err());
        assert!(BearerToken::new("t-1\nX: y").is_err());
        let token = BearerToken::new("t-s3cr3t").unwrap();
        assert!(token.header().is_sensitive());
        assert!(!format!("{token:?}").contains("s3cr3t"));
    }
}
