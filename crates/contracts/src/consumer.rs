//! The consumer side: declare an interaction, run the consumer's real
//! client code against a mock provider that answers only that interaction,
//! and record the contract.
//!
//! Each interaction gets its own mock (axum on `127.0.0.1:0`): the test
//! fails when the consumer's request does not match what it declared (every
//! difference listed) or when it never sends it. [`PactBuilder::finish`]
//! then compares the recorded contract with the committed file in
//! `contracts/pacts/` and fails when they differ, saying how to update it.

use crate::dsl;
use crate::matching::{self, ExtraKeys, Mismatch, compare_headers, compare_pairs, compare_text, parse_pairs};
use crate::pact::{
    Generator, Generators, Interaction, MatchingRules, Pact, Pacticipant, ProviderState, Request, Response, RuleList,
    SPECIFICATION_VERSION,
};
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The workspace's root folder (where `contracts/pacts/` lives).
pub fn workspace_dir() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .and_then(Path::parent)
        .map_or_else(|| here.to_path_buf(), Path::to_path_buf)
}

/// The folder of the committed contracts: `contracts/pacts/`.
pub fn pact_dir() -> PathBuf {
    workspace_dir().join("contracts").join("pacts")
}

/// The file name of the contract between `consumer` and `provider`.
pub fn pact_file_name(consumer: &str, provider: &str) -> String {
    format!("{consumer}-{provider}.json")
}

/// The expected request of an interaction, built step by step.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    request: Request,
}

impl RequestSpec {
    /// `method` on `path` (exactly as the consumer sends it, trailing slash included).
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            request: Request {
                method: method.to_ascii_uppercase(),
                path: path.to_owned(),
                query: BTreeMap::new(),
                headers: BTreeMap::new(),
                body: None,
                matching_rules: MatchingRules::default(),
                generators: Generators::default(),
            },
        }
    }

    /// `GET path`.
    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }

    /// `POST path`.
    pub fn post(path: &str) -> Self {
        Self::new("POST", path)
    }

    /// `DELETE path`.
    pub fn delete(path: &str) -> Self {
        Self::new("DELETE", path)
    }

    /// The path comes from the provider's state set-up: `expression` with
    /// `${name}` placeholders (`/api/me/thoughts/${id}/`); the path given
    /// to the constructor is the example the consumer sends to the mock.
    pub fn path_from_state(mut self, expression: &str) -> Self {
        self.request.generators.path = Some(Generator::ProviderState {
            expression: expression.to_owned(),
        });
        self
    }

    /// A query parameter (repeat the call for several values).
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.request
            .query
            .entry(name.to_owned())
            .or_default()
            .push(value.to_owned());
        self
    }

    /// A query parameter whose value comes from the provider's state (`${name}`).
    pub fn query_from_state(mut self, name: &str, expression: &str, example: &str) -> Self {
        self.request.generators.query.insert(
            name.to_owned(),
            Generator::ProviderState {
                expression: expression.to_owned(),
            },
        );
        self.query(name, example)
    }

    /// A header the consumer sends and the provider must accept.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request.headers.insert(name.to_owned(), value.to_owned());
        self
    }

    /// A header whose value comes from the provider's state (a token the
    /// state set-up minted: `${bearer}`); the consumer sends `example`.
    pub fn header_from_state(mut self, name: &str, expression: &str, example: &str) -> Self {
        self.request.generators.header.insert(
            name.to_owned(),
            Generator::ProviderState {
                expression: expression.to_owned(),
            },
        );
        self.header(name, example)
    }

    /// A form body (`application/x-www-form-urlencoded`), fields in this order.
    pub fn form(mut self, fields: &[(&str, &str)]) -> Self {
        let body = serde_urlencoded::to_string(fields).unwrap_or_default();
        self.request.body = Some(Value::String(body));
        self.header("Content-Type", "application/x-www-form-urlencoded")
    }

    /// A form field whose value comes from the provider's state (`${refresh}`);
    /// the form given to [`RequestSpec::form`] holds the example.
    pub fn form_field_from_state(mut self, name: &str, expression: &str) -> Self {
        let path = matching::render_path(&[matching::Segment::Key(name.to_owned())]);
        self.request.generators.body.insert(
            path,
            Generator::ProviderState {
                expression: expression.to_owned(),
            },
        );
        self
    }

    fn build(self) -> Request {
        self.request
    }
}

