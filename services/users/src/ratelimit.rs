//! Login and sign-up rate limiting (GCRA via `governor`, in memory, per
//! replica). The client address comes from `kit::address::ClientAddress`
//! (trusted proxies only) and is grouped: IPv4 by address, IPv6 by /64
//! (one subscriber usually holds a whole /64).
//!
//! # The login rule
//!
//! An attempt to sign in to account `A` from address group `G` is refused
//! with 429 (and `Retry-After`), *before* the password is checked, when:
//!
//! 1. **address**: `G` has made more than `LOGIN_ATTEMPTS_PER_ADDRESS`
//!    attempts a minute, on any accounts (every attempt counts; this stops
//!    one address spraying many accounts);
//! 2. **account and address**: `G` has used up its budget of
//!    `LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS` failed attempts on `A`, which
//!    refills evenly over `LOGIN_FAILURE_WINDOW_MINUTES` (default 5 per
//!    15 minutes: one more guess every 3 minutes);
//! 3. **account**: `A` is over its ceiling of failed attempts from all
//!    addresses together (`LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR`, default 100)
//!    *and* `G` has failed on `A` within the window. An address group with
//!    no recent failure on `A` (or whose last attempt on `A` succeeded) is
//!    still evaluated, so the owner signing in from home is not locked out by
//!    strangers elsewhere; while the ceiling holds, each other address group
//!    gets one guess per window instead of the full budget.
//!
//! One attempt per (account, address group) is evaluated at a time: a
//! concurrent one is refused (429, retry after a second), so sending guesses
//! in parallel cannot slip past the budget before the failures are counted.
//!
//! Only failed attempts count against an account (rules 2 and 3), so an
//! owner's own successful sign-ins never lock them out, and a stranger's
//! failures from one address never block the owner at another: that pair
//! has its own budget. A pair's budget runs out *on* its last allowed
//! failure, so the next guess is refused unevaluated: a single address gets
//! at most `LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS` evaluated guesses on an
//! account per window, plus one per refill interval after that.
//!
//! Memory: the marks kept per (account, address group) are pruned to the
//! recent ones once more than [`MAX_TRACKED`] are held; a mark needs an
//! evaluated failure, which costs an argon2id hash, so their number is
//! bounded by the hashing rate times the window.
//!
//! # Sign-up
//!
//! Sign-ups are limited per address group (`SIGNUPS_PER_ADDRESS` a minute)
//! and, for all addresses together, by a global ceiling (`SIGNUPS_PER_MINUTE`)
//! that caps mass account creation from many addresses.

use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::{StateInformationMiddleware, StateSnapshot};
use governor::nanos::Nanos;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{DefaultDirectRateLimiter, NotUntil, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// More tracked keys than this and the stale ones are pruned.
pub const MAX_TRACKED: usize = 100_000;

/// A keyed GCRA limiter that reports the capacity left after each decision.
type Keyed<K, C> = RateLimiter<K, DefaultKeyedStateStore<K>, C, StateInformationMiddleware>;

/// Which limit refused a request (the `limit` label of the metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Too many attempts from one address group (any accounts).
    Address,
    /// Too many failures on one account from one address group.
    AccountAndAddress,
    /// The account's ceiling across all addresses, for an address that failed on it.
    Account,
    /// The global sign-up ceiling.
    Global,
}

impl Limit {
    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Address => "address",
            Self::AccountAndAddress => "account_and_address",
            Self::Account => "account",
            Self::Global => "global",
        }
    }
}

/// A refusal: which limit, and how long until trying again makes sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// The limit that refused.
    pub limit: Limit,
    /// Time until the limit lets a request through again.
    pub wait: Duration,
}

impl Refused {
    /// `wait` in whole seconds, rounded up (for `Retry-After`).
    pub fn retry_after_secs(&self) -> u64 {
        self.wait.as_secs_f64().ceil() as u64
    }
}

/// `n` as a non-zero count (0 becomes 1: a limit cannot allow nothing).
fn count(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)
}

