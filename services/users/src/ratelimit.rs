//! Login rate limiting (GCRA, in memory): per client address (every
//! attempt; IPv6 grouped by /64) and per account (failed attempts only, so a
//! user's own successful logins never lock them out). The client address
//! comes from `kit::address::ClientAddress` (trusted proxies only).

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Limits login attempts; cheap to clone.
#[derive(Clone)]
pub struct LoginLimiter {
    by_account: Arc<DefaultKeyedRateLimiter<String>>,
    by_address: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    blocked: Arc<Mutex<HashMap<String, Instant>>>,
}

fn quota(per_minute: u32) -> Quota {
    let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    // A burst of `n`, refilled at `n` per minute.
    Quota::per_minute(n).allow_burst(n)
}

/// The address a limit applies to: IPv6 clients usually hold a whole /64.
fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

impl LoginLimiter {
    /// Allow `per_account` failed attempts per minute per username and
    /// `per_address` attempts per minute per client address.
    pub fn new(per_account: u32, per_address: u32) -> Self {
        Self {
            by_account: Arc::new(RateLimiter::keyed(quota(per_account))),
            by_address: Arc::new(RateLimiter::keyed(quota(per_address))),
            blocked: Arc::default(),
        }
    }

    /// Count one attempt from `address`; `Err(wait)` when over the limit.
    pub fn check_address(&self, address: IpAddr) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        if self.by_address.len() > 100_000 {
            self.by_address.retain_recent();
        }
        self.by_address
            .check_key(&address_key(address))
            .map_err(|not_until| not_until.wait_time_from(now))
    }

    /// `Some(wait)` while `username` is blocked after too many failures.
    pub fn account_blocked(&self, username: &str) -> Option<Duration> {
        let blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        let until = *blocked.get(username)?;
        until.checked_duration_since(Instant::now())
    }

    /// Count a failed attempt on `username`; `Some(wait)` when this one went
    /// over the limit (the account is blocked for `wait`).
    pub fn record_failure(&self, username: &str) -> Option<Duration> {
        let now = DefaultClock::default().now();
        let wait = self
            .by_account
            .check_key(&username.to_owned())
            .err()?
            .wait_time_from(now);
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        if blocked.len() > 100_000 {
            let now = Instant::now();
            blocked.retain(|_, until| *until > now);
            self.by_account.retain_recent();
        }
        blocked.insert(username.to_owned(), Instant::now() + wait);
        Some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_count_against_an_account() {
        let limiter = LoginLimiter::new(3, 100);
        for _ in 0..2 {
            assert!(limiter.record_failure("bruce").is_none());
        }
        assert!(
            limiter.account_blocked("bruce").is_none(),
            "successes in between would not count"
        );
        assert!(limiter.record_failure("bruce").is_none());
        let wait = limiter.record_failure("bruce").expect("the fourth failure blocks");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20), "{wait:?}");
        assert!(limiter.account_blocked("bruce").is_some());
        assert!(limiter.account_blocked("stephen").is_none());
    }

    #[test]
    fn an_address_is_limited_across_accounts_and_ipv6_by_64() {
        let limiter = LoginLimiter::new(100, 2);
        let ip = IpAddr::from([10, 0, 0, 1]);
        assert!(limiter.check_address(ip).is_ok());
        assert!(limiter.check_address(ip).is_ok());
        assert!(limiter.check_address(ip).is_err());
        assert!(limiter.check_address(IpAddr::from([10, 0, 0, 2])).is_ok());
        let a: IpAddr = "2001:db8::1".parse().expect("ip");
        let b: IpAddr = "2001:db8::ffff:1".parse().expect("ip");
        assert!(limiter.check_address(a).is_ok());
        assert!(limiter.check_address(b).is_ok());
        assert!(
            limiter.check_address("2001:db8::2".parse().expect("ip")).is_err(),
            "same /64"
        );
    }
}
