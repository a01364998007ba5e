//! When and how long the client waits before it tries a call again.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// How often and for how long the client retries one call.
///
/// What is retried is fixed by the client (see the crate docs, "Retries"); this policy only
/// bounds it. The wait before a retry is the server's `x-ogw-ratelimit-reset` after a rate
/// limit answer, otherwise an exponential backoff: `initial_backoff`, doubling up to
/// `max_backoff`, each wait plus a random jitter of up to as much again, so that many clients
/// that failed together do not retry together.
///
/// ```
/// use std::time::Duration;
/// use feishu_hire_client::RetryPolicy;
///
/// let policy = RetryPolicy::new()
///     .max_attempts(3)
///     .initial_backoff(Duration::from_millis(100))
///     .max_backoff(Duration::from_secs(2))
///     .total_deadline(Duration::from_secs(20));
/// # let _ = policy;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub(crate) max_attempts: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) total_deadline: Duration,
    pub(crate) retry_after_possible_effect: bool,
}

impl Default for RetryPolicy {
    /// 5 attempts, backoff from 250 ms up to 8 s, 60 s in all.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            total_deadline: Duration::from_secs(60),
            retry_after_possible_effect: true,
        }
    }
}

impl RetryPolicy {
    /// The default policy: 5 attempts, backoff from 250 ms up to 8 s, 60 s in all.
    pub fn new() -> Self {
        Self::default()
    }

    /// One attempt, no retries.
    ///
    /// The client still repeats a call once after fetching a fresh token when Feishu says the
    /// token is invalid, since that answer means the call was not processed.
    pub fn none() -> Self {
        Self::default().max_attempts(1)
    }

    /// Attempts per call, the first one included (at least 1).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The wait before the first retry, before jitter.
    #[must_use]
    pub fn initial_backoff(mut self, wait: Duration) -> Self {
        self.initial_backoff = wait;
        self
    }

    /// The longest wait between two attempts, before jitter.
    #[must_use]
    pub fn max_backoff(mut self, wait: Duration) -> Self {
        self.max_backoff = wait;
        self
    }

    /// The time one call may take, waits included. The client gives up rather than start a
    /// wait that would end after it; it does not cut an attempt short (that is
    /// [`ClientBuilder::timeout`](crate::ClientBuilder::timeout)'s job).
    #[must_use]
    pub fn total_deadline(mut self, deadline: Duration) -> Self {
        self.total_deadline = deadline;
        self
    }

    /// Never sends a keyed request (a create with its `external_id`) again once an attempt may
    /// have been processed (it timed out, lost its connection or met a server error); every
    /// other retry stays: after a refused connection or a rate limit of the first attempt,
    /// and of read-only and method-idempotent requests (queries, `PUT`, `DELETE`).
    ///
    /// By default such a retry is made, because Feishu documents that one `external_id`
    /// creates one interview within 24 h. Turn it off for a target that may not honour the
    /// key: a retry could then create a second record. The call instead fails with an error
    /// that [may have taken effect](crate::Error::may_have_taken_effect), so the caller can
    /// check the target before deciding.
    #[must_use]
    pub fn no_retry_after_possible_effect(mut self) -> Self {
        self.retry_after_possible_effect = false;
        self
    }

    /// Whether keyed requests are retried after an attempt that may have been processed (see
    /// [`no_retry_after_possible_effect`](Self::no_retry_after_possible_effect)).
    pub fn retries_after_possible_effect(&self) -> bool {
        self.retry_after_possible_effect
    }

    /// The backoff waits of one call, in order.
    pub(crate) fn backoff(&self) -> impl Iterator<Item = Duration> + use<> {
        ExponentialBuilder::new()
            .with_min_delay(self.initial_backoff)
            .with_max_delay(self.max_backoff.max(self.initial_backoff))
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(self.max_attempts as usize)
            .build()
    }
}

/// The future a [`Sleeper`] returns.
pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Waits between attempts. The default, [`TokioSleeper`], sleeps on the tokio timer; tests
/// inject one that records the waits it is asked for and returns at once.
///
/// The client-side rate limiter does not use it: it paces real requests on the real clock.
pub trait Sleeper: Send + Sync + 'static {
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> SleepFuture;
}

/// Sleeps with [`tokio::time::sleep`].
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> SleepFuture {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Lets `Debug` of the builder and client name the sleeper without requiring `Debug` of it.
pub(crate) struct SleeperName;

impl fmt::Debug for SleeperName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<sleeper>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_stops_after_max_attempts() {
        let policy = RetryPolicy::new()
            .max_attempts(4)
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(300));
        let waits: Vec<Duration> = policy.backoff().collect();
        assert_eq!(waits.len(), 4);
        let bases = [100, 200, 300, 300];
        for (wait, base) in waits.iter().zip(bases) {
            assert!(*wait >= Duration::from_millis(base), "{wait:?} < {base} ms");
            assert!(
                *wait < Duration::from_millis(2 * base),
                "{wait:?} >= 2 × {base} ms"
            );
        }
    }

    #[test]
    fn none_means_one_attempt() {
        assert_eq!(RetryPolicy::none().max_attempts, 1);
        assert_eq!(RetryPolicy::new().max_attempts(0).max_attempts, 1);
    }
}
