//! Breaking-change checker for OpenAPI 3.x documents: the API compatibility
//! gate of each service (issue 12).
//!
//! [`compare`] reads an old and a new document and lists every difference a
//! client could notice, each one either **breaking** (a client written
//! against the old document may fail against the new one) or not. The rule
//! behind every finding is one sentence: *a request accepts at least what it
//! accepted, and a response produces at most what it produced, and is still
//! found where it was.* So, breaking:
//!
//! - a path or a method removed;
//! - a success (2xx) status code removed or changed;
//! - a parameter removed or renamed, a parameter or request body newly
//!   required, a request content type removed;
//! - in a request, a schema narrowed: a type changed or reduced, an enum
//!   restriction added or values taken out of it, a bound tightened (lower
//!   `maxLength`/`maximum`/`maxItems`, higher `minLength`/`minimum`/
//!   `minItems`), a `pattern` or `format` added or changed, `null` no longer
//!   accepted, a new required field;
//! - in a response, a field removed or no longer always present, a schema
//!   widened (the mirror image of the above: a type changed or extended,
//!   `null` possible, new enum values, a bound loosened), a response content
//!   type removed.
//!
//! Additions (a new path, method, optional parameter or field, a new error
//! status) are listed as non-breaking. `$ref`s are resolved inside the
//! document (`#/components/...`), `allOf` is merged, a `oneOf`/`anyOf` of one
//! schema and `null` (what utoipa writes for `Option<T>`) reads as a nullable
//! schema. Descriptions, examples, tags, operation ids and `info` are not
//! compared: they change no request or response.
//!
//! [`release`] adds the gate's policy: which released document a version is
//! checked against, and when a breaking change is allowed (a new major
//! version, or a new minor one before 1.0).
//!
//! What it does not check: response headers, security requirements,
//! callbacks and links, `discriminator`s, `additionalProperties` schemas,
//! and the meaning of a `pattern` (a changed pattern is assumed to narrow).

pub mod release;
mod schema;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Why a document could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The document is not an OpenAPI 3.x object.
    #[error("not an OpenAPI 3.x document: {0}")]
    NotOpenApi(String),
    /// A `$ref` that does not point into the document.
    #[error("unresolvable $ref {0:?}")]
    BadRef(String),
    /// A file could not be read or parsed.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// One difference between the old and the new document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Whether a client of the old document may fail against the new one.
    pub breaking: bool,
    /// `GET /api/thoughts/`, or the path alone for a path-level change.
    pub endpoint: String,
    /// Where in the operation: `query parameter `limit``, `request body
    /// (application/json) .text`, `response 200 (application/json) [].id`;
    /// empty for the endpoint itself.
    pub location: String,
    /// What changed, in a few words: `path removed`, `type narrowed`.
    pub change: String,
    /// The old value, when there is one worth showing.
    pub old: Option<String>,
    /// The new value, when there is one worth showing.
    pub new: Option<String>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.breaking { "BREAKING" } else { "ok" };
        write!(f, "{kind:<8}  {}", self.endpoint)?;
        if !self.location.is_empty() {
            write!(f, "  {}", self.location)?;
        }
        write!(f, ": {}", self.change)?;
        match (&self.old, &self.new) {
            (Some(old), Some(new)) => write!(f, ": {old} → {new}"),
            (Some(old), None) => write!(f, ": was {old}"),
            (None, Some(new)) => write!(f, ": {new}"),
            (None, None) => Ok(()),
        }
    }
}

/// Every difference found, breaking ones first, each group in document order
/// (paths, then methods, then where in the operation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The findings.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether any finding is breaking.
    pub fn is_breaking(&self) -> bool {
        self.findings.iter().any(|f| f.breaking)
    }

    /// The breaking findings.
    pub fn breaking(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.breaking)
    }

    /// The non-breaking findings.
    pub fn non_breaking(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.breaking)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let breaking = self.breaking().count();
        writeln!(
            f,
            "{breaking} breaking, {} non-breaking change(s)",
            self.findings.len() - breaking
        )?;
        for finding in self.breaking().chain(self.non_breaking()) {
            writeln!(f, "  {finding}")?;
        }
        Ok(())
    }
}

/// Which way a value travels: what the client sends, or what it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Direction {
    /// Client to server: narrowing breaks.
    Request,
    /// Server to client: widening and removal break.
    Response,
}

/// Collects findings for one endpoint.
pub(crate) struct Sink<'r> {
    findings: &'r mut Vec<Finding>,
    endpoint: String,
}

