//! When to try a notification again.

use chrono::Duration;

/// The wait before attempt `attempts + 1`: 30 s, doubling each time, at most 6 hours.
pub fn retry_delay(attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    let seconds = 30_i64.saturating_mul(2_i64.saturating_pow(exponent));
    Duration::seconds(seconds.min(6 * 3600))
}

/// Whether to give up after `attempts` failed tries.
pub fn give_up(attempts: i64, max_attempts: u32) -> bool {
    attempts >= i64::from(max_attempts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(retry_delay(1), Duration::seconds(30));
        assert_eq!(retry_delay(2), Duration::seconds(60));
        assert_eq!(retry_delay(5), Duration::seconds(480));
        assert_eq!(retry_delay(30), Duration::hours(6));
        assert_eq!(retry_delay(0), Duration::seconds(30));
    }

    #[test]
    fn gives_up_at_the_limit() {
        assert!(!give_up(7, 8));
        assert!(give_up(8, 8));
    }
}
