//! Per-address rate limits for login and sign-up, against password guessing and spam.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::error::ApiError;
use crate::config::Settings;

/// The limiters, keyed by client address.
#[derive(Debug)]
pub struct RateLimits {
    login: DefaultKeyedRateLimiter<IpAddr>,
    signup: DefaultKeyedRateLimiter<IpAddr>,
    comment: DefaultKeyedRateLimiter<String>,
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

impl RateLimits {
    /// Limits from the settings.
    pub fn new(settings: &Settings) -> Self {
        Self {
            login: RateLimiter::keyed(Quota::per_minute(nz(settings.login_rate_per_minute))),
            signup: RateLimiter::keyed(Quota::per_hour(nz(settings.signup_rate_per_hour))),
            comment: RateLimiter::keyed(Quota::per_hour(nz(settings.comment_rate_per_hour))),
        }
    }

    fn check(
        limiter: &DefaultKeyedRateLimiter<IpAddr>,
        ip: Option<IpAddr>,
        what: &str,
    ) -> Result<(), ApiError> {
        // Without a peer address (never over TCP) all such calls share one bucket.
        let key = ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::rate_limited(what, wait.as_secs() + 1)
        })
    }

    /// One login attempt from `ip`.
    pub fn check_login(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        Self::check(&self.login, ip, "login")
    }

    /// One sign-up from `ip`.
    pub fn check_signup(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        Self::check(&self.signup, ip, "sign-up")
    }

    /// One comment by the account `user_id`.
    pub fn check_comment(&self, user_id: &str) -> Result<(), ApiError> {
        self.comment
            .check_key(&user_id.to_owned())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                ApiError::rate_limited("comment", wait.as_secs() + 1)
            })
    }

    /// Forgets addresses whose buckets are full again, so memory stays bounded.
    pub fn sweep(&self) {
        self.login.retain_recent();
        self.signup.retain_recent();
        self.comment.retain_recent();
    }
}