impl Sink<'_> {
    pub(crate) fn push(
        &mut self,
        breaking: bool,
        location: &str,
        change: &str,
        old: Option<String>,
        new: Option<String>,
    ) {
        self.findings.push(Finding {
            breaking,
            endpoint: self.endpoint.clone(),
            location: location.to_owned(),
            change: change.to_owned(),
            old,
            new,
        });
    }
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// A parsed document: the root, for `$ref`s.
#[derive(Clone, Copy)]
pub(crate) struct Doc<'a> {
    root: &'a Value,
}

impl<'a> Doc<'a> {
    fn new(root: &'a Value) -> Result<Self, Error> {
        let version = root
            .get("openapi")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::NotOpenApi("no \"openapi\" version field".into()))?;
        if !version.starts_with("3.") {
            return Err(Error::NotOpenApi(format!("version {version}, expected 3.x")));
        }
        if !root.get("paths").is_none_or(Value::is_object) {
            return Err(Error::NotOpenApi("\"paths\" is not an object".into()));
        }
        Ok(Self { root })
    }

    /// Follow `$ref`s (bounded, so a cycle of references is an error).
    pub(crate) fn resolve(&self, mut value: &'a Value) -> Result<&'a Value, Error> {
        for _ in 0..32 {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return Ok(value);
            };
            let pointer = reference
                .strip_prefix('#')
                .ok_or_else(|| Error::BadRef(reference.to_owned()))?;
            value = self
                .root
                .pointer(pointer)
                .ok_or_else(|| Error::BadRef(reference.to_owned()))?;
        }
        Err(Error::BadRef("a cycle of $refs".into()))
    }

    fn paths(&self) -> BTreeMap<String, (&'a str, &'a Value)> {
        let mut out = BTreeMap::new();
        if let Some(paths) = self.root.get("paths").and_then(Value::as_object) {
            for (path, item) in paths {
                out.insert(path_key(path), (path.as_str(), item));
            }
        }
        out
    }
}

/// A path template with its parameter names blanked: `/a/{id}/` and
/// `/a/{thought_id}/` are the same path to a client.
fn path_key(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

/// Compare two OpenAPI 3.x documents.
pub fn compare(old: &Value, new: &Value) -> Result<Report, Error> {
    let old = Doc::new(old)?;
    let new = Doc::new(new)?;
    let mut findings = Vec::new();
    let old_paths = old.paths();
    let new_paths = new.paths();
    for (key, (old_path, old_item)) in &old_paths {
        let mut sink = Sink {
            findings: &mut findings,
            endpoint: (*old_path).to_owned(),
        };
        let Some((new_path, new_item)) = new_paths.get(key) else {
            sink.push(true, "", "path removed", None, None);
            continue;
        };
        let old_item = old.resolve(old_item)?;
        let new_item = new.resolve(new_item)?;
        for method in METHODS {
            let endpoint = format!("{} {old_path}", method.to_uppercase());
            let mut sink = Sink {
                findings: &mut findings,
                endpoint,
            };
            match (old_item.get(method), new_item.get(method)) {
                (Some(_), None) => sink.push(true, "", "method removed", None, None),
                (None, Some(_)) => sink.push(false, "", "method added", None, None),
                (Some(o), Some(n)) => {
                    let o = Operation::new(old, old_path, old_item, o)?;
                    let n = Operation::new(new, new_path, new_item, n)?;
                    compare_operations(&o, &n, &mut sink)?;
                }
                (None, None) => {}
            }
        }
    }
    for (key, (new_path, _)) in &new_paths {
        if !old_paths.contains_key(key) {
            findings.push(Finding {
                breaking: false,
                endpoint: (*new_path).to_owned(),
                location: String::new(),
                change: "path added".into(),
                old: None,
                new: None,
            });
        }
    }
    // Breaking first, each group keeping document order.
    findings.sort_by_key(|f| !f.breaking);
    Ok(Report { findings })
}

/// Compare two documents read from files (JSON).
pub fn compare_files(old: &std::path::Path, new: &std::path::Path) -> Result<Report, Error> {
    compare(&read_json(old)?, &read_json(new)?)
}

/// Read and parse a JSON file.
pub fn read_json(path: &std::path::Path) -> Result<Value, Error> {
    let file_error = |message: String| Error::File {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| file_error(format!("not JSON: {e}")))
}

/// A parameter's identity: where it goes and its name. Path parameters are
/// known by their position in the template, since renaming one changes no
/// URL.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum ParamKey {
    Path(usize),
    Named(String, String),
}

