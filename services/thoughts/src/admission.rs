//! Search admission (issue 9, finding 6): a search is the one request whose
//! cost a client chooses, so it is admitted before it reaches the database.
//!
//! - Per client address, at most `SEARCHES_PER_ADDRESS_PER_MINUTE` (GCRA, in
//!   memory; IPv6 grouped by /64): 429 with `Retry-After`.
//! - At most `SEARCH_CONCURRENCY` searches run at once; one more is refused
//!   at once with 503 and `Retry-After: 1`, never queued, so a flood of
//!   searches cannot hold the connections other endpoints need.
//! - Each admitted search has a deadline (`SEARCH_TIMEOUT_MS`) enforced inside
//!   the database call (see [`crate::store::list`]); past it, 503.
//!
//! Every refusal is counted in `thoughts_searches_refused_total{reason}`.
//! The client address is [`kit::address::ClientAddress`]: the connection's,
//! or the one a trusted proxy (`TRUSTED_PROXIES`) forwarded.

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use kit::address::ClientAddress;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The metric counting refused searches, labelled by `reason`.
pub const REFUSED_METRIC: &str = "thoughts_searches_refused_total";

/// Limits on searches; cheap to clone (clones share the limits).
#[derive(Clone)]
pub struct SearchAdmission {
    by_address: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    slots: Arc<Semaphore>,
    timeout: Duration,
}

/// Why a search was not answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchRefusal {
    /// 429: this address searched too often; retry after this many seconds.
    RateLimited(u64),
    /// 503: as many searches as allowed are running; retry after 1 s.
    Busy,
    /// 503: the search ran past its deadline and was cancelled in the database.
    TimedOut,
}

impl SearchRefusal {
    /// The `reason` label of the refusal metric.
    pub fn reason(self) -> &'static str {
        match self {
            Self::RateLimited(_) => "rate_limited",
            Self::Busy => "busy",
            Self::TimedOut => "timed_out",
        }
    }
}

impl IntoResponse for SearchRefusal {
    fn into_response(self) -> Response {
        metrics::counter!(REFUSED_METRIC, "reason" => self.reason()).increment(1);
        match self {
            Self::RateLimited(secs) => kit::error::too_many_requests("Too many searches, try again later", secs),
            Self::Busy => unavailable("Search is busy right now; try again in a moment", 1),
            Self::TimedOut => unavailable("This search took too long; try a more specific one", 1),
        }
    }
}

/// A 503 JSON error with `Retry-After` in seconds.
fn unavailable(message: &str, retry_after_secs: u64) -> Response {
    let mut response = kit::error_response(StatusCode::SERVICE_UNAVAILABLE, message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
    response
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

impl SearchAdmission {
    /// Allow `per_address_per_minute` searches per client address (a burst
    /// of that many, refilled over a minute), `concurrency` at once, each
    /// for at most `timeout` in the database.
    pub fn new(per_address_per_minute: u32, concurrency: u32, timeout: Duration) -> Self {
        let n = NonZeroU32::new(per_address_per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            by_address: Arc::new(RateLimiter::keyed(Quota::per_minute(n).allow_burst(n))),
            slots: Arc::new(Semaphore::new(concurrency.max(1) as usize)),
            timeout,
        }
    }

    /// The deadline of one search inside the database.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Count one search from `address` and take a slot for it, or say why
    /// not. The slot is held until the permit is dropped.
    pub fn admit(&self, address: IpAddr) -> Result<OwnedSemaphorePermit, SearchRefusal> {
        if self.by_address.len() > 100_000 {
            self.by_address.retain_recent();
        }
        let now = DefaultClock::default().now();
        if let Err(not_until) = self.by_address.check_key(&address_key(address)) {
            let wait = not_until.wait_time_from(now);
            return Err(SearchRefusal::RateLimited(wait.as_secs_f64().ceil() as u64));
        }
        Arc::clone(&self.slots)
            .try_acquire_owned()
            .map_err(|_| SearchRefusal::Busy)
    }
}

/// True when `request` may be a search: a GET whose query string has a
/// non-empty `search`, or one with a body (`kit::Params` also reads
/// parameters from a body, so one cannot slip past admission there).
fn may_search(request: &Request) -> bool {
    if request.method() != Method::GET {
        return false;
    }
    let query = request.uri().query().unwrap_or_default();
    let in_query = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap_or_default()
        .iter()
        .any(|(k, v)| k == "search" && !v.is_empty());
    let has_body = request.headers().contains_key(header::TRANSFER_ENCODING)
        || request
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    in_query || has_body
}

/// Middleware on the list routes: admits searches (see the module
/// documentation) and holds their concurrency slot while they run.
pub async fn admit_searches(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    request: Request,
    next: Next,
) -> Response {
    if !may_search(&request) {
        return next.run(request).await;
    }
    match state.search.admit(client) {
        Ok(_slot) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_limited_and_ipv6_by_64() {
        let admission = SearchAdmission::new(2, 100, Duration::from_secs(1));
        let ip = IpAddr::from([10, 0, 0, 1]);
        assert!(admission.admit(ip).is_ok());
        assert!(admission.admit(ip).is_ok());
        assert!(matches!(admission.admit(ip), Err(SearchRefusal::RateLimited(s)) if s >= 1));
        assert!(admission.admit(IpAddr::from([10, 0, 0, 2])).is_ok());
        let a: IpAddr = "2001:db8::1".parse().expect("ip");
        assert!(admission.admit(a).is_ok());
        assert!(admission.admit("2001:db8::ffff:1".parse().expect("ip")).is_ok());
        assert!(admission.admit("2001:db8::2".parse().expect("ip")).is_err(), "same /64");
    }

    #[test]
    fn a_full_house_refuses_at_once_and_a_finished_search_frees_its_slot() {
        let admission = SearchAdmission::new(1000, 2, Duration::from_secs(1));
        let ip = IpAddr::from([10, 0, 0, 1]);
        let first = admission.admit(ip).expect("a free slot");
        let _second = admission.admit(ip).expect("a free slot");
        assert_eq!(admission.admit(ip).err(), Some(SearchRefusal::Busy));
        drop(first);
        assert!(admission.admit(ip).is_ok());
    }

    #[test]
    fn refusals_carry_retry_after() {
        for (refusal, status) in [
            (SearchRefusal::RateLimited(7), StatusCode::TOO_MANY_REQUESTS),
            (SearchRefusal::Busy, StatusCode::SERVICE_UNAVAILABLE),
            (SearchRefusal::TimedOut, StatusCode::SERVICE_UNAVAILABLE),
        ] {
            let response = refusal.into_response();
            assert_eq!(response.status(), status);
            assert!(response.headers().contains_key(header::RETRY_AFTER), "{refusal:?}");
        }
    }
}
