//! The journeys: goose scenarios of people using MyThoughts.
//!
//! Through the frontend, as a browser (cookies, CSRF tokens, redirects not
//! followed so that every page is one measured step):
//! - **reader**, anonymous: searches, and opens the page of a user this run created;
//! - **writer**: signs up once, then views their home page, posts and deletes;
//! - **newcomer**: each round signs up a new account, views home, signs out,
//!   signs in again, views home, signs out (three password hashes a round).
//!
//! Through the public APIs, when their URLs are given:
//! - **api**: signs up and logs in (`POST /api/users/`, `/api/login/`), then
//!   posts, lists their own, searches, reads one and deletes.
//!
//! Every step checks what a user would notice (the status, the redirect's
//! target, the page showing who is signed in, the JSON holding an id) and a
//! wrong answer is a failed request in goose's metrics. Usernames are unique
//! per run (`lg<run>-<n>`), the password is random per run.

use crate::html::{self, Jar};
use goose::goose::GooseResponse;
use goose::metrics::GooseRequestMetric;
use goose::prelude::*;
use reqwest::header::{AUTHORIZATION, COOKIE, LOCATION, SET_COOKIE};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Where the system under test answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The frontend's base URL, e.g. `http://127.0.0.1:8000`.
    pub frontend: String,
    /// The users service's base URL, for the API journey.
    pub users_api: Option<String>,
    /// The thoughts service's base URL, for the API journey.
    pub thoughts_api: Option<String>,
}

/// Counts the live progress line shows.
#[derive(Debug)]
pub struct Stats {
    /// When the run started.
    pub started: Instant,
    /// Requests answered or failed so far.
    pub requests: AtomicU64,
    /// Requests that failed (transport error, wrong status, wrong content).
    pub failures: AtomicU64,
}

/// How many failures are described on stderr as they happen.
const FAILURES_SHOWN: u64 = 10;

impl Stats {
    fn failed(&self, what: impl FnOnce() -> String) {
        let n = self.failures.fetch_add(1, Ordering::Relaxed);
        if n < FAILURES_SHOWN {
            eprintln!("loadgen: failed: {}", what());
        } else if n == FAILURES_SHOWN {
            eprintln!("loadgen: more failures follow; goose's error summary at the end counts them");
        }
    }
}

/// What every journey of this run shares.
#[derive(Debug)]
pub struct Run {
    /// Where to send requests.
    pub target: Target,
    /// Digits naming this run's accounts (`lg<run>-<n>`).
    pub run_id: String,
    password: String,
    timeout: Duration,
    next_user: AtomicU64,
    names: Mutex<Vec<String>>,
    seed: AtomicU64,
    /// The progress counters.
    pub stats: Stats,
}

impl Run {
    /// A run against `target`; each request may take up to `timeout`.
    pub fn new(target: Target, timeout: Duration) -> Self {
        let random = uuid::Uuid::new_v4().as_u128();
        Self {
            target,
            run_id: format!("{:06}", random % 1_000_000),
            // Never stored anywhere but in the accounts this run creates.
            password: format!("lg-{}", uuid::Uuid::new_v4().simple()),
            timeout,
            next_user: AtomicU64::new(1),
            names: Mutex::new(Vec::new()),
            seed: AtomicU64::new((random >> 64) as u64),
            stats: Stats {
                started: Instant::now(),
                requests: AtomicU64::new(0),
                failures: AtomicU64::new(0),
            },
        }
    }

    /// A new username of this run. Digits and one `-` only: no two of them
    /// are look-alikes of each other, which the users service would refuse.
    fn new_username(&self) -> String {
        format!("lg{}-{}", self.run_id, self.next_user.fetch_add(1, Ordering::Relaxed))
    }

    /// Remember an account that exists, for readers to visit.
    fn remember(&self, username: &str) {
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        if names.len() < 10_000 {
            names.push(username.to_owned());
        } else {
            let at = self.pick(names.len());
            names[at] = username.to_owned();
        }
    }

    /// An account this run created, if any yet.
    fn someone(&self) -> Option<String> {
        let names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        (!names.is_empty()).then(|| names[self.pick(names.len())].clone())
    }

