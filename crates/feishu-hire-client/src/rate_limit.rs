//! Client-side pacing, so that a bulk import stays under Feishu's documented rate limits
//! instead of discovering them through 429 answers.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use feishu_hire_types::Endpoint;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// Which rate the client keeps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateLimitSetting {
    /// Each endpoint's documented rate.
    FromSpec,
    /// This many requests per second on every endpoint that has a documented rate.
    PerSecond(NonZeroU32),
    /// No pacing.
    Off,
}

/// One limiter per endpoint, shared by all clones of a client.
#[derive(Debug)]
pub(crate) struct RateLimiters {
    setting: RateLimitSetting,
    /// The pace of endpoints whose spec documents no rate; `None` leaves them unpaced.
    undocumented: Option<NonZeroU32>,
    by_endpoint: Mutex<HashMap<&'static str, Arc<DefaultDirectRateLimiter>>>,
}

impl RateLimiters {
    pub(crate) fn new(setting: RateLimitSetting) -> Self {
        Self {
            setting,
            undocumented: None,
            by_endpoint: Mutex::new(HashMap::new()),
        }
    }

    /// Also paces endpoints without a documented rate at `per_second`, if given.
    pub(crate) fn undocumented(mut self, per_second: Option<NonZeroU32>) -> Self {
        self.undocumented = per_second;
        self
    }

    pub(crate) fn setting(&self) -> RateLimitSetting {
        self.setting
    }

    /// Waits until `endpoint` may be called again.
    pub(crate) async fn until_ready(&self, endpoint: &'static Endpoint) {
        if let Some(limiter) = self.limiter(endpoint) {
            limiter.until_ready().await;
        }
    }

    fn limiter(&self, endpoint: &'static Endpoint) -> Option<Arc<DefaultDirectRateLimiter>> {
        let quota = self.quota(endpoint)?;
        // A poisoned map is still a valid map: the panicking thread held the lock only to insert.
        let mut by_endpoint = self
            .by_endpoint
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Some(Arc::clone(
            by_endpoint
                .entry(endpoint.name)
                .or_insert_with(|| Arc::new(RateLimiter::direct(quota))),
        ))
    }

    /// Requests evenly spaced, with no burst: Feishu counts per window, and a burst at the end
    /// of one window followed by the steady rate could exceed it.
    fn quota(&self, endpoint: &Endpoint) -> Option<Quota> {
        let interval = match (self.setting, endpoint.rate_limit) {
            (RateLimitSetting::Off, _) => return None,
            (_, None) => Duration::from_secs(1) / self.undocumented?.get(),
            (RateLimitSetting::FromSpec, Some(documented)) => {
                documented.window() / documented.requests.max(1)
            }
            (RateLimitSetting::PerSecond(per_second), Some(_)) => {
                Duration::from_secs(1) / per_second.get()
            }
        };
        Quota::with_period(interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use feishu_hire_types::{CREATE_EXTERNAL_INTERVIEW, TENANT_ACCESS_TOKEN_INTERNAL};

    #[test]
    fn spec_rate_is_ten_per_second_evenly_spaced() {
        let limiters = RateLimiters::new(RateLimitSetting::FromSpec);
        let quota = limiters.quota(&CREATE_EXTERNAL_INTERVIEW);
        assert_eq!(
            quota.map(|q| (q.replenish_interval(), q.burst_size().get())),
            Some((Duration::from_millis(100), 1))
        );
        assert!(limiters.quota(&TENANT_ACCESS_TOKEN_INTERNAL).is_none());
    }

    #[test]
    fn off_and_custom_rates() {
        let off = RateLimiters::new(RateLimitSetting::Off);
        assert!(off.quota(&CREATE_EXTERNAL_INTERVIEW).is_none());
        let four = RateLimiters::new(RateLimitSetting::PerSecond(NonZeroU32::new(4).unwrap()));
        assert_eq!(
            four.quota(&CREATE_EXTERNAL_INTERVIEW)
                .map(|q| q.replenish_interval()),
            Some(Duration::from_millis(250))
        );
    }

    #[test]
    fn undocumented_endpoints_are_paced_only_when_asked() {
        use feishu_hire_types::BATCH_QUERY_EXTERNAL_INTERVIEW;
        let spec = RateLimiters::new(RateLimitSetting::FromSpec);
        assert!(spec.quota(&BATCH_QUERY_EXTERNAL_INTERVIEW).is_none());
        let five = RateLimiters::new(RateLimitSetting::FromSpec).undocumented(NonZeroU32::new(5));
        assert_eq!(
            five.quota(&BATCH_QUERY_EXTERNAL_INTERVIEW)
                .map(|q| q.replenish_interval()),
            Some(Duration::from_millis(200))
        );
        // A documented rate is still the spec's.
        assert_eq!(
            five.quota(&CREATE_EXTERNAL_INTERVIEW)
                .map(|q| q.replenish_interval()),
            Some(Duration::from_millis(100))
        );
        let off = RateLimiters::new(RateLimitSetting::Off).undocumented(NonZeroU32::new(5));
        assert!(off.quota(&BATCH_QUERY_EXTERNAL_INTERVIEW).is_none());
    }
}