/// The response an interaction relies on, built step by step.
#[derive(Debug, Clone)]
pub struct ResponseSpec {
    response: Response,
    body: Option<Value>,
}

impl ResponseSpec {
    /// A response with this status code.
    pub fn status(status: u16) -> Self {
        Self {
            response: Response {
                status,
                headers: BTreeMap::new(),
                body: None,
                matching_rules: MatchingRules::default(),
            },
            body: None,
        }
    }

    /// A header the consumer reads, exactly this value.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.response.headers.insert(name.to_owned(), value.to_owned());
        self
    }

    /// A header the consumer reads, any value matching `regex`.
    pub fn header_matching(mut self, name: &str, regex: &str, example: &str) -> Self {
        self.response.matching_rules.header.insert(
            name.to_owned(),
            RuleList::one(crate::pact::Matcher::Regex {
                regex: regex.to_owned(),
            }),
        );
        self.header(name, example)
    }

    /// A JSON body written with [`dsl`] matchers (and `Content-Type: application/json`).
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self.header("Content-Type", "application/json")
    }

    fn build(self) -> Result<Response, String> {
        let mut response = self.response;
        if let Some(body) = &self.body {
            let (example, rules) = dsl::extract(body)?;
            response.body = Some(example);
            response.matching_rules.body = rules;
        }
        Ok(response)
    }
}

/// The contract one consumer records with one provider.
#[derive(Debug)]
pub struct PactBuilder {
    consumer: String,
    provider: String,
    interactions: Vec<Interaction>,
}

impl PactBuilder {
    /// The contract of `consumer` with `provider` (service names).
    pub fn new(consumer: &str, provider: &str) -> Self {
        Self {
            consumer: consumer.to_owned(),
            provider: provider.to_owned(),
            interactions: Vec::new(),
        }
    }

    /// Declare an interaction; [`InteractionBuilder::test`] runs it.
    pub fn interaction(&mut self, description: &str) -> InteractionBuilder<'_> {
        InteractionBuilder {
            pact: self,
            description: description.to_owned(),
            states: Vec::new(),
            request: None,
            response: None,
        }
    }

    /// The contract recorded so far.
    pub fn pact(&self) -> Pact {
        Pact {
            consumer: Pacticipant {
                name: self.consumer.clone(),
            },
            provider: Pacticipant {
                name: self.provider.clone(),
            },
            interactions: self.interactions.clone(),
            metadata: sorted(json!({
                "pactSpecification": {"version": SPECIFICATION_VERSION},
                "mythoughts": {"recordedBy": "crates/contracts"},
            })),
        }
    }

    /// The contract as its file holds it (pretty JSON, final newline).
    pub fn render(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.pact()).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Check the recorded contract against the committed file
    /// `contracts/pacts/<consumer>-<provider>.json`: a difference fails,
    /// with what changed and the command that updates the file; with
    /// `UPDATE_PACTS=1` the file is written instead.
    pub fn finish(self) {
        if let Err(message) = self.finish_in(&pact_dir(), std::env::var_os("UPDATE_PACTS").is_some()) {
            panic!("{message}");
        }
    }

    /// [`PactBuilder::finish`] against the contracts in `dir`; `update`
    /// writes the file instead of failing.
    pub fn finish_in(self, dir: &Path, update: bool) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for i in &self.interactions {
            if !seen.insert((
                &i.description,
                serde_json::to_string(&i.provider_states).unwrap_or_default(),
            )) {
                return Err(format!(
                    "two interactions of {}-{} are described {:?}: descriptions must be unique",
                    self.consumer, self.provider, i.description
                ));
            }
        }
        let name = pact_file_name(&self.consumer, &self.provider);
        let file = dir.join(&name);
        let fresh = self.render();
        let committed = std::fs::read_to_string(&file).ok();
        if committed.as_deref() == Some(fresh.as_str()) {
            return Ok(());
        }
        if update {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            std::fs::write(&file, &fresh).map_err(|e| format!("{}: {e}", file.display()))?;
            eprintln!("contracts: wrote {}", file.display());
            return Ok(());
        }
        let recorded = workspace_dir().join("target").join("pacts").join(&name);
        let saved = recorded
            .parent()
            .map(std::fs::create_dir_all)
            .and_then(Result::ok)
            .and_then(|()| std::fs::write(&recorded, &fresh).ok())
            .map_or(String::new(), |()| {
                format!(" (the recorded one is in {})", recorded.display())
            });
        let changes = match committed.as_deref().map(serde_json::from_str::<Pact>) {
            None => "the file does not exist yet".to_owned(),
            Some(Err(e)) => format!("the committed file is not a valid contract: {e}"),
            Some(Ok(old)) => describe_changes(&old, &self.pact()),
        };
        let package = std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| self.consumer.clone());
        Err(format!(
            "the {consumer}'s tests now record a different contract with {provider} than the committed \
             contracts/pacts/{name}{saved}: {changes}.\n\
             Providers verify the committed file, so review the change, then update it with\n\n    \
             UPDATE_PACTS=1 cargo nextest run -p {package} contracts\n\n\
             and commit contracts/pacts/{name}.",
            consumer = self.consumer,
            provider = self.provider,
        ))
    }
}