    /// A number below `n` (n > 0), spread evenly (splitmix64 over a counter).
    fn pick(&self, n: usize) -> usize {
        let mut z = self.seed.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z % n.max(1) as u64) as usize
    }

    fn word(&self) -> &'static str {
        WORDS[self.pick(WORDS.len())]
    }

    /// The text of a new thought: words readers search for.
    fn thought_text(&self, author: &str) -> String {
        format!(
            "{} and {} by a {} #{} (loadgen {author})",
            self.word(),
            self.word(),
            self.word(),
            self.word()
        )
    }
}

/// What thoughts are about, and what readers search for.
const WORDS: [&str; 16] = [
    "coffee",
    "rust",
    "docker",
    "mountain",
    "river",
    "garden",
    "music",
    "python",
    "kubernetes",
    "bread",
    "winter",
    "sunset",
    "chess",
    "piano",
    "library",
    "bicycle",
];

static RUN: OnceLock<Run> = OnceLock::new();

/// Make `run` the one every journey uses (once per process).
pub fn install(run: Run) -> Result<&'static Run, String> {
    RUN.set(run).map_err(|_| "the run is already installed".to_owned())?;
    RUN.get().ok_or_else(|| "the run is not installed".to_owned())
}

fn run() -> Result<&'static Run, Box<TransactionError>> {
    RUN.get()
        .ok_or_else(|| Box::new(TransactionError::Custom("the run is not installed".into())))
}

// ---------------------------------------------------------------- requests

/// One answer, read whole.
struct Reply {
    status: u16,
    location: Option<String>,
    body: String,
    metric: GooseRequestMetric,
}

/// Mark the request of `metric` failed for `why` (goose counts it) and give
/// the error that ends the transaction.
fn fail(user: &mut GooseUser, metric: &mut GooseRequestMetric, why: &str) -> Box<TransactionError> {
    match user.set_failure(why, metric, None, None) {
        Err(e) => e,
        Ok(()) => Box::new(TransactionError::Custom(why.to_owned())),
    }
}

/// What an error page or JSON error says, briefly: the page's notice or
/// form error, else its title, else the start of the body.
fn gist(body: &str) -> String {
    let inside = |open: &str| {
        body.split_once(open)
            .and_then(|(_, rest)| rest.split_once('<'))
            .map(|(text, _)| text.to_owned())
    };
    let text = inside("role=\"alert\">")
        .or_else(|| inside("class=\"field-error\" id=\"text-error\">"))
        .or_else(|| inside("<title>"))
        .unwrap_or_else(|| body.to_owned());
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text.chars().take(160).collect()
}

/// Send a request goose measures under `name`, expecting status `expect`.
async fn exchange(
    user: &mut GooseUser,
    method: GooseMethod,
    name: &str,
    expect: u16,
    builder: reqwest::RequestBuilder,
) -> Result<(Reply, Vec<String>), Box<TransactionError>> {
    let run = run()?;
    let request = GooseRequest::builder()
        .method(method)
        .name(name)
        .expect_status_code(expect)
        .set_request_builder(builder)
        .build();
    let GooseResponse {
        request: mut metric,
        response,
    } = user.request(request).await?;
    run.stats.requests.fetch_add(1, Ordering::Relaxed);
    let response = match response {
        Ok(r) => r,
        Err(e) => {
            run.stats.failed(|| format!("{method} {name}: {e}"));
            return Err(Box::new(TransactionError::RequestFailed {
                raw_request: Box::new(metric),
            }));
        }
    };
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let cookies = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let body = match response.text().await {
        Ok(body) => body,
        Err(e) => {
            run.stats.failed(|| format!("{method} {name}: reading the body: {e}"));
            return Err(fail(user, &mut metric, "body not read"));
        }
    };
    if !metric.success {
        run.stats
            .failed(|| format!("{method} {name}: {status} (expected {expect}): {}", gist(&body)));
        return Err(Box::new(TransactionError::RequestFailed {
            raw_request: Box::new(metric),
        }));
    }
    let reply = Reply {
        status,
        location,
        body,
        metric,
    };
    Ok((reply, cookies))
}

