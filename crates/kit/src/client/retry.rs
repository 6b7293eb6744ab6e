//! When a failed attempt is sent again: tower's [`Retry`](tower::retry::Retry)
//! with this policy, its exponential backoff with jitter and a
//! [`TpsBudget`](tower::retry::budget::TpsBudget) per target.

use super::{Failure, Target};
use reqwest::{Method, Request, Response, StatusCode};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, Sleep};
use tower::retry::backoff::{Backoff, ExponentialBackoff, ExponentialBackoffMaker, MakeBackoff};
use tower::retry::budget::Budget;
use tower::util::rng::HasherRng;

/// A retry gets at least this long before the deadline, or is not sent.
pub(super) const MIN_ATTEMPT: Duration = Duration::from_millis(50);

/// Random extra wait: up to 100 % of each backoff step.
const JITTER: f64 = 1.0;

/// Safe to send twice: GET and HEAD. PUT and DELETE are idempotent on the
/// server, but a retried DELETE whose first attempt did delete answers 404,
/// which would tell the user their thought was never there; so only these.
pub(super) fn idempotent(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
}

/// Why an attempt deserves another one, if it does.
fn retriable(result: &Result<Response, Failure>, idempotent: bool) -> bool {
    match result {
        Ok(r) => {
            idempotent
                && matches!(
                    r.status(),
                    StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
                )
        }
        // Nothing was sent: safe for every method.
        Err(Failure::Http(e)) if e.is_connect() => true,
        // Timed out, or the connection broke under the request: it may have
        // been processed, so only a request that may run twice.
        Err(Failure::Http(e)) => idempotent && (e.is_timeout() || e.is_request()),
        // Open: the circuit would refuse the retry too.
        Err(Failure::CircuitOpen) => false,
    }
}

/// One call's retry state: what is left of its attempts and its deadline.
#[derive(Clone)]
pub(super) struct Policy {
    target: Arc<Target>,
    deadline: Instant,
    idempotent: bool,
    retries_left: u32,
    /// `None` only for settings tower refuses (never with validated ones): no retries then.
    backoff: Option<ExponentialBackoff<HasherRng>>,
}

impl Policy {
    /// The policy of a call of `method` that must end by `deadline`.
    pub(super) fn new(target: Arc<Target>, method: &Method, deadline: Instant) -> Self {
        let settings = &target.settings;
        // A fresh generator per call: clones of one would jitter alike.
        let backoff = ExponentialBackoffMaker::new(
            settings.backoff,
            settings.backoff.max(settings.timeout),
            JITTER,
            HasherRng::default(),
        )
        .map(|mut maker| maker.make_backoff())
        .ok();
        Self {
            retries_left: if backoff.is_some() { settings.retries } else { 0 },
            backoff,
            idempotent: idempotent(method),
            target,
            deadline,
        }
    }

    /// The timeout of an attempt starting at `start`: a retriable attempt
    /// with retries left leaves room for another; the last one gets
    /// everything up to the deadline.
    pub(super) fn attempt_timeout(&self, start: Instant) -> Duration {
        let remaining = self.deadline.saturating_duration_since(start);
        if self.idempotent && self.retries_left > 0 {
            remaining.min(self.target.settings.attempt_timeout)
        } else {
            remaining
        }
    }
}

impl tower::retry::Policy<Request, Response, Failure> for Policy {
    type Future = Sleep;

    fn retry(&mut self, request: &mut Request, result: &mut Result<Response, Failure>) -> Option<Sleep> {
        if self.retries_left == 0 || !retriable(result, self.idempotent) || !self.target.breaker.would_admit() {
            return None;
        }
        let wait = self.backoff.as_mut()?.next_backoff();
        let start = wait.deadline();
        if self.deadline.saturating_duration_since(start) < MIN_ATTEMPT {
            return None;
        }
        let name = self.target.name;
        if !self.target.budget.withdraw() {
            metrics::counter!("outgoing_retries_refused_total", "target" => name).increment(1);
            return None;
        }
        self.retries_left -= 1;
        metrics::counter!("outgoing_retries_total", "target" => name).increment(1);
        *request.timeout_mut() = Some(self.attempt_timeout(start));
        Some(wait)
    }

    fn clone_request(&mut self, request: &Request) -> Option<Request> {
        if self.retries_left == 0 {
            return None;
        }
        request.try_clone()
    }
}
