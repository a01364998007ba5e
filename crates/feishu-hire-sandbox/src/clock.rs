//! Time as the sandbox sees it: the system clock, or a clock that tests move by hand.
//!
//! Token expiry, the idempotency window, the rate limiter, record timestamps and ids all read
//! the time through [`Clock`], so a test can cross the 24 h idempotency window or a token's
//! expiry without waiting.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The operating system's clock; the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that stands still until [`advance`](ManualClock::advance) moves it.
///
/// ```
/// use std::time::Duration;
/// use feishu_hire_sandbox::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let before = clock.now();
/// clock.advance(Duration::from_secs(24 * 3600));
/// assert_eq!(clock.now().duration_since(before).unwrap(), Duration::from_secs(24 * 3600));
/// ```
#[derive(Debug)]
pub struct ManualClock {
    start: SystemTime,
    // Nanoseconds since `start`; atomic so tests can move it while the server reads it.
    elapsed_nanos: AtomicU64,
}

impl ManualClock {
    /// Where [`ManualClock::new`] starts: 2024-07-01T00:00:00Z, as Unix seconds. A fixed start
    /// keeps the ids and timestamps of a test run the same from one run to the next.
    pub const DEFAULT_START_UNIX_SECS: u64 = 1_719_792_000;

    /// A clock standing at [`DEFAULT_START_UNIX_SECS`](Self::DEFAULT_START_UNIX_SECS).
    pub fn new() -> Self {
        Self::starting_at(UNIX_EPOCH + Duration::from_secs(Self::DEFAULT_START_UNIX_SECS))
    }

    /// A clock standing at `start`.
    pub fn starting_at(start: SystemTime) -> Self {
        Self {
            start,
            elapsed_nanos: AtomicU64::new(0),
        }
    }

    /// Moves the clock forward by `by` (saturating after some 584 years).
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // `fetch_update` never fails with a closure that always returns `Some`.
        let _ = self
            .elapsed_nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |elapsed| {
                Some(elapsed.saturating_add(by))
            });
    }

    /// How far the clock has been moved since it was made.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.elapsed_nanos.load(Ordering::SeqCst))
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.start + self.elapsed()
    }
}

/// Time since the Unix epoch; zero for a clock set before 1970.
pub(crate) fn since_unix_epoch(time: SystemTime) -> Duration {
    time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO)
}

/// Unix time in milliseconds, as Feishu writes timestamps.
pub(crate) fn unix_millis(time: SystemTime) -> u64 {
    u64::try_from(since_unix_epoch(time).as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = ManualClock::new();
        let start = clock.now();
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now(), start + Duration::from_millis(1500));
        assert_eq!(clock.elapsed(), Duration::from_millis(1500));
        assert_eq!(
            unix_millis(start),
            ManualClock::DEFAULT_START_UNIX_SECS * 1000
        );
    }

    #[test]
    fn times_before_the_epoch_read_as_zero() {
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(since_unix_epoch(before), Duration::ZERO);
    }
}