/// Fail the step when what it shows is not what a user expects.
fn check(user: &mut GooseUser, reply: &mut Reply, ok: bool, what: &str) -> Result<(), Box<TransactionError>> {
    if ok {
        return Ok(());
    }
    if let Ok(run) = run() {
        let (status, body) = (reply.status, gist(&reply.body));
        run.stats
            .failed(|| format!("{}: {what} (status {status}: {body})", reply.metric.name));
    }
    Err(fail(user, &mut reply.metric, what))
}

/// Give the user a client of its own that does not follow redirects (and
/// keeps goose's `--timeout`, `--no-gzip` and `--accept-invalid-certs`).
async fn own_client(user: &mut GooseUser) -> TransactionResult {
    let timeout = user
        .config
        .timeout
        .as_deref()
        .and_then(|t| t.parse::<f64>().ok())
        .filter(|t| t.is_finite() && *t > 0.0)
        .map_or(run()?.timeout, Duration::from_secs_f64);
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .gzip(!user.config.no_gzip)
        .danger_accept_invalid_certs(user.config.accept_invalid_certs)
        .user_agent(concat!("mythoughts-loadgen/", env!("CARGO_PKG_VERSION")));
    user.set_client_builder(builder).await.map_err(Box::new)
}

// ----------------------------------------------------------------- browser

/// One simulated browser.
#[derive(Debug, Clone, Default)]
struct Browser {
    jar: Jar,
    /// The form token of the last page seen.
    csrf: Option<String>,
    /// The account of this browser, once signed up.
    username: Option<String>,
    signed_in: bool,
    /// Ids of own thoughts the last home page listed.
    mine: Vec<i64>,
}

fn browser(user: &mut GooseUser) -> &mut Browser {
    if user.get_session_data::<Browser>().is_none() {
        user.set_session_data(Browser::default());
    }
    user.get_session_data_unchecked_mut::<Browser>()
}

/// A page of the frontend: `GET` it, or `POST` a form as a same-origin
/// page would. Cookies are sent and kept; the form token is remembered.
async fn page(
    user: &mut GooseUser,
    method: GooseMethod,
    path: &str,
    name: &str,
    form: &[(&str, &str)],
    query: &[(&str, &str)],
    expect: u16,
) -> Result<Reply, Box<TransactionError>> {
    let mut builder = user.get_request_builder(&method, path)?;
    if let Some(cookies) = browser(user).jar.header() {
        builder = builder.header(COOKIE, cookies);
    }
    if !query.is_empty() {
        builder = builder.query(query);
    }
    if matches!(method, GooseMethod::Post) {
        builder = builder.header("sec-fetch-site", "same-origin").form(form);
    }
    let (reply, cookies) = exchange(user, method, name, expect, builder).await?;
    let b = browser(user);
    for line in &cookies {
        b.jar.store(line);
    }
    if let Some(token) = html::csrf(&reply.body) {
        b.csrf = Some(token.to_owned());
    }
    Ok(reply)
}

/// Expect a redirect to `to`.
fn redirected(user: &mut GooseUser, reply: &mut Reply, to: &str) -> TransactionResult {
    let ok = reply.location.as_deref() == Some(to);
    check(user, reply, ok, &format!("redirect to {to}"))
}

/// `GET /signup/`, `POST /signup/` with a new username: signed in, at `/`.
async fn sign_up(user: &mut GooseUser) -> TransactionResult {
    let run = run()?;
    let username = run.new_username();
    // A new visitor: nothing from an earlier account.
    *browser(user) = Browser::default();
    let mut form = page(user, GooseMethod::Get, "/signup/", "/signup/", &[], &[], 200).await?;
    let token = browser(user).csrf.clone().unwrap_or_default();
    check(user, &mut form, !token.is_empty(), "a sign-up form with a CSRF token")?;
    let fields = [
        ("username", username.as_str()),
        ("password", run.password.as_str()),
        ("csrf", token.as_str()),
    ];
    let mut done = page(user, GooseMethod::Post, "/signup/", "/signup/", &fields, &[], 303).await?;
    redirected(user, &mut done, "/")?;
    let has_session = browser(user).jar.has("session");
    check(user, &mut done, has_session, "a session cookie after sign-up")?;
    let b = browser(user);
    b.username = Some(username.clone());
    b.signed_in = true;
    b.csrf = None; // the nonce changed with the session
    run.remember(&username);
    Ok(())
}

