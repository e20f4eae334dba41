//! When a failed delivery is tried again: the backoff with its jitter, a service's own
//! wait, and the age past which it is given up.

use std::time::Duration;

use crate::notify::Retry;

/// The longest `Retry-After` honoured; a longer one waits this long.
const MAX_RETRY_AFTER_S: u64 = 3_600;
/// Added to a service's own wait: a retry falls due by this host's wall clock, which is
/// not the clock the service counts its wait by (nor this host's steady clock, when the
/// wall clock is stepped), so a retry timed to the millisecond can arrive a few
/// milliseconds early by the service's count and be refused again.
const RETRY_AFTER_MARGIN: Duration = Duration::from_millis(100);

/// When to retry, and when to stop.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Delay before the first retry; each further one doubles it.
    pub first_retry: Duration,
    /// The longest delay between two attempts.
    pub max_retry: Duration,
    /// A delivery still failing this long after its alert is given up.
    pub give_up_after: Duration,
}

impl RetryPolicy {
    pub fn with_give_up(give_up_after: Duration) -> Self {
        Self {
            first_retry: Duration::from_secs(5),
            max_retry: Duration::from_secs(600),
            give_up_after,
        }
    }

    /// The delay after the `attempt`-th failed attempt (1-based), with ±20 % jitter drawn
    /// from `seed` so that many failed deliveries do not retry in lockstep.
    pub fn backoff(&self, attempt: u32, seed: u64) -> Duration {
        let doubling = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        let base = self
            .first_retry
            .saturating_mul(doubling)
            .min(self.max_retry);
        let spread = (seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33) % 401; // 0..=400
        base.mul_f64(0.8 + spread as f64 / 1_000.0)
    }

    /// How long after a failed `attempt` (1-based) of an alert `age_ms` old to try again,
    /// or `None` to give up: never for a failure retrying cannot mend or past the give-up
    /// age, a 429's own wait (at most an hour) and the margin, else the backoff.
    pub fn delay(&self, retry: Retry, attempt: u32, seed: u64, age_ms: i64) -> Option<Duration> {
        let too_old = age_ms >= i64::try_from(self.give_up_after.as_millis()).unwrap_or(i64::MAX);
        match retry {
            Retry::Never => None,
            _ if too_old => None,
            Retry::After(s) => {
                Some(Duration::from_secs(s.min(MAX_RETRY_AFTER_S)) + RETRY_AFTER_MARGIN)
            }
            Retry::Backoff => Some(self.backoff(attempt, seed)),
        }
    }
}

/// The seed of a delivery's jitter: the same for the same attempt.
pub(super) fn seed(alert_id: i64, contact: &str, attempt: u32) -> u64 {
    contact
        .bytes()
        .fold(alert_id as u64 ^ u64::from(attempt) << 48, |h, b| {
            h.wrapping_mul(31).wrapping_add(u64::from(b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let policy = RetryPolicy::with_give_up(Duration::from_secs(86_400));
        for (attempt, base) in [(1, 5), (2, 10), (3, 20), (4, 40), (8, 600), (30, 600)] {
            for seed in [0, 1, 42, u64::MAX] {
                let delay = policy.backoff(attempt, seed).as_secs_f64();
                let base = f64::from(base);
                assert!(
                    delay >= base * 0.8 && delay <= base * 1.2,
                    "{attempt} {seed} {delay}"
                );
            }
        }
        let spread: std::collections::HashSet<u128> =
            (0..50).map(|s| policy.backoff(3, s).as_millis()).collect();
        assert!(spread.len() > 10, "jitter spreads retries");
    }

    #[test]
    fn a_services_wait_is_kept_with_the_margin_and_capped_and_an_old_alert_given_up() {
        let policy = RetryPolicy::with_give_up(Duration::from_secs(3_600));
        let young = 1_000;
        assert_eq!(
            policy.delay(Retry::After(3), 1, 0, young),
            Some(Duration::from_millis(3_100))
        );
        assert_eq!(
            policy.delay(Retry::After(86_400), 1, 0, young),
            Some(Duration::from_millis(3_600_100))
        );
        assert_eq!(
            policy.delay(Retry::Backoff, 2, 7, young),
            Some(policy.backoff(2, 7))
        );
        assert_eq!(policy.delay(Retry::Never, 1, 0, young), None);
        for retry in [Retry::After(3), Retry::Backoff] {
            assert_eq!(policy.delay(retry, 1, 0, 3_600_000), None);
        }
    }
}