/// A burst of `n`, refilled evenly at `n` per `period`.
pub fn quota(n: u32, period: Duration) -> Quota {
    let n = count(n);
    let interval = (period / n.get()).max(Duration::from_nanos(1));
    Quota::with_period(interval)
        .unwrap_or_else(|| Quota::per_second(n))
        .allow_burst(n)
}

/// A burst of `n`, refilled at `n` per minute.
pub fn per_minute(n: u32) -> Quota {
    quota(n, Duration::from_secs(60))
}

/// The group a limit applies to: IPv6 clients usually hold a whole /64.
pub fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

/// The login limits (see the module documentation for the rule).
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Rule 1: attempts per address group, on any accounts.
    pub per_address: Quota,
    /// Rule 2: failed attempts per (account, address group) per `window`.
    pub failures_per_account_and_address: u32,
    /// The period over which the per-pair budget refills, and for which a
    /// failure marks its address group for rule 3.
    pub window: Duration,
    /// Rule 3: the account's ceiling of failures from all addresses.
    pub per_account: Quota,
}

/// What is remembered about one (account, address group).
#[derive(Debug, Clone, Copy)]
struct PairMark<I> {
    /// The last failed attempt.
    last_failure: I,
    /// When its budget ran out: refused until then.
    blocked_until: Option<I>,
}

#[derive(Debug)]
struct Marks<I> {
    pairs: HashMap<(String, IpAddr), PairMark<I>>,
    /// Accounts over their ceiling, until when.
    over_ceiling: HashMap<String, I>,
    /// Pairs with an attempt being evaluated now.
    in_flight: std::collections::HashSet<(String, IpAddr)>,
}

/// Limits login attempts; cheap to clone. `C` is the clock (a fake one in tests).
#[derive(Clone)]
pub struct LoginLimiter<C: Clock = DefaultClock> {
    clock: C,
    window: Nanos,
    by_address: Arc<Keyed<IpAddr, C>>,
    by_pair: Arc<Keyed<(String, IpAddr), C>>,
    by_account: Arc<Keyed<String, C>>,
    marks: Arc<Mutex<Marks<C::Instant>>>,
}

impl LoginLimiter<DefaultClock> {
    /// A limiter on the system's clock.
    pub fn new(limits: LoginLimits) -> Self {
        Self::with_clock(limits, DefaultClock::default())
    }
}

fn keyed<K, C>(quota: Quota, clock: &C) -> Arc<Keyed<K, C>>
where
    K: std::hash::Hash + Eq + Clone,
    C: Clock + Clone,
{
    Arc::new(RateLimiter::dashmap_with_clock(quota, clock.clone()).with_middleware::<StateInformationMiddleware>())
}

/// Time from `now` until `until` (zero when it has passed).
fn until<I: Reference>(until: I, now: I) -> Duration {
    until.duration_since(now).into()
}

impl<C: Clock + Clone> LoginLimiter<C> {
    /// A limiter on `clock`.
    pub fn with_clock(limits: LoginLimits, clock: C) -> Self {
        let pair = quota(limits.failures_per_account_and_address, limits.window);
        Self {
            window: limits.window.into(),
            by_address: keyed(limits.per_address, &clock),
            by_pair: keyed(pair, &clock),
            by_account: keyed(limits.per_account, &clock),
            marks: Arc::new(Mutex::new(Marks {
                pairs: HashMap::new(),
                over_ceiling: HashMap::new(),
                in_flight: std::collections::HashSet::new(),
            })),
            clock,
        }
    }