/// `value` with every object's keys in sorted order, whatever order
/// serde_json's maps keep (the `preserve_order` feature may be on in some
/// builds): the file's text depends on its content only. (The rest of a
/// contract is structs, whose fields keep their order, and sorted maps.)
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let entries: BTreeMap<String, Value> = map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Interactions added, removed and changed between two versions of a contract.
fn describe_changes(old: &Pact, new: &Pact) -> String {
    let find = |pact: &Pact, d: &str| pact.interactions.iter().find(|i| i.description == d).cloned();
    let mut parts = Vec::new();
    let added: Vec<String> = new
        .interactions
        .iter()
        .filter(|i| find(old, &i.description).is_none())
        .map(|i| format!("{:?}", i.description))
        .collect();
    let removed: Vec<String> = old
        .interactions
        .iter()
        .filter(|i| find(new, &i.description).is_none())
        .map(|i| format!("{:?}", i.description))
        .collect();
    let changed: Vec<String> = new
        .interactions
        .iter()
        .filter(|i| find(old, &i.description).is_some_and(|o| &o != *i))
        .map(|i| format!("{:?}", i.description))
        .collect();
    for (what, list) in [("added", added), ("removed", removed), ("changed", changed)] {
        if !list.is_empty() {
            parts.push(format!("{what} {}", list.join(", ")));
        }
    }
    if parts.is_empty() {
        "the same interactions, written differently".to_owned()
    } else {
        format!("interactions {}", parts.join("; "))
    }
}

/// One interaction being declared; [`InteractionBuilder::test`] runs the
/// consumer code against it and adds it to the contract.
#[derive(Debug)]
pub struct InteractionBuilder<'a> {
    pact: &'a mut PactBuilder,
    description: String,
    states: Vec<ProviderState>,
    request: Option<RequestSpec>,
    response: Option<ResponseSpec>,
}