struct Param<'a> {
    location: &'a str,
    name: &'a str,
    required: bool,
    schema: Option<&'a Value>,
}

impl Param<'_> {
    fn describe(&self) -> String {
        format!("{} parameter `{}`", self.location, self.name)
    }
}

struct Operation<'a> {
    doc: Doc<'a>,
    params: BTreeMap<ParamKey, Param<'a>>,
    body: Option<&'a Value>,
    responses: BTreeMap<String, &'a Value>,
}

impl<'a> Operation<'a> {
    fn new(doc: Doc<'a>, path: &str, item: &'a Value, op: &'a Value) -> Result<Self, Error> {
        let template: Vec<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        let mut params = BTreeMap::new();
        // Path-item parameters first; the operation's override them.
        for list in [item.get("parameters"), op.get("parameters")].into_iter().flatten() {
            for p in list.as_array().into_iter().flatten() {
                let p = doc.resolve(p)?;
                let (Some(name), Some(location)) = (
                    p.get("name").and_then(Value::as_str),
                    p.get("in").and_then(Value::as_str),
                ) else {
                    return Err(Error::NotOpenApi(format!("a parameter of {path} without name or in")));
                };
                let key = match location {
                    "path" => ParamKey::Path(template.iter().position(|t| *t == name).unwrap_or(usize::MAX)),
                    _ => ParamKey::Named(location.to_owned(), name.to_owned()),
                };
                let schema = match p.get("schema") {
                    Some(s) => Some(s),
                    None => p
                        .get("content")
                        .and_then(Value::as_object)
                        .and_then(|c| c.values().next())
                        .and_then(|m| m.get("schema")),
                };
                params.insert(
                    key,
                    Param {
                        location,
                        name,
                        required: location == "path" || p.get("required").and_then(Value::as_bool).unwrap_or(false),
                        schema,
                    },
                );
            }
        }
        let body = op.get("requestBody").map(|b| doc.resolve(b)).transpose()?;
        let mut responses = BTreeMap::new();
        for (status, response) in op.get("responses").and_then(Value::as_object).into_iter().flatten() {
            responses.insert(status.clone(), doc.resolve(response)?);
        }
        Ok(Self {
            doc,
            params,
            body,
            responses,
        })
    }
}

fn compare_operations(old: &Operation<'_>, new: &Operation<'_>, sink: &mut Sink<'_>) -> Result<(), Error> {
    compare_params(old, new, sink)?;
    compare_bodies(old, new, sink)?;
    compare_responses(old, new, sink)
}

fn compare_params(old: &Operation<'_>, new: &Operation<'_>, sink: &mut Sink<'_>) -> Result<(), Error> {
    let removed: Vec<&Param<'_>> = old
        .params
        .iter()
        .filter(|(k, _)| !new.params.contains_key(k))
        .map(|(_, p)| p)
        .collect();
    let added: Vec<&Param<'_>> = new
        .params
        .iter()
        .filter(|(k, _)| !old.params.contains_key(k))
        .map(|(_, p)| p)
        .collect();
    // One parameter gone and one come in the same place reads as a rename.
    let renamed = match (removed.as_slice(), added.as_slice()) {
        ([gone], [came]) if gone.location == came.location => {
            sink.push(
                true,
                &gone.describe(),
                "parameter renamed",
                Some(format!("`{}`", gone.name)),
                Some(format!("`{}`", came.name)),
            );
            true
        }
        _ => false,
    };
    if !renamed {
        for p in &removed {
            sink.push(true, &p.describe(), "parameter removed", None, None);
        }
        for p in &added {
            match p.required {
                true => sink.push(true, &p.describe(), "new required parameter", None, None),
                false => sink.push(false, &p.describe(), "optional parameter added", None, None),
            }
        }
    }
    for (key, o) in &old.params {
        let Some(n) = new.params.get(key) else { continue };
        let location = n.describe();
        if o.name != n.name {
            // A path parameter renamed: the URL is the same.
            sink.push(
                false,
                &location,
                "path parameter renamed",
                Some(format!("`{}`", o.name)),
                Some(format!("`{}`", n.name)),
            );
        }
        if !o.required && n.required {
            sink.push(
                true,
                &location,
                "parameter now required",
                Some("optional".into()),
                Some("required".into()),
            );
        } else if o.required && !n.required {
            sink.push(
                false,
                &location,
                "parameter now optional",
                Some("required".into()),
                Some("optional".into()),
            );
        }
        if let (Some(os), Some(ns)) = (o.schema, n.schema) {
            schema::compare(old.doc, os, new.doc, ns, Direction::Request, &location, sink)?;
        }
    }
    Ok(())
}

