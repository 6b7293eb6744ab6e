//! A circuit breaker per call target: closed, open after a run of failed
//! attempts (calls then fail at once, without touching the network),
//! half-open after the open period (one probe is let through), closed again
//! when the probe succeeds, open again when it fails.
//!
//! The state is shared by every clone of a client (an `Arc`), reported in
//! `outgoing_breaker_state{target}` (0 closed, 1 half-open, 2 open) and
//! logged (a warning) on every change.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::time::Instant;

/// Where a target's circuit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls go through; failures are counted.
    Closed,
    /// The open period is over: the next call is a probe, the others fail
    /// at once until its answer is known.
    HalfOpen,
    /// Calls fail at once, without being sent.
    Open,
}

impl CircuitState {
    /// The value of `outgoing_breaker_state`.
    pub fn gauge(self) -> f64 {
        match self {
            Self::Closed => 0.0,
            Self::HalfOpen => 1.0,
            Self::Open => 2.0,
        }
    }

    /// The name in logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::HalfOpen => "half-open",
            Self::Open => "open",
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed {
        /// Consecutive failed attempts so far.
        failures: u32,
    },
    Open {
        until: Instant,
        /// Which opening this is, so a stale timer changes nothing.
        generation: u64,
    },
    HalfOpen {
        /// Whether the probe is out (then every other call is refused).
        probing: bool,
    },
}