/// `GET /login/`, `POST /login/` as this browser's account.
async fn sign_in(user: &mut GooseUser) -> TransactionResult {
    let run = run()?;
    let Some(username) = browser(user).username.clone() else {
        return Ok(()); // the sign-up of this round failed
    };
    let mut form = page(user, GooseMethod::Get, "/login/", "/login/", &[], &[], 200).await?;
    let token = browser(user).csrf.clone().unwrap_or_default();
    check(user, &mut form, !token.is_empty(), "a sign-in form with a CSRF token")?;
    let fields = [
        ("username", username.as_str()),
        ("password", run.password.as_str()),
        ("csrf", token.as_str()),
    ];
    let mut done = page(user, GooseMethod::Post, "/login/", "/login/", &fields, &[], 303).await?;
    redirected(user, &mut done, "/")?;
    let b = browser(user);
    b.signed_in = true;
    b.csrf = None;
    Ok(())
}

/// `POST /logout/` with the page's token: signed out, at `/login/`.
async fn sign_out(user: &mut GooseUser) -> TransactionResult {
    if !browser(user).signed_in {
        return Ok(());
    }
    if browser(user).csrf.is_none() {
        home(user).await?;
    }
    let token = browser(user).csrf.clone().unwrap_or_default();
    let mut done = page(
        user,
        GooseMethod::Post,
        "/logout/",
        "/logout/",
        &[("csrf", &token)],
        &[],
        303,
    )
    .await?;
    redirected(user, &mut done, "/login/")?;
    let still = browser(user).jar.has("session");
    check(user, &mut done, !still, "the session cookie cleared")?;
    let b = browser(user);
    b.signed_in = false;
    b.csrf = None;
    Ok(())
}

/// `GET /thoughts/`: the signed-in home page, with one's own thoughts.
async fn home(user: &mut GooseUser) -> TransactionResult {
    let Some(username) = browser(user).username.clone().filter(|_| browser(user).signed_in) else {
        return Ok(());
    };
    let mut reply = page(user, GooseMethod::Get, "/thoughts/", "/thoughts/", &[], &[], 200).await?;
    let ok = html::signed_in_as(&reply.body, &username) && reply.body.contains("Your thoughts");
    check(user, &mut reply, ok, "the home page of the signed-in user")?;
    browser(user).mine = html::deletable_ids(&reply.body);
    Ok(())
}

/// Writers sign up before anything else, and again if that failed.
async fn writer_ready(user: &mut GooseUser) -> TransactionResult {
    if browser(user).signed_in {
        return Ok(());
    }
    sign_up(user).await
}

/// `POST /thoughts/new`: back at `/thoughts/`.
async fn post(user: &mut GooseUser) -> TransactionResult {
    writer_ready(user).await?;
    if browser(user).csrf.is_none() {
        home(user).await?;
    }
    let run = run()?;
    let b = browser(user);
    let (token, author) = (
        b.csrf.clone().unwrap_or_default(),
        b.username.clone().unwrap_or_default(),
    );
    let text = run.thought_text(&author);
    let fields = [("text", text.as_str()), ("csrf", token.as_str())];
    let mut done = page(
        user,
        GooseMethod::Post,
        "/thoughts/new",
        "/thoughts/new",
        &fields,
        &[],
        303,
    )
    .await?;
    redirected(user, &mut done, "/thoughts/")
}

/// `POST /thoughts/<id>/delete` of one's own newest thought on the last home page.
async fn delete(user: &mut GooseUser) -> TransactionResult {
    writer_ready(user).await?;
    if browser(user).mine.is_empty() {
        return Ok(()); // nothing listed to delete yet
    }
    if browser(user).csrf.is_none() {
        home(user).await?;
    }
    let b = browser(user);
    let Some(id) = (!b.mine.is_empty()).then(|| b.mine.remove(0)) else {
        return Ok(());
    };
    let token = b.csrf.clone().unwrap_or_default();
    let path = format!("/thoughts/{id}/delete");
    let mut done = page(
        user,
        GooseMethod::Post,
        &path,
        "/thoughts/{id}/delete",
        &[("csrf", &token)],
        &[],
        303,
    )
    .await?;
    redirected(user, &mut done, "/thoughts/")
}

