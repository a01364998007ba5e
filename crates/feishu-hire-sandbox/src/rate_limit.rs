//! Per-app rate limits of the endpoints, on `governor` driven by the sandbox's [`Clock`], so a
//! test with a [`ManualClock`](crate::ManualClock) hits and leaves a limit without waiting.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::clock::{Clock, since_unix_epoch};

/// The sandbox's clock as a `governor` clock: time since the Unix epoch.
#[derive(Debug, Clone)]
struct GovernorClock(Arc<dyn Clock>);

impl governor::clock::Clock for GovernorClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        since_unix_epoch(self.0.now())
    }
}

/// A refused request: what the `x-ogw-ratelimit-*` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limited {
    /// Requests allowed per window (`x-ogw-ratelimit-limit`; every window in the specs is 1 s).
    pub(crate) limit: u32,
    /// Whole seconds to wait, rounded up (`x-ogw-ratelimit-reset`).
    pub(crate) reset_secs: u64,
}

/// Allows `requests` per `window` per app, in bursts of up to `requests`.
pub(crate) struct AppRateLimiter {
    requests: NonZeroU32,
    clock: GovernorClock,
    limiter:
        RateLimiter<String, HashMapStateStore<String>, GovernorClock, NoOpMiddleware<Duration>>,
}

impl AppRateLimiter {
    pub(crate) fn new(requests: NonZeroU32, window: Duration, clock: Arc<dyn Clock>) -> Self {
        let clock = GovernorClock(clock);
        // One request replenishes every `window / requests`; a zero window (not in any spec)
        // would make governor refuse the quota, so it falls back to a second.
        let period = window / requests.get();
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(requests))
            .allow_burst(requests);
        let limiter = RateLimiter::hashmap_with_clock(quota, clock.clone());
        Self {
            requests,
            clock,
            limiter,
        }
    }

    /// Requests allowed per window.
    pub(crate) fn requests(&self) -> u32 {
        self.requests.get()
    }

    /// Counts a request of `app_id`; `Err` if it is over the limit.
    pub(crate) fn check(&self, app_id: &str) -> Result<(), Limited> {
        self.limiter
            .check_key(&app_id.to_owned())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(&self.clock));
                Limited {
                    limit: self.requests.get(),
                    reset_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;

    #[test]
    fn limits_each_app_separately_and_refills_with_time() {
        let clock = Arc::new(ManualClock::new());
        let per_second = NonZeroU32::new(3).unwrap();
        let limiter = AppRateLimiter::new(per_second, Duration::from_secs(1), clock.clone());
        for _ in 0..3 {
            assert_eq!(limiter.check("cli_a"), Ok(()));
        }
        assert_eq!(
            limiter.check("cli_a"),
            Err(Limited {
                limit: 3,
                reset_secs: 1
            })
        );
        assert_eq!(limiter.check("cli_b"), Ok(()));
        clock.advance(Duration::from_secs(1));
        for _ in 0..3 {
            assert_eq!(limiter.check("cli_a"), Ok(()));
        }
    }
}
