//! The provider side: verify every committed contract naming this provider
//! against the provider itself.
//!
//! For each interaction, the provider's test sets up the interaction's
//! provider states through its own code (typically: start a fresh instance
//! on port 0, create the account or the thought through its API) and hands
//! back the instance's base URL and the values the request needs (a token,
//! an id). The verifier sends the request and checks the response against
//! the contract's expectations and matching rules. A failure names the
//! consumer, the interaction and each field that differs.

use crate::consumer::pact_dir;
use crate::matching::{self, ExtraKeys, Mismatch, compare_headers, compare_text, parse_pairs};
use crate::pact::{Generator, Interaction, Pact, ProviderState, Request};
use serde_json::{Map, Value};
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A contract file and what it holds.
#[derive(Debug, Clone)]
pub struct PactFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The contract.
    pub pact: Pact,
}

/// Every contract in `dir` whose provider is `provider`, sorted by file name.
pub fn load_pacts_from(dir: &Path, provider: &str) -> Result<Vec<PactFile>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read the contracts in {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let pact: Pact =
            serde_json::from_str(&text).map_err(|e| format!("{} is not a Pact v3 contract: {e}", path.display()))?;
        if pact.provider.name == provider {
            out.push(PactFile { path, pact });
        }
    }
    Ok(out)
}

/// The provider instance an interaction runs against, after its states
/// were set up.
#[derive(Debug)]
pub struct Target<G> {
    /// Its base URL, `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// Values for the request's `${name}` placeholders (a token, an id).
    pub values: Map<String, Value>,
    /// Kept alive until the interaction is checked (the running instance).
    pub guard: G,
}

impl<G> Target<G> {
    /// The instance at `base_url`, kept running by `guard`.
    pub fn new(base_url: impl Into<String>, guard: G) -> Self {
        Self {
            base_url: base_url.into(),
            values: Map::new(),
            guard,
        }
    }

    /// Supply the value of `${name}`.
    pub fn with_value(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.values.insert(name.to_owned(), value.into());
        self
    }
}

/// An interaction the provider does not keep.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The consumer relying on it.
    pub consumer: String,
    /// The interaction's description.
    pub description: String,
    /// The contract file.
    pub file: PathBuf,
    /// Its provider states.
    pub states: Vec<ProviderState>,
    /// What was sent, e.g. `POST /api/login/`, and the status answered.
    pub exchange: String,
    /// What differs (or why it could not be checked).
    pub problems: Vec<String>,
}

/// The outcome of verifying a provider.
#[derive(Debug, Clone)]
pub struct Report {
    /// The provider verified.
    pub provider: String,
    /// Interactions checked, by consumer.
    pub checked: Vec<(String, usize)>,
    /// Those it breaks.
    pub failures: Vec<Failure>,
}

impl Report {
    /// How many interactions were checked.
    pub fn total(&self) -> usize {
        self.checked.iter().map(|(_, n)| n).sum()
    }

    /// Panic with the report unless every interaction passed.
    pub fn assert_ok(&self) {
        assert!(self.failures.is_empty(), "{self}");
        eprintln!("{self}");
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let consumers: Vec<String> = self.checked.iter().map(|(c, n)| format!("{c} ({n})")).collect();
        if self.failures.is_empty() {
            return write!(
                f,
                "{} keeps all {} interactions its consumers rely on: {}",
                self.provider,
                self.total(),
                consumers.join(", ")
            );
        }
        writeln!(
            f,
            "{} breaks {} of the {} interactions its consumers rely on ({}):",
            self.provider,
            self.failures.len(),
            self.total(),
            consumers.join(", ")
        )?;
        for failure in &self.failures {
            let file = failure.file.file_name().map_or_else(
                || failure.file.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            writeln!(f)?;
            writeln!(
                f,
                "consumer {:?}, interaction {:?} (contracts/pacts/{file})",
                failure.consumer, failure.description
            )?;
            for state in &failure.states {
                writeln!(f, "  given {:?} {}", state.name, Value::Object(state.params.clone()))?;
            }
            if !failure.exchange.is_empty() {
                writeln!(f, "  {}", failure.exchange)?;
            }
            for problem in &failure.problems {
                writeln!(f, "  - {problem}")?;
            }
        }
        Ok(())
    }
}

/// Load the committed contracts naming `provider`, verify them with
/// [`verify`] and panic with the report if any interaction fails (or if
/// no contract names the provider).
pub async fn verify_provider<G, F, Fut>(provider: &str, set_up: F)
where
    F: FnMut(Vec<ProviderState>) -> Fut,
    Fut: Future<Output = Result<Target<G>, String>>,
{
    let pacts = load_pacts_from(&pact_dir(), provider).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !pacts.is_empty(),
        "no contract in {} names the provider {provider:?}",
        pact_dir().display()
    );
    verify(provider, &pacts, set_up).await.assert_ok();
}