async fn writer_home(user: &mut GooseUser) -> TransactionResult {
    writer_ready(user).await?;
    home(user).await
}

/// `GET /search?search=<word>`: the results page for that word.
async fn search(user: &mut GooseUser) -> TransactionResult {
    let word = run()?.word();
    let mut reply = page(
        user,
        GooseMethod::Get,
        "/search",
        "/search",
        &[],
        &[("search", word)],
        200,
    )
    .await?;
    let ok = reply.body.contains(&format!("Results for “{word}”")) && !reply.body.contains("could not run");
    check(user, &mut reply, ok, "search results")
}

/// `GET /users/<username>/` of an account this run created.
async fn user_page(user: &mut GooseUser) -> TransactionResult {
    let run = run()?;
    // Before anyone signed up, an unknown name: an empty page, still a page.
    let name = run.someone().unwrap_or_else(|| format!("lg{}-0", run.run_id));
    let path = format!("/users/{name}/");
    let mut reply = page(user, GooseMethod::Get, &path, "/users/{username}/", &[], &[], 200).await?;
    let ok = reply.body.contains(&format!("<h1>@{name}</h1>"));
    check(user, &mut reply, ok, "the user's page")
}

async fn start_browser(user: &mut GooseUser) -> TransactionResult {
    own_client(user).await?;
    user.set_session_data(Browser::default());
    Ok(())
}

async fn start_writer(user: &mut GooseUser) -> TransactionResult {
    start_browser(user).await?;
    sign_up(user).await?;
    home(user).await
}

// --------------------------------------------------------------------- API

/// One API client: its account and token.
#[derive(Debug, Clone, Default)]
struct ApiClient {
    username: Option<String>,
    bearer: Option<String>,
    mine: Vec<i64>,
}

fn api_client(user: &mut GooseUser) -> &mut ApiClient {
    if user.get_session_data::<ApiClient>().is_none() {
        user.set_session_data(ApiClient::default());
    }
    user.get_session_data_unchecked_mut::<ApiClient>()
}

/// A JSON call to `url` (absolute) with the token when signed in.
async fn call(
    user: &mut GooseUser,
    method: GooseMethod,
    url: &str,
    name: &str,
    form: &[(&str, &str)],
    query: &[(&str, &str)],
    expect: u16,
) -> Result<Reply, Box<TransactionError>> {
    let mut builder = user.get_request_builder(&method, url)?;
    if let Some(bearer) = &api_client(user).bearer {
        builder = builder.header(AUTHORIZATION, bearer);
    }
    if !query.is_empty() {
        builder = builder.query(query);
    }
    if !form.is_empty() {
        builder = builder.form(form);
    }
    Ok(exchange(user, method, name, expect, builder).await?.0)
}

fn apis() -> Result<(&'static str, &'static str), Box<TransactionError>> {
    let t = &run()?.target;
    match (&t.users_api, &t.thoughts_api) {
        (Some(u), Some(th)) => Ok((u.trim_end_matches('/'), th.trim_end_matches('/'))),
        _ => Err(Box::new(TransactionError::Custom(
            "the api journey needs --users-url and --thoughts-url".into(),
        ))),
    }
}

fn json(reply: &Reply) -> Option<serde_json::Value> {
    serde_json::from_str(&reply.body).ok()
}

/// `POST /api/users/` then `POST /api/login/`: a token.
async fn api_sign_up(user: &mut GooseUser) -> TransactionResult {
    let run = run()?;
    let (users, _) = apis()?;
    let username = run.new_username();
    *api_client(user) = ApiClient::default();
    let fields = [("username", username.as_str()), ("password", run.password.as_str())];
    let url = format!("{users}/api/users/");
    let mut created = call(user, GooseMethod::Post, &url, "/api/users/", &fields, &[], 201).await?;
    let ok = json(&created).is_some_and(|v| v["username"] == username.as_str());
    check(user, &mut created, ok, "the new user")?;
    run.remember(&username);
    let url = format!("{users}/api/login/");
    let mut login = call(user, GooseMethod::Post, &url, "/api/login/", &fields, &[], 200).await?;
    let bearer = json(&login)
        .and_then(|v| v["Authorized"].as_str().map(str::to_owned))
        .filter(|b| b.starts_with("Bearer "));
    check(user, &mut login, bearer.is_some(), "a bearer token")?;
    let client = api_client(user);
    client.username = Some(username);
    client.bearer = bearer;
    Ok(())
}

