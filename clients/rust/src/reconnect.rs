//! Automatic reconnection: exponential backoff with full jitter.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// How the client reconnects after it lost its connection.
///
/// Before attempt `n` (counting from 0 after each successful connection) the client sleeps a
/// random duration between zero and `min(max_delay, initial_delay * multiplier^n)` ("full
/// jitter"), so that many clients dropped at once by a restarting server don't come back in
/// lockstep.
///
/// ```
/// use exws_client::ReconnectPolicy;
/// use std::time::Duration;
///
/// let policy = ReconnectPolicy::default()
///     .initial_delay(Duration::from_millis(100))
///     .max_delay(Duration::from_secs(5))
///     .multiplier(1.5)
///     .max_attempts(Some(20));
/// assert!(policy.is_enabled());
/// assert!(!ReconnectPolicy::disabled().is_enabled());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectPolicy {
    enabled: bool,
    initial_delay: Duration,
    max_delay: Duration,
    multiplier: f64,
    max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    /// Enabled; 500 ms initial delay, 30 s cap, multiplier 2, no attempt limit.
    fn default() -> Self {
        ReconnectPolicy {
            enabled: true,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            multiplier: 2.0,
            max_attempts: None,
        }
    }
}

impl ReconnectPolicy {
    /// No reconnection: once the connection is lost, the client stays offline.
    pub fn disabled() -> Self {
        ReconnectPolicy {
            enabled: false,
            ..ReconnectPolicy::default()
        }
    }

    /// Whether the client reconnects at all.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The cap of the first sleep (default 500 ms).
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The cap no sleep goes over (default 30 s).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The growth of the cap per failed attempt (default 2.0; values below 1.0 count as 1.0).
    pub fn multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = multiplier;
        self
    }

    /// Give up after this many failed attempts in a row (default `None`: never give up).
    pub fn max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Whether attempt number `attempt` (from 0) may be made.
    pub(crate) fn allows(&self, attempt: u32) -> bool {
        self.enabled
            && match self.max_attempts {
                Some(max) => attempt < max,
                None => true,
            }
    }

    /// The upper bound of the sleep before attempt `attempt` (from 0).
    pub(crate) fn ceiling(&self, attempt: u32) -> Duration {
        let multiplier = if self.multiplier.is_finite() && self.multiplier >= 1.0 {
            self.multiplier
        } else {
            1.0
        };
        let exponent = i32::try_from(attempt).unwrap_or(i32::MAX);
        let seconds = self.initial_delay.as_secs_f64() * multiplier.powi(exponent);
        let max = self.max_delay.as_secs_f64();
        if seconds.is_finite() && seconds < max {
            Duration::from_secs_f64(seconds.max(0.0))
        } else {
            self.max_delay
        }
    }

    /// The sleep before attempt `attempt`: uniform in `[0, ceiling(attempt)]`.
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        self.ceiling(attempt).mul_f64(random_unit())
    }
}

/// A random number in `[0, 1)`, from the standard library's randomly keyed hasher (no RNG
/// dependency needed for jitter).
fn random_unit() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos() as u64)
            .unwrap_or(0),
    );
    // 53 random bits make an exactly representable f64 in [0, 1).
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_grows_then_caps() {
        let policy = ReconnectPolicy::default()
            .initial_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(1))
            .multiplier(2.0);
        assert_eq!(policy.ceiling(0), Duration::from_millis(100));
        assert_eq!(policy.ceiling(1), Duration::from_millis(200));
        assert_eq!(policy.ceiling(3), Duration::from_millis(800));
        assert_eq!(policy.ceiling(4), Duration::from_secs(1));
        assert_eq!(policy.ceiling(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn delay_is_jittered_within_the_ceiling() {
        let policy = ReconnectPolicy::default().initial_delay(Duration::from_secs(10));
        let delays: Vec<Duration> = (0..64).map(|_| policy.delay(0)).collect();
        assert!(delays.iter().all(|delay| *delay <= Duration::from_secs(10)));
        let first = delays[0];
        assert!(
            delays.iter().any(|delay| *delay != first),
            "64 jittered delays should not all be equal"
        );
    }

    #[test]
    fn bad_multipliers_do_not_shrink_or_explode() {
        let policy = ReconnectPolicy::default()
            .initial_delay(Duration::from_millis(100))
            .multiplier(f64::NAN);
        assert_eq!(policy.ceiling(5), Duration::from_millis(100));
        let policy = policy.multiplier(0.1);
        assert_eq!(policy.ceiling(5), Duration::from_millis(100));
    }

    #[test]
    fn attempts_are_limited() {
        assert!(!ReconnectPolicy::disabled().allows(0));
        let policy = ReconnectPolicy::default().max_attempts(Some(2));
        assert!(policy.allows(0));
        assert!(policy.allows(1));
        assert!(!policy.allows(2));
        assert!(ReconnectPolicy::default().allows(1_000_000));
    }
}
