//! Locking an account after repeated failed logins, to slow down password guessing.

use chrono::{DateTime, Duration, Utc};

/// The lockout rule, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    /// Failures within `window` that lock the account.
    pub threshold: u32,
    /// How far back failures count.
    pub window: Duration,
    /// How long a lock lasts.
    pub lock_for: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            threshold: 5,
            window: Duration::minutes(15),
            lock_for: Duration::minutes(30),
        }
    }
}

/// What to record after one more failed login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterFailure {
    /// Failures counted in the current window, this one included.
    pub failures: u32,
    /// When the current window began.
    pub window_start: DateTime<Utc>,
    /// Set when this failure locks the account.
    pub locked_until: Option<DateTime<Utc>>,
}

impl LockoutPolicy {
    /// Counts one more failure at `now`, given the failures so far and when their window began.
    pub fn after_failure(
        &self,
        failures: u32,
        window_start: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> AfterFailure {
        let (failures, window_start) = match window_start {
            Some(start) if now - start < self.window => (failures.saturating_add(1), start),
            _ => (1, now),
        };
        let locked_until = (failures >= self.threshold).then(|| now + self.lock_for);
        AfterFailure {
            failures,
            window_start,
            locked_until,
        }
    }

    /// Whether a lock set until `locked_until` still holds at `now`.
    pub fn is_locked(locked_until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        locked_until.is_some_and(|until| now < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn fifth_failure_in_fifteen_minutes_locks_for_thirty() {
        let p = LockoutPolicy::default();
        let mut state = (0, None);
        for i in 0..5 {
            let now = t0() + Duration::minutes(i * 3);
            let a = p.after_failure(state.0, state.1, now);
            state = (a.failures, Some(a.window_start));
            if i < 4 {
                assert_eq!(a.locked_until, None, "failure {}", i + 1);
            } else {
                assert_eq!(a.locked_until, Some(now + Duration::minutes(30)));
            }
        }
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count() {
        let p = LockoutPolicy::default();
        let a = p.after_failure(4, Some(t0()), t0() + Duration::minutes(15));
        assert_eq!(a.failures, 1);
        assert_eq!(a.locked_until, None);
    }

    #[test]
    fn lock_expires() {
        let until = Some(t0() + Duration::minutes(30));
        assert!(LockoutPolicy::is_locked(until, t0()));
        assert!(!LockoutPolicy::is_locked(
            until,
            t0() + Duration::minutes(30)
        ));
        assert!(!LockoutPolicy::is_locked(None, t0()));
    }
}