async fn api_ready(user: &mut GooseUser) -> TransactionResult {
    if api_client(user).bearer.is_some() {
        return Ok(());
    }
    api_sign_up(user).await
}

/// `POST /api/me/thoughts/`: 201 with the new thought's id.
async fn api_post(user: &mut GooseUser) -> TransactionResult {
    api_ready(user).await?;
    let run = run()?;
    let (_, thoughts) = apis()?;
    let author = api_client(user).username.clone().unwrap_or_default();
    let text = run.thought_text(&author);
    let url = format!("{thoughts}/api/me/thoughts/");
    let mut reply = call(
        user,
        GooseMethod::Post,
        &url,
        "/api/me/thoughts/",
        &[("text", &text)],
        &[],
        201,
    )
    .await?;
    let id = json(&reply).and_then(|v| v["id"].as_i64());
    check(user, &mut reply, id.is_some(), "the new thought's id")?;
    api_client(user).mine.extend(id);
    Ok(())
}

/// `GET /api/me/thoughts/`: a list holding what we posted.
async fn api_mine(user: &mut GooseUser) -> TransactionResult {
    api_ready(user).await?;
    let (_, thoughts) = apis()?;
    let url = format!("{thoughts}/api/me/thoughts/");
    let mut reply = call(user, GooseMethod::Get, &url, "/api/me/thoughts/", &[], &[], 200).await?;
    let expected: Vec<i64> = api_client(user).mine.clone();
    let ok = json(&reply).and_then(|v| v.as_array().cloned()).is_some_and(|items| {
        let ids: Vec<i64> = items.iter().filter_map(|t| t["id"].as_i64()).collect();
        // A full page (LIST_MAX_ITEMS, 1000 by default) may leave newer ones out.
        ids.len() >= 1000 || expected.iter().all(|id| ids.contains(id))
    });
    check(user, &mut reply, ok, "a list of one's own thoughts")
}

/// `GET /api/thoughts/?search=<word>`: a list.
async fn api_search(user: &mut GooseUser) -> TransactionResult {
    let word = run()?.word();
    let (_, thoughts) = apis()?;
    let url = format!("{thoughts}/api/thoughts/");
    let mut reply = call(
        user,
        GooseMethod::Get,
        &url,
        "/api/thoughts/?search=",
        &[],
        &[("search", word)],
        200,
    )
    .await?;
    let ok = json(&reply).is_some_and(|v| v.is_array());
    check(user, &mut reply, ok, "a list of thoughts")
}

/// `GET /api/thoughts/<id>/` of one's own latest thought.
async fn api_read(user: &mut GooseUser) -> TransactionResult {
    api_ready(user).await?;
    let Some(id) = api_client(user).mine.last().copied() else {
        return Ok(());
    };
    let (_, thoughts) = apis()?;
    let url = format!("{thoughts}/api/thoughts/{id}/");
    let mut reply = call(user, GooseMethod::Get, &url, "/api/thoughts/{id}/", &[], &[], 200).await?;
    let ok = json(&reply).is_some_and(|v| v["id"].as_i64() == Some(id));
    check(user, &mut reply, ok, "the thought asked for")
}

/// `DELETE /api/me/thoughts/<id>/` of one's own oldest thought: 204.
async fn api_delete(user: &mut GooseUser) -> TransactionResult {
    api_ready(user).await?;
    let client = api_client(user);
    let Some(id) = (!client.mine.is_empty()).then(|| client.mine.remove(0)) else {
        return Ok(());
    };
    let (_, thoughts) = apis()?;
    let url = format!("{thoughts}/api/me/thoughts/{id}/");
    call(user, GooseMethod::Delete, &url, "/api/me/thoughts/{id}/", &[], &[], 204).await?;
    Ok(())
}

async fn start_api(user: &mut GooseUser) -> TransactionResult {
    own_client(user).await?;
    user.set_session_data(ApiClient::default());
    api_sign_up(user).await
}

// --------------------------------------------------------------- scenarios

