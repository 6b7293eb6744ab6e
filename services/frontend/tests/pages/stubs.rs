//! Stand-ins for the users and thoughts services: small axum routers with
//! just the endpoints the frontend calls, answering as API.md says (tokens
//! RS256-signed with `testkit::keys()`, the same error bodies), data in
//! memory. A stub can be stopped and started again on the same port (its
//! data kept), or made to stall.

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Form, Json, Router};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use thoughts_api::Thought;
use tokens::{Signer, Verifier};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use users_api::{Credentials, LoginResponse, RefreshRequest, SessionResponse, User};

/// The version both stubs report on `/admin/version/` unless told otherwise.
pub(crate) const VERSION: &str = "0.1.0";

/// A stub backend listening on loopback.
pub(crate) struct Stub {
    router: Router,
    addr: SocketAddr,
    stalled: Arc<AtomicBool>,
    /// Requests still to answer 503 before answering normally.
    failing: Arc<AtomicU32>,
    running: Option<(CancellationToken, JoinHandle<()>)>,
}

impl Stub {
    async fn start(router: Router) -> Self {
        let stalled = Arc::new(AtomicBool::new(false));
        let failing = Arc::new(AtomicU32::new(0));
        let router = router
            .layer(middleware::from_fn_with_state(stalled.clone(), stall))
            .layer(middleware::from_fn_with_state(failing.clone(), fail));
        let mut stub = Self {
            router,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stalled,
            failing,
            running: None,
        };
        stub.serve().await;
        stub
    }

    async fn serve(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.expect("stub binds");
        self.addr = listener.local_addr().expect("bound address");
        let stop = CancellationToken::new();
        let serve = axum::serve(listener, self.router.clone()).with_graceful_shutdown(stop.clone().cancelled_owned());
        let task = tokio::spawn(async move {
            serve.await.expect("stub serves");
        });
        self.running = Some((stop, task));
    }

    /// Its base URL, `http://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop listening and close every connection; returns once it is down.
    pub(crate) async fn stop(&mut self) {
        if let Some((stop, task)) = self.running.take() {
            stop.cancel();
            task.await.expect("stub stopped");
        }
    }

    /// Listen again on the same port, with the data it had.
    pub(crate) async fn restart(&mut self) {
        self.stop().await;
        self.serve().await;
    }

    /// From now on, accept requests and never answer them.
    pub(crate) fn stall(&self) {
        self.stalled.store(true, Ordering::SeqCst);
    }

    /// Answer the next `n` requests 503 (a replica restarting behind its
    /// Service, a proxy in between failing), then normally again.
    pub(crate) fn fail_next(&self, n: u32) {
        self.failing.store(n, Ordering::SeqCst);
    }
}

async fn fail(State(failing): State<Arc<AtomicU32>>, req: Request, next: Next) -> Response {
    if failing
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return error(StatusCode::SERVICE_UNAVAILABLE, "stub failing on purpose");
    }
    next.run(req).await
}

async fn stall(State(stalled): State<Arc<AtomicBool>>, req: Request, next: Next) -> Response {
    if stalled.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    next.run(req).await
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "message": message }))).into_response()
}

fn invalid(field: &str, what: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "message": "Input payload validation failed", "errors": { field: what } })),
    )
        .into_response()
}

fn version_route(version: &str) -> Router {
    let body = json!({ "commit": "stub", "version": version });
    Router::new().route("/admin/version/", get(move || async move { Json(body) }))
}

#[derive(Clone)]
struct Users {
    signer: Arc<Signer>,
    accounts: Arc<Mutex<BTreeMap<String, String>>>,
    /// Live refresh tokens: token → (username, session id).
    sessions: Arc<Mutex<HashMap<String, (String, String)>>>,
}

/// Lifetime of the stub's session tokens.
pub(crate) const SESSION_SECONDS: u64 = 300;

/// The users service: `POST /api/login/`, `POST /api/users/` (passwords of
/// at least 12 characters), the sessions (`POST /api/sessions/`, `/refresh`
/// rotating the refresh token, `/revoke`), `GET /admin/version/`.
pub(crate) async fn users() -> Stub {
    let signer = Signer::from_pem(testkit::keys().private_pem.as_bytes()).expect("test private key");
    let state = Users {
        signer: Arc::new(signer),
        accounts: Arc::default(),
        sessions: Arc::default(),
    };
    let router = Router::new()
        .route("/api/login/", post(log_in))
        .route("/api/users/", post(sign_up))
        .route("/api/sessions/", post(start_session))
        .route("/api/sessions/refresh", post(refresh_session))
        .route("/api/sessions/revoke", post(revoke_session))
        .with_state(state)
        .merge(version_route(VERSION));
    Stub::start(router).await
}

