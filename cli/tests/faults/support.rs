//! What every fault test needs: the services as real processes (so they can
//! be killed, frozen and started again on the same ports), a bounded load
//! that records every request, a summary of what it saw, the frontend's
//! metrics, and the fault-table line each test prints.

use reqwest::StatusCode;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::process::ServiceProcess;

/// The frontend's whole-call deadline for a backend call (`BACKEND_TIMEOUT_MS`).
pub(crate) const DEADLINE: Duration = Duration::from_millis(1000);
/// The longest one attempt of a backend call may take (`OUTGOING_ATTEMPT_TIMEOUT_MS`).
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(800);
/// The frontend's connect deadline (`BACKEND_CONNECT_TIMEOUT_MS`).
pub(crate) const CONNECT_DEADLINE: Duration = Duration::from_millis(250);
/// What a page may take beyond [`DEADLINE`]: rendering, the debug build, two
/// shared cores.
pub(crate) const MARGIN: Duration = Duration::from_millis(500);
/// The test client's own timeout: far beyond any deadline, so a hang shows
/// as a latency (or a timeout) instead of a stuck test.
pub(crate) const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);

/// The words every degraded page says: the backend "is not answering
/// right now" (pages), or "the users service is not answering" (forms).
pub(crate) const DEGRADED_NOTICE: &str = "service is not answering";

/// The path of a service binary built beside `mythoughts` (same profile).
fn binary(name: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_BIN_EXE_mythoughts"));
    let path = dir.parent().expect("target directory").join(name);
    assert!(
        path.exists(),
        "{} is missing: build the services first (`cargo build --workspace --bins`; \
         `cargo nextest run --workspace` does it, and so does .ci/run)",
        path.display()
    );
    path.display().to_string()
}

/// One service running as its own process, restartable on the same ports
/// with the same settings.
pub(crate) struct Service {
    name: &'static str,
    binary: String,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    /// The process (signals, log).
    pub(crate) process: ServiceProcess,
    /// Its public port.
    pub(crate) port: u16,
    /// Its admin port (`/metrics`).
    pub(crate) admin_port: u16,
}

impl Service {
    /// Start `users`, `thoughts` or `frontend` with `envs` on free loopback ports.
    pub(crate) fn start(name: &'static str, envs: Vec<(String, String)>) -> Self {
        Self::spawn(name, binary(&format!("{name}-service")), Vec::new(), envs, 0, 0)
    }

    /// Start service `name` through a wrapper: `wrapper(binary)` gives the
    /// program and its arguments (e.g. `unshare ... <binary>`).
    pub(crate) fn start_wrapped(
        name: &'static str,
        wrapper: impl FnOnce(String) -> (String, Vec<String>),
        envs: Vec<(String, String)>,
    ) -> Self {
        let (program, args) = wrapper(binary(&format!("{name}-service")));
        Self::spawn(name, program, args, envs, 0, 0)
    }