impl InteractionBuilder<'_> {
    /// A provider state the interaction needs, with parameters (a JSON object).
    pub fn given(mut self, name: &str, params: Value) -> Self {
        let params = match params {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => panic!("provider state {name:?}: parameters must be a JSON object, not {other}"),
        };
        self.states.push(ProviderState {
            name: name.to_owned(),
            params,
        });
        self
    }

    /// The request the consumer sends.
    pub fn request(mut self, request: RequestSpec) -> Self {
        self.request = Some(request);
        self
    }

    /// The response the consumer relies on.
    pub fn response(mut self, response: ResponseSpec) -> Self {
        self.response = Some(response);
        self
    }

    fn build(&mut self) -> Result<Interaction, String> {
        let request = self.request.take().ok_or("no request declared")?.build();
        let response = self.response.take().ok_or("no response declared")?.build()?;
        let mut interaction = Interaction {
            description: self.description.clone(),
            provider_states: std::mem::take(&mut self.states),
            request,
            response,
        };
        for state in &mut interaction.provider_states {
            if let Value::Object(params) = sorted(Value::Object(std::mem::take(&mut state.params))) {
                state.params = params;
            }
        }
        interaction.request.body = interaction.request.body.take().map(sorted);
        interaction.response.body = interaction.response.body.take().map(sorted);
        self_consistent(&interaction)?;
        Ok(interaction)
    }

    /// Start a mock provider answering this interaction, run `consumer`
    /// with its base URL (`http://127.0.0.1:<port>`), and check that the
    /// consumer sent the declared request (and nothing else). Panics,
    /// naming every difference, when it did not; the interaction then joins
    /// the contract.
    pub async fn test<F, Fut>(mut self, consumer: F)
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let interaction = match self.build() {
            Ok(i) => i,
            Err(e) => panic!("interaction {:?}: {e}", self.description),
        };
        let mock = MockProvider::start(interaction.clone()).await;
        let run = tokio::spawn(consumer(mock.url()));
        let outcome = run.await;
        let seen = mock.stop().await;
        let who = format!(
            "the {} (consumer of {}), in interaction {:?}",
            self.pact.consumer, self.pact.provider, interaction.description
        );
        let mut problems = Vec::new();
        for unmatched in &seen.unmatched {
            problems.push(format!(
                "sent a request that matches no interaction of its contract: {}\n{}",
                unmatched.request_line,
                unmatched
                    .mismatches
                    .iter()
                    .map(|m| format!("      - {m}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
        if seen.matched == 0 && seen.unmatched.is_empty() {
            problems.push(format!(
                "never sent the declared request {} {}",
                interaction.request.method, interaction.request.path
            ));
        }
        match (problems.is_empty(), outcome) {
            (true, Ok(())) => self.pact.interactions.push(interaction),
            (true, Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            (true, Err(e)) => panic!("{who}: the consumer code did not finish: {e}"),
            (false, outcome) => {
                let then = match outcome {
                    Ok(()) => String::new(),
                    Err(e) => format!(
                        "\n  (the consumer code then failed: {})",
                        e.try_into_panic()
                            .ok()
                            .and_then(|p| p
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned())))
                            .unwrap_or_else(|| "cancelled".to_owned())
                    ),
                };
                panic!("{who}:\n  - {}{then}", problems.join("\n  - "));
            }
        }
    }
}

/// The examples of an interaction satisfy its own rules (catches a regex
/// that its example does not match, a bad path expression).
fn self_consistent(i: &Interaction) -> Result<(), String> {
    let r = &i.response;
    matching::check_rules(&r.matching_rules.body)?;
    let mut problems: Vec<Mismatch> = Vec::new();
    if let Some(body) = &r.body {
        problems.extend(matching::compare_json(
            body,
            body,
            &r.matching_rules.body,
            ExtraKeys::Allowed,
        ));
    }
    let headers: Vec<(String, String)> = r.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    problems.extend(compare_headers(&r.headers, &headers, &r.matching_rules.header));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the response's examples break its own rules: {}",
            problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
        ))
    }
}

