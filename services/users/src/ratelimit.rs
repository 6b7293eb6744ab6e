//! Login rate limiting per account and per client address (GCRA, in memory).

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// Limits login attempts; cheap to clone.
#[derive(Clone)]
pub struct LoginLimiter {
    by_account: Arc<DefaultKeyedRateLimiter<String>>,
    by_address: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

fn quota(per_minute: u32) -> Quota {
    let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    // A burst of `n`, refilled at `n` per minute.
    Quota::per_minute(n).allow_burst(n)
}

impl LoginLimiter {
    /// Allow `per_account` attempts per minute per username and
    /// `per_address` per client address.
    pub fn new(per_account: u32, per_address: u32) -> Self {
        Self {
            by_account: Arc::new(RateLimiter::keyed(quota(per_account))),
            by_address: Arc::new(RateLimiter::keyed(quota(per_address))),
        }
    }

    /// Count one attempt from `address` only; `Err(wait)` when over the limit.
    pub fn check_address(&self, address: IpAddr) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        self.by_address
            .check_key(&address)
            .map_err(|not_until| not_until.wait_time_from(now))
    }

    /// Count one attempt; `Err(wait)` when either limit is exceeded.
    pub fn check(&self, username: &str, address: IpAddr) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        self.check_address(address)?;
        if let Err(not_until) = self.by_account.check_key(&username.to_owned()) {
            return Err(not_until.wait_time_from(now));
        }
        // Keep memory bounded under a spray of usernames or addresses.
        if self.by_account.len() > 100_000 {
            self.by_account.retain_recent();
        }
        if self.by_address.len() > 100_000 {
            self.by_address.retain_recent();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_limited_after_its_burst_but_others_are_not() {
        let limiter = LoginLimiter::new(3, 100);
        let ip = IpAddr::from([127, 0, 0, 1]);
        for _ in 0..3 {
            assert!(limiter.check("bruce", ip).is_ok());
        }
        let wait = limiter.check("bruce", ip).expect_err("limited");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20), "{wait:?}");
        assert!(limiter.check("stephen", ip).is_ok());
    }

    #[test]
    fn an_address_is_limited_across_accounts() {
        let limiter = LoginLimiter::new(100, 2);
        let ip = IpAddr::from([10, 0, 0, 1]);
        assert!(limiter.check("a", ip).is_ok());
        assert!(limiter.check("b", ip).is_ok());
        assert!(limiter.check("c", ip).is_err());
        assert!(limiter.check("c", IpAddr::from([10, 0, 0, 2])).is_ok());
    }
}
