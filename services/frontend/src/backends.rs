//! What the frontend knows of its backends: each one's state (up, with its
//! version and the minimum-version verdict, or unavailable), for the body of
//! `/readyz` and the `frontend_backend_up` gauge. It does not decide the
//! frontend's own readiness: a backend outage gives degraded pages (503 with
//! a notice), never a frontend taken out of its Service.

use crate::versions;
use kit::client::ClientError;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The gauge: 1 when the backend answered the frontend's last check, 0 when
/// it did not (label `backend`).
pub const BACKEND_UP: &str = "frontend_backend_up";

/// How often the frontend checks its backends on its own, so that
/// [`BACKEND_UP`] stays current even when no orchestrator polls `/readyz`.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(10);

/// One backend's state, as its last check found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendState {
    /// It answered with a version at least the minimum (or no minimum is set).
    Up {
        /// The version it reported.
        version: String,
    },
    /// It answered, but with a version older than the minimum: pages that
    /// need it may fail.
    Outdated {
        /// The version it reported.
        version: String,
        /// The verdict, e.g. "thoughts backend version 0.1.0 is older than the minimum 0.10.0".
        message: String,
    },
    /// It did not answer in time (refused, timed out, or failing).
    Unavailable {
        /// A public reason naming the backend; the details are logged.
        message: String,
    },
}

impl BackendState {
    /// The state of backend `name` from its answer to the version call,
    /// checked against `minimum`.
    pub fn from_answer(name: &str, answer: Result<(String, String), ClientError>, minimum: Option<&str>) -> Self {
        match answer {
            Err(_) => Self::Unavailable {
                message: format!("{name} backend unavailable"),
            },
            Ok((version, _commit)) => match versions::check(name, &version, minimum) {
                Ok(()) => Self::Up { version },
                Err(message) => Self::Outdated { version, message },
            },
        }
    }

    /// Whether the backend answered (up or outdated).
    pub fn answered(&self) -> bool {
        !matches!(self, Self::Unavailable { .. })
    }

    /// Which kind of state this is, to notice changes between checks.
    fn kind(&self) -> u8 {
        match self {
            Self::Up { .. } => 0,
            Self::Outdated { .. } => 1,
            Self::Unavailable { .. } => 2,
        }
    }

    /// The JSON the `/readyz` body shows for it.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Up { version } => json!({"status": "up", "version": version}),
            Self::Outdated { version, message } => {
                json!({"status": "outdated", "version": version, "message": message})
            }
            Self::Unavailable { message } => json!({"status": "unavailable", "message": message}),
        }
    }
}

/// The backends the frontend calls, with their minimum versions, and the
/// kind of state each had at its previous check (to log changes once, not
/// on every check).
#[derive(Clone)]
pub struct Backends {
    users: users_api::Client,
    thoughts: thoughts_api::Client,
    min_users: Option<String>,
    min_thoughts: Option<String>,
    /// [`BackendState::kind`] of users, then thoughts, at their previous check.
    previous: Arc<[AtomicU8; 2]>,
}

impl Backends {
    /// Check `users` and `thoughts` against their minimum versions (`None`: any).
    pub fn new(
        users: users_api::Client,
        thoughts: thoughts_api::Client,
        min_users: Option<String>,
        min_thoughts: Option<String>,
    ) -> Self {
        metrics::describe_gauge!(
            BACKEND_UP,
            "1 when the backend answered the frontend's last check (every 10 s and on each /readyz), 0 when it did not"
        );
        Self {
            users,
            thoughts,
            min_users,
            min_thoughts,
            previous: Arc::new([AtomicU8::new(0), AtomicU8::new(0)]),
        }
    }

    /// Ask both backends for their version (concurrently, within the
    /// clients' deadlines), set [`BACKEND_UP`], log what changed and return
    /// `{"users": {...}, "thoughts": {...}}` for the `/readyz` body.
    pub async fn check(&self) -> Value {
        let (u, t) = tokio::join!(self.users.version(), self.thoughts.version());
        let users = self.record(0, "users", u, self.min_users.as_deref());
        let thoughts = self.record(1, "thoughts", t, self.min_thoughts.as_deref());
        json!({"users": users.to_json(), "thoughts": thoughts.to_json()})
    }

    fn record(
        &self,
        index: usize,
        name: &'static str,
        answer: Result<(String, String), ClientError>,
        minimum: Option<&str>,
    ) -> BackendState {
        let cause = answer.as_ref().err().map(ToString::to_string);
        let state = BackendState::from_answer(name, answer, minimum);
        let up = state.answered();
        metrics::gauge!(BACKEND_UP, "backend" => name).set(if up { 1.0 } else { 0.0 });
        if self.previous[index].swap(state.kind(), Ordering::SeqCst) != state.kind() {
            match &state {
                BackendState::Unavailable { .. } => {
                    tracing::warn!(
                        backend = name,
                        error = cause.as_deref().unwrap_or_default(),
                        "backend unreachable"
                    );
                }
                BackendState::Outdated { message, .. } => tracing::warn!(backend = name, %message, "backend outdated"),
                BackendState::Up { .. } => tracing::info!(backend = name, "backend answers again"),
            }
        }
        state
    }

    /// Check every [`CHECK_INTERVAL`] until `stop` is cancelled.
    pub async fn check_until(self, stop: CancellationToken) {
        let mut every = tokio::time::interval(CHECK_INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = every.tick() => {
                    self.check().await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(version: &str) -> Result<(String, String), ClientError> {
        Ok((version.to_owned(), "abc".to_owned()))
    }

    #[test]
    fn a_backend_that_answers_is_up_with_its_version() {
        let state = BackendState::from_answer("users", answer("0.1.0"), None);
        assert_eq!(state.to_json(), json!({"status": "up", "version": "0.1.0"}));
        assert!(state.answered());
    }

    #[test]
    fn a_backend_older_than_the_minimum_answers_but_is_outdated() {
        let state = BackendState::from_answer("thoughts", answer("0.1.0"), Some("0.10.0"));
        assert_eq!(
            state.to_json(),
            json!({
                "status": "outdated",
                "version": "0.1.0",
                "message": "thoughts backend version 0.1.0 is older than the minimum 0.10.0"
            })
        );
        assert!(state.answered());
    }

    #[test]
    fn an_unreachable_backend_is_unavailable_without_internal_details() {
        let error = ClientError::Unavailable("thoughts: connection refused at 10.0.0.7:8000".into());
        let state = BackendState::from_answer("thoughts", Err(error), None);
        assert_eq!(
            state.to_json(),
            json!({"status": "unavailable", "message": "thoughts backend unavailable"})
        );
        assert!(!state.answered());
    }
}