/// Every difference between a request as sent and the one expected.
pub fn request_mismatches(
    expected: &Request,
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &[(String, String)],
    body: &[u8],
) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let fail = |place: &str, detail: String| Mismatch {
        place: place.to_owned(),
        detail,
    };
    if !expected.method.eq_ignore_ascii_case(method) {
        out.push(fail("method", format!("expected {}, got {method}", expected.method)));
    }
    if let Err(detail) = compare_text(&expected.path, path, expected.matching_rules.path.as_ref()) {
        out.push(fail("path", detail));
    }
    match parse_pairs(query.unwrap_or_default()) {
        Ok(actual) => out.extend(compare_pairs("query", &expected.query, &actual, |name| {
            expected.matching_rules.query.get(name)
        })),
        Err(e) => out.push(fail("query", e)),
    }
    out.extend(compare_headers(
        &expected.headers,
        headers,
        &expected.matching_rules.header,
    ));
    let text = String::from_utf8_lossy(body);
    match &expected.body {
        None => {}
        Some(Value::String(form)) if is_form(&expected.headers) => match (parse_pairs(form), parse_pairs(&text)) {
            (Ok(e), Ok(a)) => {
                let rules = &expected.matching_rules.body;
                out.extend(compare_pairs("body", &e, &a, |name| {
                    matching::rules_at(rules, &[matching::Segment::Key(name.to_owned())]).map(|(l, _)| l)
                }));
            }
            (Err(e), _) | (_, Err(e)) => out.push(fail("body", e)),
        },
        Some(Value::String(raw)) => {
            if let Err(detail) = compare_text(raw, &text, None) {
                out.push(fail("body", detail));
            }
        }
        Some(json) => match serde_json::from_slice::<Value>(body) {
            Ok(actual) => out.extend(matching::compare_json(
                json,
                &actual,
                &expected.matching_rules.body,
                ExtraKeys::Refused,
            )),
            Err(e) => out.push(fail("body", format!("expected JSON, got {text:?} ({e})"))),
        },
    }
    out
}

fn is_form(headers: &BTreeMap<String, String>) -> bool {
    headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("content-type")
            && v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded")
    })
}

/// A request that matched no interaction.
#[derive(Debug, Clone)]
struct Unmatched {
    request_line: String,
    mismatches: Vec<Mismatch>,
}

#[derive(Debug, Default)]
struct Seen {
    matched: usize,
    unmatched: Vec<Unmatched>,
}

/// A mock provider answering one interaction on `127.0.0.1:0`.
struct MockProvider {
    url: String,
    seen: Arc<Mutex<Seen>>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl MockProvider {
    async fn start(interaction: Interaction) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("the mock provider cannot listen on 127.0.0.1:0: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let interaction = Arc::new(interaction);
        let state = (interaction, seen.clone());
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let (interaction, seen) = state.clone();
            async move { answer(&interaction, &seen, req).await }
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                eprintln!("contracts: the mock provider stopped: {e}");
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}"),
            seen,
            stop,
            task,
        }
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    async fn stop(self) -> Seen {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), self.task).await;
        std::mem::take(&mut *self.seen.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

async fn answer(
    interaction: &Interaction,
    seen: &Mutex<Seen>,
    req: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mismatches = request_mismatches(
        &interaction.request,
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query(),
        &headers,
        &body,
    );
    let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
    if !mismatches.is_empty() {
        let request_line = format!("{} {}", parts.method, parts.uri);
        let message = format!(
            "no interaction matches {request_line}: {}",
            mismatches
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        );
        seen.unmatched.push(Unmatched {
            request_line,
            mismatches,
        });
        let mut response = axum::response::Response::new(Body::from(json!({"message": message}).to_string()));
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        response
            .headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        return response;
    }
    seen.matched += 1;
    drop(seen);
    let expected = &interaction.response;
    let body = match &expected.body {
        None => Body::empty(),
        Some(Value::String(s)) => Body::from(s.clone()),
        Some(json) => Body::from(json.to_string()),
    };
    let mut response = axum::response::Response::new(body);
    *response.status_mut() = StatusCode::from_u16(expected.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in &expected.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name.as_str()), HeaderValue::from_str(value)) {
            response.headers_mut().append(n, v);
        }
    }
    response
}
