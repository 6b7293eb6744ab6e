//! Posting rate limit per account (GCRA via `governor`, in memory, per
//! replica): a burst of `POSTS_BURST_PER_ACCOUNT` thoughts, then
//! `POSTS_PER_ACCOUNT_PER_MINUTE` a minute, evenly spaced. A person typing
//! never notices it; a script posting thousands a minute gets 429.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// More tracked accounts than this and the idle ones are forgotten.
const MAX_TRACKED: usize = 100_000;

/// Limits posts per account; cheap to clone. Unlimited when built with a rate of 0.
#[derive(Clone)]
pub struct PostLimiter {
    by_account: Option<Arc<DefaultKeyedRateLimiter<String>>>,
}

impl PostLimiter {
    /// `per_minute` posts a minute per account (0 = unlimited) after a burst
    /// of `burst` (at least 1).
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let by_account = NonZeroU32::new(per_minute).map(|rate| {
            let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
            Arc::new(RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst)))
        });
        Self { by_account }
    }

    /// Count one post by `username`; `Err(wait)` when over the limit.
    pub fn check(&self, username: &str) -> Result<(), Duration> {
        let Some(limiter) = &self.by_account else {
            return Ok(());
        };
        if limiter.len() > MAX_TRACKED {
            limiter.retain_recent();
        }
        let now = DefaultClock::default().now();
        limiter
            .check_key(&username.to_owned())
            .map_err(|not_until| not_until.wait_time_from(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_gets_its_burst_then_waits_and_others_are_unaffected() {
        let limiter = PostLimiter::new(10, 5);
        for i in 0..5 {
            assert!(limiter.check("bruce").is_ok(), "post {i} of the burst");
        }
        let wait = limiter.check("bruce").expect_err("over the burst");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(6), "{wait:?}");
        assert!(limiter.check("stephen").is_ok());
    }

    #[test]
    fn zero_means_unlimited() {
        let limiter = PostLimiter::new(0, 5);
        for _ in 0..1000 {
            assert!(limiter.check("bruce").is_ok());
        }
    }
}