impl State {
    fn public(self) -> CircuitState {
        match self {
            Self::Closed { .. } => CircuitState::Closed,
            Self::Open { .. } => CircuitState::Open,
            Self::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: State,
    openings: u64,
}

/// One target's circuit breaker.
#[derive(Debug)]
pub(crate) struct Breaker {
    target: &'static str,
    /// Consecutive failures that open the circuit; 0: it never opens.
    failures_to_open: u32,
    open_for: Duration,
    inner: Mutex<Inner>,
}

/// The right to send one attempt; report its result with [`Permit::record`].
/// A probe dropped unrecorded (its caller went away) frees the half-open
/// slot for the next call.
#[derive(Debug)]
pub(crate) struct Permit {
    breaker: Arc<Breaker>,
    probe: bool,
    recorded: bool,
}

impl Breaker {
    /// A closed breaker of `target`, which opens after `failures_to_open`
    /// consecutive failures (0: never) for `open_for`.
    pub(crate) fn new(target: &'static str, failures_to_open: u32, open_for: Duration) -> Arc<Self> {
        metrics::gauge!("outgoing_breaker_state", "target" => target).set(CircuitState::Closed.gauge());
        Arc::new(Self {
            target,
            failures_to_open,
            open_for,
            inner: Mutex::new(Inner {
                state: State::Closed { failures: 0 },
                openings: 0,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current state (an open circuit whose period is over reads as half-open).
    pub(crate) fn state(&self) -> CircuitState {
        match self.lock().state {
            State::Open { until, .. } if Instant::now() >= until => CircuitState::HalfOpen,
            state => state.public(),
        }
    }

    /// Whether a call now would be let through (without taking the probe).
    pub(crate) fn would_admit(&self) -> bool {
        match self.lock().state {
            State::Closed { .. } => true,
            State::Open { until, .. } => Instant::now() >= until,
            State::HalfOpen { probing } => !probing,
        }
    }

    /// Let one attempt through, or refuse it (`None`: the circuit is open,
    /// or half-open with its probe out).
    pub(crate) fn admit(self: &Arc<Self>) -> Option<Permit> {
        let mut inner = self.lock();
        let probe = match inner.state {
            State::Closed { .. } => false,
            State::Open { until, .. } if Instant::now() < until => return None,
            State::Open { .. } => {
                self.change(&mut inner, State::HalfOpen { probing: true });
                true
            }
            State::HalfOpen { probing: true } => return None,
            State::HalfOpen { probing: false } => {
                inner.state = State::HalfOpen { probing: true };
                true
            }
        };
        Some(Permit {
            breaker: self.clone(),
            probe,
            recorded: false,
        })
    }

    fn record(self: &Arc<Self>, probe: bool, success: bool) {
        let mut inner = self.lock();
        match (inner.state, probe) {
            (State::Closed { .. }, _) if success => inner.state = State::Closed { failures: 0 },
            (State::Closed { failures }, _) => {
                let failures = failures.saturating_add(1);
                if self.failures_to_open > 0 && failures >= self.failures_to_open {
                    self.open(&mut inner);
                } else {
                    inner.state = State::Closed { failures };
                }
            }
            (State::HalfOpen { .. }, true) if success => self.change(&mut inner, State::Closed { failures: 0 }),
            (State::HalfOpen { .. }, true) => self.open(&mut inner),
            // A late answer to a call let through before the circuit opened:
            // only the probe decides.
            (State::HalfOpen { .. } | State::Open { .. }, _) => {}
        }
    }

    /// A probe went away without an answer: the next call probes instead.
    fn release(&self) {
        let mut inner = self.lock();
        if let State::HalfOpen { probing: true } = inner.state {
            inner.state = State::HalfOpen { probing: false };
        }
    }

    fn open(self: &Arc<Self>, inner: &mut Inner) {
        inner.openings += 1;
        let until = Instant::now() + self.open_for;
        let generation = inner.openings;
        self.change(inner, State::Open { until, generation });
        // Half-open when the period ends even if no call comes, so the gauge
        // (and the alert on it) does not stay "open" on an idle client.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let breaker: Weak<Self> = Arc::downgrade(self);
            runtime.spawn(async move {
                tokio::time::sleep_until(until).await;
                if let Some(breaker) = breaker.upgrade() {
                    breaker.period_over(generation);
                }
            });
        }
    }

    fn period_over(&self, generation: u64) {
        let mut inner = self.lock();
        if let State::Open { generation: g, .. } = inner.state
            && g == generation
        {
            self.change(&mut inner, State::HalfOpen { probing: false });
        }
    }

    fn change(&self, inner: &mut Inner, to: State) {
        let from = inner.state.public();
        inner.state = to;
        let to = to.public();
        if from != to {
            metrics::gauge!("outgoing_breaker_state", "target" => self.target).set(to.gauge());
            tracing::warn!(
                circuit = self.target,
                from = from.name(),
                to = to.name(),
                "circuit breaker state changed"
            );
        }
    }
}

impl Permit {
    /// Report the attempt's result: `true` when the target answered
    /// (anything but a transport error or a 5xx).
    pub(crate) fn record(mut self, success: bool) {
        self.recorded = true;
        self.breaker.record(self.probe, success);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.probe && !self.recorded {
            self.breaker.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: Duration = Duration::from_millis(40);

    fn fail(b: &Arc<Breaker>, times: u32) {
        for _ in 0..times {
            b.admit().expect("admitted").record(false);
        }
    }

    /// Poll until `b` is half-open, at most a second past the open period.
    async fn half_open(b: &Arc<Breaker>) {
        let deadline = Instant::now() + OPEN + Duration::from_secs(1);
        while b.state() != CircuitState::HalfOpen {
            assert!(Instant::now() < deadline, "half-open after the open period");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn a_run_of_failures_opens_and_a_success_in_between_resets_the_count() {
        let b = Breaker::new("unit-reset", 3, OPEN);
        fail(&b, 2);
        b.admit().expect("admitted").record(true);
        fail(&b, 2);
        assert_eq!(b.state(), CircuitState::Closed, "2 + 2 failures, not 3 in a row");
        fail(&b, 1);
        assert_eq!(b.state(), CircuitState::Open);
        assert!(b.admit().is_none(), "an open circuit lets nothing through");
        assert!(!b.would_admit());
    }

    #[tokio::test]
    async fn half_open_lets_one_probe_through_and_its_success_closes() {
        let b = Breaker::new("unit-probe-ok", 1, OPEN);
        fail(&b, 1);
        half_open(&b).await;
        let probe = b.admit().expect("the probe");
        assert!(b.admit().is_none(), "one probe at a time");
        probe.record(true);
        assert_eq!(b.state(), CircuitState::Closed);
        assert!(b.admit().is_some());
    }

    #[tokio::test]
    async fn a_failed_probe_opens_again_for_a_whole_period() {
        let b = Breaker::new("unit-probe-fail", 1, OPEN);
        fail(&b, 1);
        half_open(&b).await;
        b.admit().expect("the probe").record(false);
        assert_eq!(b.state(), CircuitState::Open);
        assert!(b.admit().is_none());
        half_open(&b).await;
    }

    #[tokio::test]
    async fn a_probe_dropped_without_an_answer_lets_the_next_call_probe() {
        let b = Breaker::new("unit-probe-dropped", 1, OPEN);
        fail(&b, 1);
        half_open(&b).await;
        drop(b.admit().expect("the probe"));
        assert!(b.admit().is_some(), "the slot was freed");
    }

    #[tokio::test]
    async fn late_answers_of_calls_let_through_before_opening_change_nothing() {
        let b = Breaker::new("unit-late", 2, OPEN);
        let early = b.admit().expect("admitted while closed");
        fail(&b, 2);
        early.record(true);
        assert_eq!(b.state(), CircuitState::Open, "only the probe closes it");
    }

    #[tokio::test]
    async fn zero_failures_means_it_never_opens() {
        let b = Breaker::new("unit-never", 0, OPEN);
        fail(&b, 100);
        assert_eq!(b.state(), CircuitState::Closed);
    }
}