    fn spawn(
        name: &'static str,
        binary: String,
        args: Vec<String>,
        envs: Vec<(String, String)>,
        port: u16,
        admin: u16,
    ) -> Self {
        let mut all: Vec<(String, String)> = vec![
            ("HOST".into(), "127.0.0.1".into()),
            ("ADMIN_HOST".into(), "127.0.0.1".into()),
            ("PORT".into(), port.to_string()),
            ("ADMIN_PORT".into(), admin.to_string()),
            ("SHUTDOWN_DRAIN_SECONDS".into(), "0".into()),
        ];
        all.extend(envs.iter().cloned());
        let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let process = tokio::task::block_in_place(|| ServiceProcess::start(&binary, &arg_refs, &refs, 1));
        let port = process.port(name);
        let admin_port = process.admin_port(name);
        Self {
            name,
            binary,
            args,
            envs,
            process,
            port,
            admin_port,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:<admin port>`.
    pub(crate) fn admin_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.admin_port)
    }

    /// `kill -9`; returns once the process is gone.
    pub(crate) fn kill9(&mut self) {
        tokio::task::block_in_place(|| self.process.kill());
    }

    /// Start it again (after [`Service::kill9`]) on the same ports with
    /// the same settings and data; returns once it listens.
    pub(crate) fn restart(&mut self) {
        let again = Self::spawn(
            self.name,
            self.binary.clone(),
            self.args.clone(),
            self.envs.clone(),
            self.port,
            self.admin_port,
        );
        *self = again;
    }

    /// Stop with SIGTERM and wait (at most 30 s) for a clean exit.
    pub(crate) fn stop(&mut self) -> Option<i32> {
        self.process.terminate();
        tokio::task::block_in_place(|| self.process.wait(Duration::from_secs(30)))
    }
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// The users service's settings: its database, the test key pair, and
/// limits high enough that the load is never refused for being one address.
pub(crate) fn users_env(database_url: &str) -> Vec<(String, String)> {
    owned(&[
        ("DATABASE_URL", database_url),
        ("PRIVATE_KEY_PATH", &testkit::keys().private_path.display().to_string()),
        ("LOGIN_ATTEMPTS_PER_ADDRESS", "1000000"),
        ("SIGNUPS_PER_ADDRESS", "1000000"),
        ("SIGNUPS_PER_MINUTE", "1000000"),
        ("PASSWORD_MIN_LENGTH", "8"),
    ])
}

/// The thoughts service's settings: its database, the test public key, no
/// posting or search limits.
pub(crate) fn thoughts_env(database_url: &str) -> Vec<(String, String)> {
    owned(&[
        ("DATABASE_URL", database_url),
        ("PUBLIC_KEY_PATH", &testkit::keys().public_path.display().to_string()),
        ("POSTS_PER_ACCOUNT_PER_MINUTE", "0"),
        ("SEARCHES_PER_ADDRESS_PER_MINUTE", "1000000"),
    ])
}

/// The frontend's settings: its backends and the deadlines of this suite.
pub(crate) fn frontend_env(users_url: &str, thoughts_url: &str) -> Vec<(String, String)> {
    owned(&[
        ("USER_BACKEND_URL", users_url),
        ("THOUGHTS_BACKEND_URL", thoughts_url),
        ("PUBLIC_KEY_PATH", &testkit::keys().public_path.display().to_string()),
        ("BACKEND_TIMEOUT_MS", &DEADLINE.as_millis().to_string()),
        ("BACKEND_CONNECT_TIMEOUT_MS", &CONNECT_DEADLINE.as_millis().to_string()),
        // One attempt may take 800 of the call's 1000 ms, as the defaults
        // (2500 of 3000) leave room for a retry after a slow attempt.
        ("OUTGOING_ATTEMPT_TIMEOUT_MS", &ATTEMPT_TIMEOUT.as_millis().to_string()),
        ("PASSWORD_MIN_LENGTH", "8"),
    ])
}

/// A fresh SQLite database URL in `dir`.
pub(crate) fn sqlite_url(dir: &std::path::Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(format!("{name}.sqlite3")).display())
}

/// An HTTP client that follows no redirect and gives up after [`CLIENT_TIMEOUT`].
pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(CLIENT_TIMEOUT)
        .build()
        .expect("client")
}

/// `Authorization` value of a token for `username`, signed with the test key.
pub(crate) fn bearer(username: &str) -> String {
    let signer = tokens::Signer::from_pem(testkit::keys().private_pem.as_bytes()).expect("signer");
    format!("Bearer {}", signer.issue(username, false).expect("token"))
}

/// What became of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// An answer, whole; `degraded` when it is the page saying a backend is
    /// not answering.
    Answered {
        /// HTTP status.
        status: u16,
        /// The degraded page ([`DEGRADED_NOTICE`]).
        degraded: bool,
    },
    /// The connection was refused: nothing was sent.
    NotSent(String),
    /// Sent, but no (whole) answer came: cut, reset, or timed out. A write
    /// in this state is "in doubt".
    NoAnswer(String),
}

impl Outcome {
    /// Read a response whole and classify it.
    pub(crate) async fn of(result: reqwest::Result<reqwest::Response>) -> Self {
        match result {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.text().await {
                    Ok(body) => Self::Answered {
                        status,
                        degraded: status == 503 && body.contains(DEGRADED_NOTICE),
                    },
                    Err(e) => Self::NoAnswer(format!("body: {e}")),
                }
            }
            Err(e) if e.is_connect() => Self::NotSent(e.to_string()),
            Err(e) => Self::NoAnswer(e.to_string()),
        }
    }

    /// The status, when answered.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            Self::Answered { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True for the degraded page.
    pub(crate) fn degraded(&self) -> bool {
        matches!(self, Self::Answered { degraded: true, .. })
    }
}

/// One request of a load.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    /// When it was sent.
    pub(crate) started: Instant,
    /// How long until it was answered (or failed).
    pub(crate) latency: Duration,
    /// What became of it.
    pub(crate) outcome: Outcome,
    /// What the request carried (e.g. the unique text of a write).
    pub(crate) tag: String,
}

impl Sample {
    /// When it was answered (or failed).
    pub(crate) fn ended(&self) -> Instant {
        self.started + self.latency
    }
}

/// Most requests one worker sends, and the longest a load runs: every load
/// is bounded even if a test forgets to stop it.
const MAX_PER_WORKER: u64 = 5_000;
const MAX_LOAD_TIME: Duration = Duration::from_secs(90);

/// Workers sending requests until stopped (bounded in count and time),
/// every request recorded.
pub(crate) struct Load {
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// `workers` workers, each sending `request(worker, n)` at most once per
    /// `pace`; the future answers the outcome and a tag.
    pub(crate) fn start<F, Fut>(workers: usize, pace: Duration, request: F) -> Self
    where
        F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = (Outcome, String)> + Send + 'static,
    {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let request = Arc::new(request);
        let hard_stop = Instant::now() + MAX_LOAD_TIME;
        let workers = (0..workers)
            .map(|w| {
                let (samples, stop, request) = (samples.clone(), stop.clone(), request.clone());
                tokio::spawn(async move {
                    for n in 0..MAX_PER_WORKER {
                        if stop.load(Ordering::SeqCst) || Instant::now() > hard_stop {
                            break;
                        }
                        let started = Instant::now();
                        let (outcome, tag) = request(w, n).await;
                        let latency = started.elapsed();
                        lock(&samples).push(Sample {
                            started,
                            latency,
                            outcome,
                            tag,
                        });
                        tokio::time::sleep(pace.saturating_sub(latency)).await;
                    }
                })
            })
            .collect();
        Self { samples, stop, workers }
    }

    /// Everything recorded so far.
    pub(crate) fn samples(&self) -> Vec<Sample> {
        lock(&self.samples).clone()
    }

    /// Poll (every 20 ms, at most `limit`) until `done` holds for the
    /// samples so far; panics naming `what` otherwise.
    pub(crate) async fn wait_for(&self, what: &str, limit: Duration, done: impl Fn(&[Sample]) -> bool) {
        let deadline = Instant::now() + limit;
        while !done(&lock(&self.samples)) {
            assert!(
                Instant::now() < deadline,
                "{what}: not within {limit:?}; so far {}",
                Summary::of(&self.samples())
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stop the workers (each finishes its request in flight) and return
    /// every sample.
    pub(crate) async fn stop(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::SeqCst);
        for worker in self.workers {
            let _ = worker.await;
        }
        lock(&self.samples).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Counts over samples: what every test prints.
#[derive(Debug, Default, Clone)]
pub(crate) struct Summary {
    /// Requests sent (or attempted).
    pub(crate) sent: usize,
    /// Answers, by status.
    pub(crate) by_status: BTreeMap<u16, usize>,
    /// Degraded pages among the 503s.
    pub(crate) degraded: usize,
    /// Refused connections (nothing sent).
    pub(crate) not_sent: usize,
    /// Sent and never (wholly) answered.
    pub(crate) no_answer: usize,
    /// Slowest request.
    pub(crate) max_latency: Duration,
}

impl Summary {
    /// Count `samples`.
    pub(crate) fn of(samples: &[Sample]) -> Self {
        let mut s = Self {
            sent: samples.len(),
            ..Self::default()
        };
        for sample in samples {
            s.max_latency = s.max_latency.max(sample.latency);
            match &sample.outcome {
                Outcome::Answered { status, degraded } => {
                    *s.by_status.entry(*status).or_default() += 1;
                    s.degraded += usize::from(*degraded);
                }
                Outcome::NotSent(_) => s.not_sent += 1,
                Outcome::NoAnswer(_) => s.no_answer += 1,
            }
        }
        s
    }

    /// Answers with status `status`.
    pub(crate) fn status(&self, status: u16) -> usize {
        self.by_status.get(&status).copied().unwrap_or(0)
    }

    /// Answers with a 5xx status.
    pub(crate) fn server_errors(&self) -> usize {
        self.by_status.iter().filter(|(s, _)| **s >= 500).map(|(_, n)| n).sum()
    }

    /// Requests without a whole answer (refused or cut).
    pub(crate) fn failed(&self) -> usize {
        self.not_sent + self.no_answer
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let statuses: Vec<String> = self.by_status.iter().map(|(s, n)| format!("{s}×{n}")).collect();
        write!(
            f,
            "sent {}, answered [{}], 5xx {} (degraded pages {}), failed {} (refused {}, no answer {}), max latency {} ms",
            self.sent,
            statuses.join(" "),
            self.server_errors(),
            self.degraded,
            self.failed(),
            self.not_sent,
            self.no_answer,
            self.max_latency.as_millis()
        )
    }
}

/// Samples sent in `[from, to)`.
pub(crate) fn sent_between(samples: &[Sample], from: Instant, to: Instant) -> Vec<Sample> {
    samples
        .iter()
        .filter(|s| s.started >= from && s.started < to)
        .cloned()
        .collect()
}

/// How long after `t` the first sample matching `pred` was answered (among
/// those answered after `t`).
pub(crate) fn first_answer_after(samples: &[Sample], t: Instant, pred: impl Fn(&Sample) -> bool) -> Option<Duration> {
    samples
        .iter()
        .filter(|s| s.ended() >= t && pred(s))
        .map(|s| s.ended() - t)
        .min()
}

/// One row of the fault table: printed by every test before it asserts, so
/// a failing run shows what it measured too (`--no-capture` shows them all).
pub(crate) fn report(fault: &str, injected: &str, measured: &str) {
    println!("fault-table | {fault} | injected: {injected} | measured: {measured}");
}

/// A Prometheus text exposition, parsed.
#[derive(Debug, Default)]
pub(crate) struct Metrics(Vec<(String, BTreeMap<String, String>, f64)>);

impl Metrics {
    /// Read `GET {admin}/metrics`.
    pub(crate) async fn read(admin_url: &str) -> Self {
        let body = http()
            .get(format!("{admin_url}/metrics"))
            .send()
            .await
            .expect("metrics answered")
            .text()
            .await
            .expect("metrics body");
        Self::parse(&body)
    }

    fn parse(text: &str) -> Self {
        let mut series = Vec::new();
        for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let (head, value) = match line.rsplit_once(' ') {
                Some(pair) => pair,
                None => continue,
            };
            let Ok(value) = value.parse::<f64>() else { continue };
            let (name, labels) = match head.split_once('{') {
                Some((name, rest)) => (name, parse_labels(rest.trim_end_matches('}'))),
                None => (head, BTreeMap::new()),
            };
            series.push((name.to_owned(), labels, value));
        }
        Self(series)
    }

    /// The sum of the series `name` whose labels include `labels`; 0 when none.
    pub(crate) fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).sum()
    }

    /// The value of the one series `name` with `labels`, if present.
    pub(crate) fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.matching(name, labels).next()
    }

    fn matching<'a>(&'a self, name: &'a str, labels: &'a [(&'a str, &'a str)]) -> impl Iterator<Item = f64> + 'a {
        self.0
            .iter()
            .filter(move |(n, l, _)| n == name && labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v)))
            .map(|(_, _, v)| *v)
    }
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(if escaped == 'n' { '\n' } else { escaped });
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        labels.insert(key.trim_start_matches(',').trim().to_owned(), value);
        rest = &after[end..];
    }
    labels
}

/// Sign up `username` on the users API (201).
pub(crate) async fn sign_up(users_url: &str, username: &str, password: &str) {
    let response = http()
        .post(format!("{users_url}/api/users/"))
        .form(&[("username", username), ("password", password)])
        .send()
        .await
        .expect("sign-up sent");
    assert_eq!(response.status(), StatusCode::CREATED, "sign up {username}");
}

/// Post a thought on the thoughts API.
pub(crate) async fn post_thought(
    http: &reqwest::Client,
    thoughts_url: &str,
    bearer: &str,
    text: &str,
) -> reqwest::Result<reqwest::Response> {
    http.post(format!("{thoughts_url}/api/me/thoughts/"))
        .header("authorization", bearer)
        .form(&[("text", text)])
        .send()
        .await
}

/// Every text of the caller's thoughts, oldest first (paged 1000 at a time,
/// at most 100 pages).
pub(crate) async fn stored_texts(thoughts_url: &str, bearer: &str) -> Vec<String> {
    let http = http();
    let mut texts = Vec::new();
    let mut after = 0i64;
    for _ in 0..100 {
        let page: Vec<serde_json::Value> = http
            .get(format!("{thoughts_url}/api/me/thoughts/?limit=1000&after={after}"))
            .header("authorization", bearer)
            .send()
            .await
            .expect("list sent")
            .error_for_status()
            .expect("list answered")
            .json()
            .await
            .expect("list body");
        let Some(last) = page.last() else { break };
        after = last["id"].as_i64().expect("id");
        texts.extend(page.iter().map(|t| t["text"].as_str().expect("text").to_owned()));
    }
    texts
}

/// The frontend's sign-in form as a browser holds it: the `csrf` cookie and
/// the form's token (both reusable while signed out).
#[derive(Debug, Clone)]
pub(crate) struct SignInForm {
    cookie: String,
    token: String,
}

impl SignInForm {
    /// `GET /login/` (no backend involved).
    pub(crate) async fn fetch(frontend: &str) -> Self {
        let page = http()
            .get(format!("{frontend}/login/"))
            .send()
            .await
            .expect("login page");
        let cookie = page
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("csrf="))
            .and_then(|v| v.split(';').next())
            .expect("csrf cookie")
            .to_owned();
        let body = page.text().await.expect("body");
        let marker = "name=\"csrf\" value=\"";
        let start = body.find(marker).expect("csrf field") + marker.len();
        let token = body[start..].split('"').next().expect("value").to_owned();
        Self { cookie, token }
    }

    /// `POST /login/`: 303 with a session when the users service answers.
    pub(crate) async fn sign_in(
        &self,
        http: &reqwest::Client,
        frontend: &str,
        username: &str,
        password: &str,
    ) -> reqwest::Result<reqwest::Response> {
        http.post(format!("{frontend}/login/"))
            .header("cookie", &self.cookie)
            .header("sec-fetch-site", "same-origin")
            .form(&[
                ("username", username),
                ("password", password),
                ("csrf", self.token.as_str()),
            ])
            .send()
            .await
    }
}

/// Let an injected fault last `duration` from `since` (polling the clock,
/// no single long sleep).
pub(crate) async fn hold_until(since: Instant, duration: Duration) {
    while since.elapsed() < duration {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Milliseconds, for the tables.
pub(crate) fn ms(d: Duration) -> u128 {
    d.as_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expositions_are_parsed_with_their_labels() {
        let m = Metrics::parse(
            "# HELP x y\n\
             outgoing_breaker_state{target=\"users\"} 2\n\
             outgoing_requests_total{target=\"users\",outcome=\"breaker_open\"} 7\n\
             outgoing_requests_total{outcome=\"success\",target=\"users\"} 3\n\
             odd{l=\"a\\\"b,c\"} 1.5\n\
             plain 4\n",
        );
        assert_eq!(m.value("outgoing_breaker_state", &[("target", "users")]), Some(2.0));
        assert_eq!(m.sum("outgoing_requests_total", &[("target", "users")]), 10.0);
        assert_eq!(m.sum("outgoing_requests_total", &[("outcome", "breaker_open")]), 7.0);
        assert_eq!(m.value("odd", &[("l", "a\"b,c")]), Some(1.5));
        assert_eq!(m.value("plain", &[]), Some(4.0));
        assert_eq!(m.value("absent", &[]), None);
    }
}
