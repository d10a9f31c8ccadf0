//! How long a session lives. Staff sessions are short because they reach evidence.

use chrono::{DateTime, Duration, Utc};

use super::Role;

/// Session lifetimes, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// A staff session ends after this long without a request.
    pub staff_idle: Duration,
    /// A staff session ends this long after login, however busy.
    pub staff_absolute: Duration,
    /// A resident session ends this long after login.
    pub resident_absolute: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            staff_idle: Duration::minutes(30),
            staff_absolute: Duration::hours(12),
            resident_absolute: Duration::days(30),
        }
    }
}

/// How often `last_seen_at` is written. Writing on every request would make each read a write;
/// a minute of slack on a 30-minute idle limit is harmless.
pub const TOUCH_INTERVAL: Duration = Duration::seconds(60);

impl SessionPolicy {
    /// When a session created at `created` for `role` ends regardless of activity.
    pub fn absolute_expiry(&self, role: Role, created: DateTime<Utc>) -> DateTime<Utc> {
        if role.is_staff() {
            created + self.staff_absolute
        } else {
            created + self.resident_absolute
        }
    }

    /// Whether a session is still alive at `now`.
    pub fn is_alive(
        &self,
        role: Role,
        expires_at: DateTime<Utc>,
        last_seen: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> bool {
        if now >= expires_at {
            return false;
        }
        !(role.is_staff() && now - last_seen >= self.staff_idle)
    }

    /// Whether `last_seen_at` is stale enough to be written again.
    pub fn needs_touch(&self, last_seen: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now - last_seen >= TOUCH_INTERVAL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn staff_session_ends_after_thirty_idle_minutes() {
        let p = SessionPolicy::default();
        let exp = p.absolute_expiry(Role::Investigator, t0());
        assert!(p.is_alive(Role::Investigator, exp, t0(), t0() + Duration::minutes(29)));
        assert!(!p.is_alive(Role::Investigator, exp, t0(), t0() + Duration::minutes(30)));
    }

    #[test]
    fn staff_session_ends_after_twelve_hours_even_when_busy() {
        let p = SessionPolicy::default();
        let exp = p.absolute_expiry(Role::Admin, t0());
        let now = t0() + Duration::hours(12);
        assert!(!p.is_alive(Role::Admin, exp, now - Duration::seconds(1), now));
    }

    #[test]
    fn resident_session_lasts_thirty_days_without_idle_limit() {
        let p = SessionPolicy::default();
        let exp = p.absolute_expiry(Role::Resident, t0());
        let later = t0() + Duration::days(29);
        assert!(p.is_alive(Role::Resident, exp, t0(), later));
        assert!(!p.is_alive(Role::Resident, exp, t0(), t0() + Duration::days(30)));
    }

    #[test]
    fn touch_only_after_a_minute() {
        let p = SessionPolicy::default();
        assert!(!p.needs_touch(t0(), t0() + Duration::seconds(59)));
        assert!(p.needs_touch(t0(), t0() + Duration::seconds(60)));
    }
}