/// The journeys, by name, in the order `--mix` lists them.
pub const JOURNEYS: [&str; 4] = ["reader", "writer", "newcomer", "api"];

fn named(t: Transaction, name: &str) -> Transaction {
    t.set_name(name)
}

fn weighted(t: Transaction, name: &str, weight: usize) -> Result<Transaction, GooseError> {
    t.set_name(name).set_weight(weight)
}

/// The scenario of journey `name` with `weight`, users pausing between
/// steps for `think` (min, max).
pub fn scenario(name: &str, weight: usize, think: (Duration, Duration)) -> Result<Scenario, GooseError> {
    let s = Scenario::new(name)
        .set_weight(weight)?
        .set_wait_time(think.0, think.1)?;
    Ok(match name {
        "reader" => s
            .register_transaction(named(transaction!(start_browser), "start").set_on_start())
            .register_transaction(weighted(transaction!(search), "search", 3)?)
            .register_transaction(weighted(transaction!(user_page), "user page", 2)?),
        "writer" => s
            .register_transaction(named(transaction!(start_writer), "sign up").set_on_start())
            .register_transaction(weighted(transaction!(writer_home), "home", 3)?)
            .register_transaction(weighted(transaction!(post), "post", 2)?)
            .register_transaction(weighted(transaction!(delete), "delete", 1)?),
        "newcomer" => s
            .register_transaction(named(transaction!(start_browser), "start").set_on_start())
            .register_transaction(named(transaction!(sign_up), "sign up").set_sequence(1))
            .register_transaction(named(transaction!(home), "home").set_sequence(2))
            .register_transaction(named(transaction!(sign_out), "sign out").set_sequence(3))
            .register_transaction(named(transaction!(sign_in), "sign in").set_sequence(4))
            .register_transaction(named(transaction!(home), "home again").set_sequence(5))
            .register_transaction(named(transaction!(sign_out), "sign out again").set_sequence(6)),
        "api" => s
            .register_transaction(named(transaction!(start_api), "sign up and log in").set_on_start())
            .register_transaction(weighted(transaction!(api_post), "post", 2)?)
            .register_transaction(weighted(transaction!(api_mine), "my thoughts", 2)?)
            .register_transaction(weighted(transaction!(api_search), "search", 2)?)
            .register_transaction(weighted(transaction!(api_read), "read one", 1)?)
            .register_transaction(weighted(transaction!(api_delete), "delete", 1)?),
        other => {
            return Err(GooseError::InvalidOption {
                option: "--mix".into(),
                value: other.into(),
                detail: format!("no journey {other:?}; journeys: {}", JOURNEYS.join(", ")),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_unique_and_plain() {
        let run = Run::new(
            Target {
                frontend: "http://127.0.0.1:1".into(),
                users_api: None,
                thoughts_api: None,
            },
            Duration::from_secs(1),
        );
        let a = run.new_username();
        let b = run.new_username();
        assert_ne!(a, b);
        for name in [&a, &b] {
            assert!(name.len() <= 50, "{name}");
            assert!(
                name.starts_with("lg") && name[2..].chars().all(|c| c.is_ascii_digit() || c == '-'),
                "{name}"
            );
        }
        assert!(run.password.len() >= 12, "longer than the default minimum");
        let text = run.thought_text(&a);
        assert!(text.chars().count() <= 250 && text.contains(&a), "{text}");
        // picks spread over every word
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            seen.insert(run.word());
        }
        assert_eq!(seen.len(), WORDS.len());
    }

    #[test]
    fn error_pages_are_summed_up_by_their_notice() {
        let page = r#"<main><p class="notice" role="alert">Too many attempts. Wait a minute.</p>"#;
        assert_eq!(gist(page), "Too many attempts. Wait a minute.");
        let form = "<title>Your thoughts · MyThoughts</title>\n<p class=\"field-error\" id=\"text-error\">You are\n posting too fast.</p>";
        assert_eq!(gist(form), "You are posting too fast.");
        assert_eq!(gist("<title>Not found · MyThoughts</title>"), "Not found · MyThoughts");
        assert_eq!(gist(r#" {"message": "nope"} "#), r#"{"message": "nope"}"#);
        assert_eq!(gist(&"x".repeat(500)).len(), 160);
    }
}