    fn marks(&self) -> std::sync::MutexGuard<'_, Marks<C::Instant>> {
        self.marks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Count one attempt on `username` from `address` and decide, before the
    /// password is checked, whether it may be evaluated. The attempt holds its
    /// (account, address group) until it is reported or dropped.
    pub fn check(&self, username: &str, address: IpAddr) -> Result<Attempt<C>, Refused> {
        let group = address_key(address);
        let now = self.clock.now();
        if self.by_address.len() > MAX_TRACKED {
            self.by_address.retain_recent();
        }
        self.by_address.check_key(&group).map_err(|not_until| Refused {
            limit: Limit::Address,
            wait: not_until.wait_time_from(now),
        })?;
        let key = (username.to_owned(), group);
        let mut marks = self.marks();
        let mark = marks.pairs.get(&key);
        if let Some(blocked) = mark.and_then(|m| m.blocked_until).filter(|b| *b > now) {
            return Err(Refused {
                limit: Limit::AccountAndAddress,
                wait: until(blocked, now),
            });
        }
        let failed_recently = mark.is_some_and(|m| m.last_failure + self.window > now);
        if let Some(ceiling) = marks
            .over_ceiling
            .get(username)
            .filter(|c| **c > now && failed_recently)
        {
            return Err(Refused {
                limit: Limit::Account,
                wait: until(*ceiling, now),
            });
        }
        if !marks.in_flight.insert(key.clone()) {
            return Err(Refused {
                limit: Limit::AccountAndAddress,
                wait: Duration::from_secs(1),
            });
        }
        Ok(Attempt {
            limiter: self.clone(),
            key,
        })
    }

    fn record_failure(&self, key: &(String, IpAddr)) {
        let now = self.clock.now();
        // When a budget ran out on this very failure, the next cell is at
        // most one replenish interval away: block until then.
        let exhausted_at = |outcome: Result<StateSnapshot, NotUntil<C::Instant>>| match outcome {
            Ok(state) if state.remaining_burst_capacity() > 0 => None,
            Ok(state) => Some(now + Nanos::from(state.quota().replenish_interval())),
            Err(not_until) => Some(not_until.earliest_possible()),
        };
        let pair_blocked = exhausted_at(self.by_pair.check_key(key));
        let account_over = exhausted_at(self.by_account.check_key(&key.0));
        let mut marks = self.marks();
        if marks.pairs.len() > MAX_TRACKED {
            let window = self.window;
            marks
                .pairs
                .retain(|_, m| m.last_failure + window > now || m.blocked_until.is_some_and(|b| b > now));
            marks.over_ceiling.retain(|_, until| *until > now);
            self.by_pair.retain_recent();
            self.by_account.retain_recent();
        }
        if let Some(over) = account_over {
            marks.over_ceiling.insert(key.0.clone(), over);
        }
        marks.pairs.insert(
            key.clone(),
            PairMark {
                last_failure: now,
                blocked_until: pair_blocked,
            },
        );
    }
}

/// An attempt allowed by [`LoginLimiter::check`]: report how it went. While
/// it lives, other attempts on the same account from the same address group
/// are refused; dropping it unreported (e.g. on a database error) counts
/// nothing.
#[must_use = "report the outcome with `failed` or `succeeded`"]
pub struct Attempt<C: Clock = DefaultClock> {
    limiter: LoginLimiter<C>,
    key: (String, IpAddr),
}

impl<C: Clock> std::fmt::Debug for Attempt<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt").field("key", &self.key).finish()
    }
}

impl<C: Clock> Drop for Attempt<C> {
    fn drop(&mut self) {
        let mut marks = self.limiter.marks.lock().unwrap_or_else(|p| p.into_inner());
        marks.in_flight.remove(&self.key);
    }
}

impl<C: Clock + Clone> Attempt<C> {
    /// The password was wrong (or the account unknown): count the failure.
    pub fn failed(self) {
        self.limiter.record_failure(&self.key);
    }

    /// The sign-in succeeded: this address group no longer counts as one
    /// that failed on the account (rule 3). Budgets are not refunded.
    pub fn succeeded(self) {
        self.limiter.marks().pairs.remove(&self.key);
    }
}

/// Limits sign-ups per address group and globally; cheap to clone.
#[derive(Clone)]
pub struct SignupLimiter {
    by_address: Arc<governor::DefaultKeyedRateLimiter<IpAddr>>,
    global: Arc<DefaultDirectRateLimiter>,
}

impl SignupLimiter {
    /// Allow `per_address` sign-ups a minute per address group and
    /// `global_per_minute` from all addresses together.
    pub fn new(per_address: u32, global_per_minute: u32) -> Self {
        Self {
            by_address: Arc::new(RateLimiter::keyed(per_minute(per_address))),
            global: Arc::new(RateLimiter::direct(per_minute(global_per_minute))),
        }
    }