async fn log_in(State(users): State<Users>, Form(c): Form<Credentials>) -> Response {
    let known = users.accounts.lock().expect("accounts").get(&c.username) == Some(&c.password);
    if !known {
        return error(StatusCode::UNAUTHORIZED, "Wrong username or password");
    }
    let token = users.signer.issue(&c.username, false).expect("token signed");
    Json(LoginResponse {
        authorized: format!("Bearer {token}"),
    })
    .into_response()
}

/// A new session answer for `username` in session `sid`.
fn session(users: &Users, username: &str, sid: &str) -> Response {
    let lifetime = std::time::Duration::from_secs(SESSION_SECONDS);
    let token = users
        .signer
        .issue_session(username, false, sid, lifetime)
        .expect("token signed");
    let refresh = uuid::Uuid::new_v4().simple().to_string();
    users
        .sessions
        .lock()
        .expect("sessions")
        .insert(refresh.clone(), (username.to_owned(), sid.to_owned()));
    Json(SessionResponse {
        authorized: format!("Bearer {token}"),
        refresh,
        expires_in: SESSION_SECONDS,
        refresh_expires_in: 14 * 24 * 3600,
    })
    .into_response()
}

async fn start_session(State(users): State<Users>, Form(c): Form<Credentials>) -> Response {
    let known = users.accounts.lock().expect("accounts").get(&c.username) == Some(&c.password);
    if !known {
        return error(StatusCode::UNAUTHORIZED, "Wrong username or password");
    }
    session(&users, &c.username, &uuid::Uuid::new_v4().to_string())
}

async fn refresh_session(State(users): State<Users>, Form(r): Form<RefreshRequest>) -> Response {
    let live = users.sessions.lock().expect("sessions").remove(&r.refresh);
    match live {
        Some((username, sid)) => session(&users, &username, &sid),
        None => error(StatusCode::UNAUTHORIZED, "Invalid or expired refresh token"),
    }
}

async fn revoke_session(State(users): State<Users>, Form(r): Form<RefreshRequest>) -> StatusCode {
    users.sessions.lock().expect("sessions").remove(&r.refresh);
    StatusCode::NO_CONTENT
}

async fn sign_up(State(users): State<Users>, Form(c): Form<Credentials>) -> Response {
    if c.password.chars().count() < 12 {
        return invalid("password", "must be at least 12 characters");
    }
    let mut accounts = users.accounts.lock().expect("accounts");
    if accounts.contains_key(&c.username) {
        return error(StatusCode::CONFLICT, "username taken");
    }
    accounts.insert(c.username.clone(), c.password);
    let user = User {
        id: i64::try_from(accounts.len()).expect("few accounts"),
        username: c.username,
        creation: chrono::Utc::now().naive_utc(),
    };
    (StatusCode::CREATED, Json(user)).into_response()
}

/// The thoughts service's state: what was posted, and the accounts whose
/// tokens it refuses from now on.
#[derive(Clone)]
pub(crate) struct Thoughts {
    verifier: Verifier,
    posted: Arc<Mutex<Vec<Thought>>>,
    refused: Arc<Mutex<BTreeSet<String>>>,
    limited: Arc<AtomicBool>,
}

impl Thoughts {
    /// Answer 429 with `Retry-After` to every post from now on, as the real
    /// service does when an account posts faster than its limit.
    pub(crate) fn limit_posts(&self) {
        self.limited.store(true, Ordering::SeqCst);
    }

    /// The texts posted so far, oldest first.
    pub(crate) fn texts(&self) -> Vec<String> {
        self.posted
            .lock()
            .expect("posted")
            .iter()
            .map(|t| t.text.clone())
            .collect()
    }

    /// Answer 401 to every token of `username` from now on (as if revoked).
    pub(crate) fn refuse_tokens_of(&self, username: &str) {
        self.refused.lock().expect("refused").insert(username.to_owned());
    }

    async fn author(&self, headers: &HeaderMap) -> Result<String, Response> {
        let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let claims = self
            .verifier
            .verify_header(bearer)
            .await
            .map_err(|_| error(StatusCode::UNAUTHORIZED, "invalid token"))?;
        if self.refused.lock().expect("refused").contains(&claims.username) {
            return Err(error(StatusCode::UNAUTHORIZED, "invalid token"));
        }
        Ok(claims.username)
    }
}