/// Verify every interaction of `pacts` against `provider`: for each, call
/// `set_up` with its provider states (it returns the instance to call and
/// the values of the request's placeholders, or why the states cannot be
/// set up), send the request, compare the response.
pub async fn verify<G, F, Fut>(provider: &str, pacts: &[PactFile], mut set_up: F) -> Report
where
    F: FnMut(Vec<ProviderState>) -> Fut,
    Fut: Future<Output = Result<Target<G>, String>>,
{
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default();
    let mut report = Report {
        provider: provider.to_owned(),
        checked: Vec::new(),
        failures: Vec::new(),
    };
    for file in pacts {
        let consumer = file.pact.consumer.name.clone();
        for interaction in &file.pact.interactions {
            let failure = |exchange: String, problems: Vec<String>| Failure {
                consumer: consumer.clone(),
                description: interaction.description.clone(),
                file: file.path.clone(),
                states: interaction.provider_states.clone(),
                exchange,
                problems,
            };
            match set_up(interaction.provider_states.clone()).await {
                Err(why) => report.failures.push(failure(
                    String::new(),
                    vec![format!("the provider state could not be set up: {why}")],
                )),
                Ok(target) => {
                    let (exchange, problems) = check(&client, interaction, &target.base_url, &target.values).await;
                    drop(target);
                    if !problems.is_empty() {
                        report.failures.push(failure(exchange, problems));
                    }
                }
            }
        }
        match report.checked.iter_mut().find(|(c, _)| *c == consumer) {
            Some((_, n)) => *n += file.pact.interactions.len(),
            None => report.checked.push((consumer, file.pact.interactions.len())),
        }
    }
    report
}

/// The request to send, with the provider-state values filled in.
struct Outgoing {
    method: reqwest::Method,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

fn outgoing(request: &Request, values: &Map<String, Value>) -> Result<Outgoing, String> {
    let generated = |g: &Generator| g.generate(values);
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| format!("the contract's method {:?} is not valid", request.method))?;
    let path = match &request.generators.path {
        Some(g) => generated(g)?,
        None => request.path.clone(),
    };
    let mut query = Vec::new();
    for (name, vals) in &request.query {
        match request.generators.query.get(name) {
            Some(g) => query.push((name.clone(), generated(g)?)),
            None => query.extend(vals.iter().map(|v| (name.clone(), v.clone()))),
        }
    }
    let mut headers = Vec::new();
    for (name, value) in &request.headers {
        let value = match request.generators.header.get(name) {
            Some(g) => generated(g)?,
            None => value.clone(),
        };
        headers.push((name.clone(), value));
    }
    let body = match &request.body {
        None => None,
        Some(Value::String(text)) if request.generators.body.is_empty() => Some(text.clone().into_bytes()),
        Some(Value::String(form)) => {
            // A form body: generated fields replace the example's values.
            let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(form).map_err(|e| e.to_string())?;
            for (name, value) in &mut pairs {
                let path = matching::render_path(&[matching::Segment::Key(name.clone())]);
                if let Some(g) = request.generators.body.get(&path) {
                    *value = generated(g)?;
                }
            }
            Some(
                serde_urlencoded::to_string(&pairs)
                    .map_err(|e| e.to_string())?
                    .into_bytes(),
            )
        }
        Some(json) => {
            let mut json = json.clone();
            for (path, g) in &request.generators.body {
                let key = path.strip_prefix("$.").unwrap_or(path);
                if let Some(slot) = json.get_mut(key) {
                    *slot = Value::String(generated(g)?);
                }
            }
            if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type")) {
                headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
            }
            Some(json.to_string().into_bytes())
        }
    };
    Ok(Outgoing {
        method,
        path,
        query,
        headers,
        body,
    })
}