    /// Count one sign-up from `address`. An address's refused sign-ups do not
    /// use the global budget.
    pub fn check(&self, address: IpAddr) -> Result<(), Refused> {
        let now = DefaultClock::default().now();
        if self.by_address.len() > MAX_TRACKED {
            self.by_address.retain_recent();
        }
        self.by_address
            .check_key(&address_key(address))
            .map_err(|not_until| Refused {
                limit: Limit::Address,
                wait: not_until.wait_time_from(now),
            })?;
        self.global.check().map_err(|not_until| Refused {
            limit: Limit::Global,
            wait: not_until.wait_time_from(now),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    const MINUTE: Duration = Duration::from_secs(60);

    fn limits() -> LoginLimits {
        LoginLimits {
            per_address: per_minute(1000),
            failures_per_account_and_address: 5,
            window: 15 * MINUTE,
            per_account: quota(100, 60 * MINUTE),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn limiter(limits: LoginLimits) -> (LoginLimiter<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (LoginLimiter::with_clock(limits, clock.clone()), clock)
    }

    /// Try and fail once; whether the attempt was evaluated.
    fn guess(limiter: &LoginLimiter<FakeRelativeClock>, user: &str, from: IpAddr) -> Result<(), Refused> {
        limiter.check(user, from)?.failed();
        Ok(())
    }

    /// Try and succeed once.
    fn sign_in(limiter: &LoginLimiter<FakeRelativeClock>, user: &str, from: IpAddr) -> Result<(), Refused> {
        limiter.check(user, from)?.succeeded();
        Ok(())
    }

    #[test]
    fn one_address_gets_its_budget_of_evaluated_guesses_and_the_owner_elsewhere_is_unaffected() {
        let (limiter, clock) = limiter(limits());
        let attacker = ip("203.0.113.66");
        for i in 0..5 {
            assert!(guess(&limiter, "bruce", attacker).is_ok(), "guess {i} is evaluated");
        }
        let refused = guess(&limiter, "bruce", attacker).expect_err("the sixth is refused unevaluated");
        assert_eq!(refused.limit, Limit::AccountAndAddress);
        assert!(
            refused.wait > Duration::ZERO && refused.wait <= 3 * MINUTE,
            "{refused:?}"
        );
        assert!(
            limiter.check("bruce", ip("198.51.100.7")).is_ok(),
            "the owner's address"
        );
        assert!(limiter.check("stephen", attacker).is_ok(), "another account");
        clock.advance(3 * MINUTE);
        assert!(
            guess(&limiter, "bruce", attacker).is_ok(),
            "one more after a refill interval"
        );
        assert!(guess(&limiter, "bruce", attacker).is_err(), "and only one");
    }

    #[test]
    fn the_account_ceiling_stops_addresses_that_failed_but_not_a_clean_one() {
        let (limiter, clock) = limiter(LoginLimits {
            per_account: quota(3, 60 * MINUTE),
            ..limits()
        });
        let owner = ip("198.51.100.7");
        // The owner mistyped once and then signed in: their address is clean.
        guess(&limiter, "bruce", owner).expect("evaluated");
        sign_in(&limiter, "bruce", owner).expect("evaluated");
        for i in 1..=3 {
            guess(&limiter, "bruce", ip(&format!("203.0.113.{i}"))).expect("under the ceiling");
        }
        let refused = limiter.check("bruce", ip("203.0.113.1")).expect_err("over the ceiling");
        assert_eq!(refused.limit, Limit::Account);
        assert!(refused.wait <= 20 * MINUTE, "{refused:?}");
        assert!(
            sign_in(&limiter, "bruce", owner).is_ok(),
            "the owner is still evaluated"
        );
        // A fresh address gets one guess, then it too is stopped.
        let fresh = ip("192.0.2.9");
        guess(&limiter, "bruce", fresh).expect("a clean address is evaluated");
        assert_eq!(
            guess(&limiter, "bruce", fresh).map_err(|r| r.limit),
            Err(Limit::Account)
        );
        assert!(
            limiter.check("stephen", fresh).is_ok(),
            "other accounts are not affected"
        );
        clock.advance(60 * MINUTE);
        assert!(limiter.check("bruce", ip("203.0.113.1")).is_ok(), "the ceiling ends");
    }

    #[test]
    fn successes_never_count_against_an_account() {
        let (limiter, _clock) = limiter(LoginLimits {
            failures_per_account_and_address: 1,
            per_account: quota(1, MINUTE),
            ..limits()
        });
        let home = ip("198.51.100.7");
        for _ in 0..20 {
            sign_in(&limiter, "bruce", home).expect("successful sign-ins are never refused");
        }
    }

    #[test]
    fn an_address_is_limited_across_accounts_and_ipv6_by_64() {
        let (limiter, _clock) = limiter(LoginLimits {
            per_address: per_minute(2),
            ..limits()
        });
        let v4 = ip("10.0.0.1");
        assert!(sign_in(&limiter, "a", v4).is_ok());
        assert!(guess(&limiter, "b", v4).is_ok());
        assert_eq!(
            limiter.check("c", v4).map(drop).map_err(|r| r.limit),
            Err(Limit::Address)
        );
        assert!(guess(&limiter, "c", ip("10.0.0.2")).is_ok());
        assert!(guess(&limiter, "a", ip("2001:db8::1")).is_ok());
        assert!(guess(&limiter, "b", ip("2001:db8::ffff:1")).is_ok());
        assert!(guess(&limiter, "c", ip("2001:db8::2")).is_err(), "same /64");
        assert!(guess(&limiter, "c", ip("2001:db8:0:1::2")).is_ok(), "another /64");
    }

    #[test]
    fn only_one_attempt_per_account_and_address_is_evaluated_at_a_time() {
        let (limiter, _clock) = limiter(limits());
        let attacker = ip("203.0.113.66");
        let first = limiter.check("bruce", attacker).expect("evaluated");
        let second = limiter.check("bruce", attacker).map(drop).expect_err("in parallel");
        assert_eq!(second.limit, Limit::AccountAndAddress);
        assert_eq!(second.retry_after_secs(), 1);
        assert!(
            sign_in(&limiter, "bruce", ip("198.51.100.7")).is_ok(),
            "another address"
        );
        assert!(sign_in(&limiter, "stephen", attacker).is_ok(), "another account");
        drop(first);
        assert!(guess(&limiter, "bruce", attacker).is_ok(), "free again once it is done");
    }

    #[test]
    fn an_ipv6_attacker_cannot_get_a_fresh_budget_per_address_in_its_64() {
        let (limiter, _clock) = limiter(limits());
        for i in 0..5 {
            guess(&limiter, "bruce", ip(&format!("2001:db8::{i:x}"))).expect("evaluated");
        }
        assert!(guess(&limiter, "bruce", ip("2001:db8::ff")).is_err());
    }

    #[test]
    fn sign_ups_are_limited_per_address_and_globally() {
        let limiter = SignupLimiter::new(2, 5);
        let one = ip("203.0.113.1");
        assert!(limiter.check(one).is_ok());
        assert!(limiter.check(one).is_ok());
        assert_eq!(limiter.check(one).map_err(|r| r.limit), Err(Limit::Address));
        for i in 2..5 {
            assert!(limiter.check(ip(&format!("203.0.113.{i}"))).is_ok(), "{i}");
        }
        let refused = limiter.check(ip("203.0.113.9")).expect_err("the global ceiling");
        assert_eq!(refused.limit, Limit::Global);
        assert!((1..=12).contains(&refused.retry_after_secs()), "{refused:?}");
    }

    #[test]
    fn quotas_refill_evenly_over_their_period() {
        let q = quota(5, 15 * MINUTE);
        assert_eq!(q.burst_size().get(), 5);
        assert_eq!(q.replenish_interval(), 3 * MINUTE);
        assert_eq!(quota(0, MINUTE).burst_size().get(), 1, "0 means 1");
    }
}