/// The thoughts service: the lists (newest first with `order=desc`,
/// `limit`, `before`, and the `Link` to the next page), posting, deleting
/// one's own, `GET /admin/version/` reporting `version`.
pub(crate) async fn thoughts(version: &str) -> (Stub, Thoughts) {
    let verifier = Verifier::from_pem(testkit::keys().public_pem.as_bytes()).expect("test public key");
    let state = Thoughts {
        verifier,
        posted: Arc::default(),
        refused: Arc::default(),
        limited: Arc::default(),
    };
    let router = Router::new()
        .route("/api/thoughts/", get(list_all))
        .route("/api/me/thoughts/", get(list_mine).post(create))
        .route("/api/me/thoughts/{id}/", delete(delete_mine))
        .with_state(state.clone())
        .merge(version_route(version));
    (Stub::start(router).await, state)
}

/// A newest-first page of `thoughts` as the `?order=desc&limit=&before=` query asks.
fn page(thoughts: Vec<Thought>, query: &HashMap<String, String>) -> Response {
    let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(1000);
    let before: i64 = query.get("before").and_then(|b| b.parse().ok()).unwrap_or(i64::MAX);
    let mut older: Vec<Thought> = thoughts.into_iter().filter(|t| t.id < before).collect();
    older.sort_by_key(|t| std::cmp::Reverse(t.id));
    let more = older.len() > limit;
    older.truncate(limit);
    let mut response = Json(&older).into_response();
    if let (true, Some(last)) = (more, older.last()) {
        let link = format!(
            "</api/thoughts/?order=desc&limit={limit}&before={}>; rel=\"next\"",
            last.id
        );
        response
            .headers_mut()
            .insert(header::LINK, link.parse().expect("a valid header"));
    }
    response
}

async fn list_all(State(thoughts): State<Thoughts>, Query(query): Query<HashMap<String, String>>) -> Response {
    let search = query.get("search").map(|s| s.to_lowercase());
    if search.as_ref().is_some_and(|s| s.chars().count() > 250) {
        return invalid("search", "must be at most 250 characters");
    }
    let all = thoughts.posted.lock().expect("posted").clone();
    let selected = all
        .into_iter()
        .filter(|t| search.as_ref().is_none_or(|s| t.text.to_lowercase().contains(s)))
        .filter(|t| query.get("username").is_none_or(|u| &t.username == u))
        .collect();
    page(selected, &query)
}

async fn list_mine(
    State(thoughts): State<Thoughts>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let author = match thoughts.author(&headers).await {
        Ok(author) => author,
        Err(refused) => return refused,
    };
    let all = thoughts.posted.lock().expect("posted").clone();
    page(all.into_iter().filter(|t| t.username == author).collect(), &query)
}

async fn create(
    State(thoughts): State<Thoughts>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let author = match thoughts.author(&headers).await {
        Ok(author) => author,
        Err(refused) => return refused,
    };
    if thoughts.limited.load(Ordering::SeqCst) {
        let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Too many thoughts posted");
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("6"));
        return response;
    }
    let text = form.get("text").cloned().unwrap_or_default();
    if text.trim().is_empty() {
        return invalid("text", "must not be empty");
    }
    // As the real service (issue 9): no control character but newline.
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return invalid("text", "must not contain control characters other than newline");
    }
    if text.chars().count() > 250 {
        return invalid("text", "must be at most 250 characters");
    }
    let mut posted = thoughts.posted.lock().expect("posted");
    let thought = Thought {
        id: posted.iter().map(|t| t.id).max().unwrap_or(0) + 1,
        username: author,
        text,
        timestamp: chrono::Utc::now().naive_utc(),
    };
    posted.push(thought.clone());
    (StatusCode::CREATED, Json(thought)).into_response()
}

async fn delete_mine(State(thoughts): State<Thoughts>, headers: HeaderMap, Path(id): Path<i64>) -> Response {
    let author = match thoughts.author(&headers).await {
        Ok(author) => author,
        Err(refused) => return refused,
    };
    let mut posted = thoughts.posted.lock().expect("posted");
    match posted.iter().position(|t| t.id == id) {
        None => error(StatusCode::NOT_FOUND, "no such thought"),
        Some(i) if posted[i].username != author => error(StatusCode::FORBIDDEN, "not yours"),
        Some(i) => {
            posted.remove(i);
            StatusCode::NO_CONTENT.into_response()
        }
    }
}