/// Send the interaction's request to `base` and compare the response:
/// the exchange as a line (`POST /api/login/ answered 200`) and every problem.
async fn check(
    client: &reqwest::Client,
    interaction: &Interaction,
    base: &str,
    values: &Map<String, Value>,
) -> (String, Vec<String>) {
    let out = match outgoing(&interaction.request, values) {
        Ok(out) => out,
        Err(e) => return (String::new(), vec![format!("the request cannot be built: {e}")]),
    };
    let mut url = format!("{}{}", base.trim_end_matches('/'), out.path);
    if !out.query.is_empty() {
        url.push('?');
        url.push_str(&serde_urlencoded::to_string(&out.query).unwrap_or_default());
    }
    let sent = format!("{} {}", out.method, &url[base.trim_end_matches('/').len()..]);
    let mut req = client.request(out.method, &url);
    for (name, value) in &out.headers {
        req = req.header(name, value);
    }
    if let Some(body) = out.body {
        req = req.body(body);
    }
    let response = match req.send().await {
        Ok(r) => r,
        Err(e) => return (sent, vec![format!("the provider did not answer: {e}")]),
    };
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response.bytes().await.unwrap_or_default();
    let exchange = format!("{sent} answered {status}");
    let expected = &interaction.response;
    let mut problems: Vec<Mismatch> = Vec::new();
    if status != expected.status {
        problems.push(Mismatch {
            place: "status".into(),
            detail: format!(
                "expected {}, got {status} (body {})",
                expected.status,
                String::from_utf8_lossy(&body).chars().take(200).collect::<String>()
            ),
        });
        // The body of another status says nothing about the expected one.
        return (exchange, problems.iter().map(ToString::to_string).collect());
    }
    problems.extend(compare_headers(
        &expected.headers,
        &headers,
        &expected.matching_rules.header,
    ));
    match &expected.body {
        None => {}
        Some(Value::String(text)) => {
            let actual = String::from_utf8_lossy(&body);
            let form = expected.headers.iter().any(|(k, v)| {
                k.eq_ignore_ascii_case("content-type") && v.starts_with("application/x-www-form-urlencoded")
            });
            if form {
                if let (Ok(e), Ok(a)) = (parse_pairs(text), parse_pairs(&actual)) {
                    let rules = &expected.matching_rules.body;
                    problems.extend(matching::compare_pairs("body", &e, &a, |name| {
                        matching::rules_at(rules, &[matching::Segment::Key(name.to_owned())]).map(|(l, _)| l)
                    }));
                }
            } else if let Err(detail) = compare_text(text, &actual, None) {
                problems.push(Mismatch {
                    place: "body".into(),
                    detail,
                });
            }
        }
        Some(json) => match serde_json::from_slice::<Value>(&body) {
            Ok(actual) => problems.extend(matching::compare_json(
                json,
                &actual,
                &expected.matching_rules.body,
                ExtraKeys::Allowed,
            )),
            Err(e) => problems.push(Mismatch {
                place: "body".into(),
                detail: format!(
                    "expected JSON, got {:?} ({e})",
                    String::from_utf8_lossy(&body).chars().take(200).collect::<String>()
                ),
            }),
        },
    }
    (exchange, problems.iter().map(ToString::to_string).collect())
}