fn media_types(body: Option<&Value>) -> BTreeMap<&str, Option<&Value>> {
    body.and_then(|b| b.get("content"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(mime, media)| (mime.as_str(), media.get("schema")))
        .collect()
}

fn compare_bodies(old: &Operation<'_>, new: &Operation<'_>, sink: &mut Sink<'_>) -> Result<(), Error> {
    let required = |b: Option<&Value>| {
        b.and_then(|b| b.get("required"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    match (old.body, new.body) {
        (None, None) => return Ok(()),
        (None, Some(n)) => {
            match required(Some(n)) {
                true => sink.push(true, "request body", "new required request body", None, None),
                false => sink.push(false, "request body", "optional request body added", None, None),
            }
            return Ok(());
        }
        (Some(_), None) => {
            sink.push(false, "request body", "request body no longer read", None, None);
            return Ok(());
        }
        (Some(o), Some(n)) => {
            if !required(Some(o)) && required(Some(n)) {
                sink.push(
                    true,
                    "request body",
                    "request body now required",
                    Some("optional".into()),
                    Some("required".into()),
                );
            }
        }
    }
    let old_media = media_types(old.body);
    let new_media = media_types(new.body);
    for (mime, old_schema) in &old_media {
        let location = format!("request body ({mime})");
        match new_media.get(mime) {
            None => sink.push(true, &location, "request content type no longer accepted", None, None),
            Some(new_schema) => {
                if let (Some(os), Some(ns)) = (old_schema, new_schema) {
                    schema::compare(old.doc, os, new.doc, ns, Direction::Request, &location, sink)?;
                }
            }
        }
    }
    for mime in new_media.keys() {
        if !old_media.contains_key(mime) {
            sink.push(
                false,
                &format!("request body ({mime})"),
                "request content type added",
                None,
                None,
            );
        }
    }
    Ok(())
}

fn is_success(status: &str) -> bool {
    status.starts_with('2')
}

fn compare_responses(old: &Operation<'_>, new: &Operation<'_>, sink: &mut Sink<'_>) -> Result<(), Error> {
    let old_success: BTreeSet<&str> = old
        .responses
        .keys()
        .map(String::as_str)
        .filter(|s| is_success(s))
        .collect();
    let new_success: BTreeSet<&str> = new
        .responses
        .keys()
        .map(String::as_str)
        .filter(|s| is_success(s))
        .collect();
    let gone: Vec<&str> = old_success.difference(&new_success).copied().collect();
    let came: Vec<&str> = new_success.difference(&old_success).copied().collect();
    if !gone.is_empty() {
        match came.is_empty() {
            true => sink.push(true, "responses", "success status removed", Some(gone.join(", ")), None),
            false => sink.push(
                true,
                "responses",
                "success status changed",
                Some(gone.join(", ")),
                Some(came.join(", ")),
            ),
        }
    } else if !came.is_empty() {
        sink.push(false, "responses", "success status added", None, Some(came.join(", ")));
    }
    for (status, o) in &old.responses {
        let Some(n) = new.responses.get(status) else {
            if !is_success(status) {
                sink.push(
                    false,
                    &format!("response {status}"),
                    "error response no longer documented",
                    None,
                    None,
                );
            }
            continue;
        };
        let old_media = media_types(Some(o));
        let new_media = media_types(Some(n));
        for (mime, old_schema) in &old_media {
            let location = format!("response {status} ({mime})");
            match new_media.get(mime) {
                None => sink.push(true, &location, "response content type removed", None, None),
                Some(new_schema) => match (old_schema, new_schema) {
                    (Some(os), Some(ns)) => {
                        schema::compare(old.doc, os, new.doc, ns, Direction::Response, &location, sink)?
                    }
                    (Some(_), None) => sink.push(true, &location, "response schema removed", None, None),
                    _ => {}
                },
            }
        }
        for mime in new_media.keys() {
            if !old_media.contains_key(mime) {
                sink.push(
                    false,
                    &format!("response {status} ({mime})"),
                    "response content type added",
                    None,
                    None,
                );
            }
        }
    }
    for status in new.responses.keys() {
        if !old.responses.contains_key(status) && !is_success(status) {
            sink.push(
                false,
                &format!("response {status}"),
                "error response documented",
                None,
                None,
            );
        }
    }
    Ok(())
}
