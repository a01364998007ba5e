//! The per-app rate limit of the create endpoint, on `governor` driven by the sandbox's
//! [`Clock`], so a test with a [`ManualClock`](crate::ManualClock) hits and leaves the limit
//! without waiting.

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
    /// Requests allowed per second (`x-ogw-ratelimit-limit`).
    pub(crate) limit: u32,
    /// Whole seconds to wait, rounded up (`x-ogw-ratelimit-reset`).
    pub(crate) reset_secs: u64,
}

/// Allows `per_second` creates per second per app, in bursts of up to `per_second`.
pub(crate) struct AppRateLimiter {
    per_second: NonZeroU32,
    clock: GovernorClock,
    limiter:
        RateLimiter<String, HashMapStateStore<String>, GovernorClock, NoOpMiddleware<Duration>>,
}

impl AppRateLimiter {
    pub(crate) fn new(per_second: NonZeroU32, clock: Arc<dyn Clock>) -> Self {
        let clock = GovernorClock(clock);
        let limiter = RateLimiter::hashmap_with_clock(Quota::per_second(per_second), clock.clone());
        Self {
            per_second,
            clock,
            limiter,
        }
    }

    /// Counts a create of `app_id`; `Err` if it is over the limit.
    pub(crate) fn check(&self, app_id: &str) -> Result<(), Limited> {
        self.limiter
            .check_key(&app_id.to_owned())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(&self.clock));
                Limited {
                    limit: self.per_second.get(),
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
        let limiter = AppRateLimiter::new(per_second, clock.clone());
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
