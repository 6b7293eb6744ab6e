//! Comparing what was sent or answered with what a contract expects, under
//! Pact v3 matching rules.
//!
//! Semantics (as Pact's): without a rule, values must be equal, objects must
//! hold every expected key (extra keys are allowed in responses, refused in
//! request bodies) and arrays must have the same length. A rule applies at
//! its path and is inherited by everything below it, unless a more specific
//! rule applies there: `type` on an array checks its length (`min`, `max`)
//! and compares every element with the example's first; `regex` matches a
//! string (unanchored, as Pact does: contracts anchor their expressions).

use crate::pact::{Matcher, RuleList};
use regex::Regex;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// One step into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A path as Pact writes it: `$`, `$.items[0].id`, `$['a key']`.
pub fn render_path(path: &[Segment]) -> String {
    let mut out = String::from("$");
    for segment in path {
        match segment {
            Segment::Key(k) if is_identifier(k) => {
                out.push('.');
                out.push_str(k);
            }
            Segment::Key(k) => {
                out.push_str("['");
                out.push_str(&k.replace('\'', "\\'"));
                out.push_str("']");
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn is_identifier(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A step of a rule's path expression.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Key(String),
    Index(usize),
    AnyKey,
    AnyIndex,
}

impl Token {
    fn matches(&self, segment: &Segment) -> bool {
        match (self, segment) {
            (Self::Key(k), Segment::Key(s)) => k == s,
            (Self::Index(i), Segment::Index(s)) => i == s,
            (Self::AnyKey, Segment::Key(_)) | (Self::AnyIndex, Segment::Index(_)) => true,
            _ => false,
        }
    }

    fn is_wildcard(&self) -> bool {
        matches!(self, Self::AnyKey | Self::AnyIndex)
    }
}

/// Parse `$`, `$.a.b`, `$.a[*]`, `$.a[0]`, `$['a b']`, `$.*`.
fn parse_expression(expr: &str) -> Result<Vec<Token>, String> {
    let bad = |why: &str| format!("bad path expression {expr:?}: {why}");
    let rest = expr.strip_prefix('$').ok_or_else(|| bad("it must start with $"))?;
    let mut tokens = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut name = String::new();
                while let Some(&n) = chars.peek() {
                    if n == '.' || n == '[' {
                        break;
                    }
                    name.push(n);
                    chars.next();
                }
                match name.as_str() {
                    "" => return Err(bad("empty name after '.'")),
                    "*" => tokens.push(Token::AnyKey),
                    _ => tokens.push(Token::Key(name)),
                }
            }
            '[' => {
                let mut inner = String::new();
                let mut quoted = false;
                loop {
                    match chars.next() {
                        None => return Err(bad("unclosed '['")),
                        Some('\'') => quoted = !quoted,
                        Some('\\') if quoted => inner.extend(chars.next()),
                        Some(']') if !quoted => break,
                        Some(other) => inner.push(other),
                    }
                }
                let token = if inner == "*" {
                    Token::AnyIndex
                } else if let Ok(i) = inner.parse() {
                    Token::Index(i)
                } else {
                    Token::Key(inner)
                };
                tokens.push(token);
            }
            other => return Err(bad(&format!("unexpected {other:?}"))),
        }
    }
    Ok(tokens)
}

/// The rules applying at `path`: those of the most specific expression that
/// matches `path` or one of its ancestors. The flag says whether the
/// expression names `path` itself (array length limits apply only there).
pub(crate) fn rules_at<'a>(rules: &'a BTreeMap<String, RuleList>, path: &[Segment]) -> Option<(&'a RuleList, bool)> {
    rules
        .iter()
        .filter_map(|(expr, list)| {
            // A rule whose expression does not parse never applies; the
            // consumer side refuses to write one (see `check_rules`).
            let tokens = parse_expression(expr).ok()?;
            let applies = tokens.len() <= path.len() && tokens.iter().zip(path).all(|(t, s)| t.matches(s));
            applies.then(|| {
                let exact = tokens.iter().filter(|t| !t.is_wildcard()).count();
                ((tokens.len(), exact), list, tokens.len() == path.len())
            })
        })
        .max_by_key(|(weight, _, _)| *weight)
        .map(|(_, list, here)| (list, here))
}

/// Every rule expression of `rules` parses (for contracts being written).
pub(crate) fn check_rules(rules: &BTreeMap<String, RuleList>) -> Result<(), String> {
    for (expr, list) in rules {
        parse_expression(expr)?;
        for matcher in &list.matchers {
            if let Matcher::Regex { regex } = matcher {
                Regex::new(regex).map_err(|e| format!("bad regex at {expr}: {e}"))?;
            }
        }
    }
    Ok(())
}

/// Something that differs from what the contract expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Where: `status`, `header Content-Type`, `body $.items[0].id`, `query limit`, `path`, `method`.
    pub place: String,
    /// What is wrong.
    pub detail: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.detail)
    }
}

fn mismatch(place: impl Into<String>, detail: impl Into<String>) -> Mismatch {
    Mismatch {
        place: place.into(),
        detail: detail.into(),
    }
}

/// A value shown in a message: JSON, cut at 80 characters.
fn show(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}...")
    } else {
        text
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn is_integer(value: &Value) -> bool {
    value.is_i64() || value.is_u64()
}

/// Whether keys the contract does not name may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtraKeys {
    /// Responses: the provider may add fields (a consumer ignores them).
    Allowed,
    /// Request bodies: the consumer sends exactly what it declared.
    Refused,
}

struct Walk<'a> {
    rules: &'a BTreeMap<String, RuleList>,
    extra: ExtraKeys,
    out: Vec<Mismatch>,
}

/// Compare a JSON body with the expected one under `rules` (body rules);
/// every difference, each named by its path.
pub fn compare_json(
    expected: &Value,
    actual: &Value,
    rules: &BTreeMap<String, RuleList>,
    extra: ExtraKeys,
) -> Vec<Mismatch> {
    let mut walk = Walk {
        rules,
        extra,
        out: Vec::new(),
    };
    walk.node(expected, actual, &mut Vec::new());
    let mut seen = std::collections::HashSet::new();
    walk.out.retain(|m| seen.insert(m.to_string()));
    walk.out
}

impl Walk<'_> {
    fn fail(&mut self, path: &[Segment], detail: String) {
        self.out.push(mismatch(format!("body {}", render_path(path)), detail));
    }

    fn node(&mut self, expected: &Value, actual: &Value, path: &mut Vec<Segment>) {
        let Some((list, here)) = rules_at(self.rules, path) else {
            self.equal(expected, actual, path);
            return;
        };
        if list.combine.eq_ignore_ascii_case("OR") {
            let before = self.out.len();
            let mut failures = Vec::new();
            for matcher in &list.matchers {
                self.apply(matcher, here, expected, actual, path);
                let tail: Vec<Mismatch> = self.out.drain(before..).collect();
                if tail.is_empty() {
                    return;
                }
                failures.extend(tail);
            }
            self.out.extend(failures);
        } else {
            for matcher in &list.matchers {
                self.apply(matcher, here, expected, actual, path);
            }
        }
    }

    /// No rule: equal values, objects holding the expected keys, arrays of
    /// the same length.
    fn equal(&mut self, expected: &Value, actual: &Value, path: &mut Vec<Segment>) {
        match (expected, actual) {
            (Value::Object(_), Value::Object(_)) => self.object(expected, actual, path),
            (Value::Array(e), Value::Array(a)) => {
                if e.len() != a.len() {
                    self.fail(path, format!("expected {} elements, got {}", e.len(), a.len()));
                }
                for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                    path.push(Segment::Index(i));
                    self.node(ev, av, path);
                    path.pop();
                }
            }
            _ if expected != actual => self.fail(path, format!("expected {}, got {}", show(expected), show(actual))),
            _ => {}
        }
    }

    fn object(&mut self, expected: &Value, actual: &Value, path: &mut Vec<Segment>) {
        let (Value::Object(e), Value::Object(a)) = (expected, actual) else {
            return;
        };
        for (key, ev) in e {
            path.push(Segment::Key(key.clone()));
            match a.get(key) {
                Some(av) => self.node(ev, av, path),
                None => self.fail(
                    path,
                    format!("missing; the consumer relies on it (example {})", show(ev)),
                ),
            }
            path.pop();
        }
        if self.extra == ExtraKeys::Refused {
            for key in a.keys().filter(|k| !e.contains_key(*k)) {
                path.push(Segment::Key(key.clone()));
                self.fail(path, "not in the contract".to_owned());
                path.pop();
            }
        }
    }

    fn apply(&mut self, matcher: &Matcher, here: bool, expected: &Value, actual: &Value, path: &mut Vec<Segment>) {
        match matcher {
            Matcher::Equality => {
                if expected != actual {
                    self.fail(
                        path,
                        format!("expected exactly {}, got {}", show(expected), show(actual)),
                    );
                }
            }
            Matcher::Regex { regex } => {
                let text = match actual {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(_) | Value::Bool(_) => Some(actual.to_string()),
                    _ => None,
                };
                match (text, Regex::new(regex)) {
                    (_, Err(e)) => self.fail(path, format!("the contract's regex {regex:?} is invalid: {e}")),
                    (Some(t), Ok(re)) if re.is_match(&t) => {}
                    (_, Ok(_)) => self.fail(
                        path,
                        format!("expected a value matching {regex:?}, got {}", show(actual)),
                    ),
                }
            }
            Matcher::Type { min, max } => {
                self.same_type(expected, actual, path, if here { (*min, *max) } else { (None, None) })
            }
            Matcher::Integer => {
                if !is_integer(actual) {
                    self.fail(path, format!("expected an integer, got {}", show(actual)));
                }
            }
            Matcher::Decimal => {
                if !actual.is_f64() {
                    self.fail(path, format!("expected a decimal number, got {}", show(actual)));
                }
            }
            Matcher::Number => {
                if !actual.is_number() {
                    self.fail(path, format!("expected a number, got {}", show(actual)));
                }
            }
            Matcher::Include { value } => match actual {
                Value::String(s) if s.contains(value.as_str()) => {}
                _ => self.fail(
                    path,
                    format!("expected a string containing {value:?}, got {}", show(actual)),
                ),
            },
        }
    }

    fn same_type(
        &mut self,
        expected: &Value,
        actual: &Value,
        path: &mut Vec<Segment>,
        (min, max): (Option<usize>, Option<usize>),
    ) {
        match (expected, actual) {
            (Value::Object(_), Value::Object(_)) => self.object(expected, actual, path),
            (Value::Array(e), Value::Array(a)) => {
                if let Some(min) = min.filter(|m| a.len() < *m) {
                    self.fail(path, format!("expected at least {min} elements, got {}", a.len()));
                }
                if let Some(max) = max.filter(|m| a.len() > *m) {
                    self.fail(path, format!("expected at most {max} elements, got {}", a.len()));
                }
                let Some(template) = e.first() else { return };
                for (i, av) in a.iter().enumerate() {
                    path.push(Segment::Index(i));
                    self.node(template, av, path);
                    path.pop();
                }
            }
            (Value::Number(_), Value::Number(_))
            | (Value::String(_), Value::String(_))
            | (Value::Bool(_), Value::Bool(_))
            | (Value::Null, Value::Null) => {}
            _ => self.fail(
                path,
                format!(
                    "expected {} (like {}), got {}",
                    kind(expected),
                    show(expected),
                    show(actual)
                ),
            ),
        }
    }
}

/// Compare one text value (a header, query parameter or form field) with
/// the expected one under `rules`: equality without rules.
pub fn compare_text(expected: &str, actual: &str, rules: Option<&RuleList>) -> Result<(), String> {
    let Some(list) = rules else {
        return if expected == actual {
            Ok(())
        } else {
            Err(format!("expected {expected:?}, got {actual:?}"))
        };
    };
    let check = |matcher: &Matcher| -> Result<(), String> {
        match matcher {
            Matcher::Equality if expected == actual => Ok(()),
            Matcher::Equality => Err(format!("expected exactly {expected:?}, got {actual:?}")),
            Matcher::Type { .. } => Ok(()),
            Matcher::Regex { regex } => match Regex::new(regex) {
                Ok(re) if re.is_match(actual) => Ok(()),
                Ok(_) => Err(format!("expected a value matching {regex:?}, got {actual:?}")),
                Err(e) => Err(format!("the contract's regex {regex:?} is invalid: {e}")),
            },
            Matcher::Integer => actual
                .parse::<i64>()
                .map(|_| ())
                .map_err(|_| format!("expected an integer, got {actual:?}")),
            Matcher::Decimal | Matcher::Number => actual
                .parse::<f64>()
                .map(|_| ())
                .map_err(|_| format!("expected a number, got {actual:?}")),
            Matcher::Include { value } if actual.contains(value.as_str()) => Ok(()),
            Matcher::Include { value } => Err(format!("expected a value containing {value:?}, got {actual:?}")),
        }
    };
    let results: Vec<Result<(), String>> = list.matchers.iter().map(check).collect();
    if list.combine.eq_ignore_ascii_case("OR") && results.iter().any(Result::is_ok) {
        return Ok(());
    }
    results.into_iter().collect::<Result<Vec<()>, String>>().map(|_| ())
}

/// The rules of `rules` for the name `name`, ignoring ASCII case (headers).
fn rules_named<'a>(rules: &'a BTreeMap<String, RuleList>, name: &str) -> Option<&'a RuleList> {
    rules.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// A media type without parameters, lower case: `application/json`.
fn media_type(value: &str) -> String {
    value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Compare headers: every expected one must be present (names ignore case;
/// a repeated header is its values joined with `, `), equal or matching its
/// rule; `Content-Type` compares the media type when the contract gives no
/// parameters. Other headers are not the contract's business.
pub fn compare_headers(
    expected: &BTreeMap<String, String>,
    actual: &[(String, String)],
    rules: &BTreeMap<String, RuleList>,
) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for (name, value) in expected {
        let values: Vec<&str> = actual
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        let place = format!("header {name}");
        if values.is_empty() {
            out.push(mismatch(
                place,
                format!("missing; the consumer relies on it (example {value:?})"),
            ));
            continue;
        }
        let joined = values.join(", ");
        let result = match rules_named(rules, name) {
            Some(list) => compare_text(value, &joined, Some(list)),
            None if name.eq_ignore_ascii_case("content-type") && !value.contains(';') => {
                if media_type(value) == media_type(&joined) {
                    Ok(())
                } else {
                    Err(format!("expected {value:?}, got {joined:?}"))
                }
            }
            None => compare_text(value.trim(), joined.trim(), None),
        };
        if let Err(detail) = result {
            out.push(mismatch(place, detail));
        }
    }
    out
}

/// Name → values of a query string or form body (`a=1&b=2&a=3`).
pub fn parse_pairs(text: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(text).map_err(|e| format!("not URL-encoded pairs ({e}): {text:?}"))?;
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in pairs {
        map.entry(k).or_default().push(v);
    }
    Ok(map)
}

/// Compare name → values maps (a query or a form body): the same names,
/// the same number of values, each equal or matching its rule. `what` is
/// `query` or `body`; `rule_of` finds a name's rules.
pub fn compare_pairs<'r>(
    what: &str,
    expected: &BTreeMap<String, Vec<String>>,
    actual: &BTreeMap<String, Vec<String>>,
    rule_of: impl Fn(&str) -> Option<&'r RuleList>,
) -> Vec<Mismatch> {
    let place = |name: &str| {
        if what == "body" {
            format!("body {}", render_path(&[Segment::Key(name.to_owned())]))
        } else {
            format!("{what} {name}")
        }
    };
    let mut out = Vec::new();
    for (name, values) in expected {
        let Some(got) = actual.get(name) else {
            out.push(mismatch(
                place(name),
                format!("missing (example {:?})", values.join(",")),
            ));
            continue;
        };
        if got.len() != values.len() {
            out.push(mismatch(
                place(name),
                format!("expected {} value(s) {values:?}, got {got:?}", values.len()),
            ));
            continue;
        }
        for (e, a) in values.iter().zip(got) {
            if let Err(detail) = compare_text(e, a, rule_of(name)) {
                out.push(mismatch(place(name), detail));
            }
        }
    }
    for (name, got) in actual {
        if !expected.contains_key(name) {
            out.push(mismatch(place(name), format!("not in the contract (sent {got:?})")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pact::Matcher;
    use serde_json::json;

    fn rules(pairs: &[(&str, Matcher)]) -> BTreeMap<String, RuleList> {
        let mut map: BTreeMap<String, RuleList> = BTreeMap::new();
        for (path, m) in pairs {
            map.entry((*path).to_owned())
                .or_insert_with(|| RuleList {
                    matchers: Vec::new(),
                    combine: "AND".into(),
                })
                .matchers
                .push(m.clone());
        }
        map
    }

    fn messages(m: &[Mismatch]) -> Vec<String> {
        m.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn paths_render_and_parse_as_pact_writes_them() {
        let path = [
            Segment::Key("items".into()),
            Segment::Index(0),
            Segment::Key("a key".into()),
        ];
        assert_eq!(render_path(&path), "$.items[0]['a key']");
        assert_eq!(
            parse_expression("$.items[*]['a key'].*[2]"),
            Ok(vec![
                Token::Key("items".into()),
                Token::AnyIndex,
                Token::Key("a key".into()),
                Token::AnyKey,
                Token::Index(2)
            ])
        );
        assert!(parse_expression("items").is_err());
        assert!(parse_expression("$.a[0").is_err());
    }

    #[test]
    fn the_most_specific_rule_wins_and_parents_rules_are_inherited() {
        let r = rules(&[
            (
                "$",
                Matcher::Type {
                    min: Some(1),
                    max: None,
                },
            ),
            ("$[*].username", Matcher::Equality),
        ]);
        let at = |p: &[Segment]| rules_at(&r, p).map(|(l, here)| (l.matchers[0].clone(), here));
        assert_eq!(
            at(&[]),
            Some((
                Matcher::Type {
                    min: Some(1),
                    max: None
                },
                true
            ))
        );
        let id = [Segment::Index(3), Segment::Key("id".into())];
        assert_eq!(
            at(&id),
            Some((
                Matcher::Type {
                    min: Some(1),
                    max: None
                },
                false
            ))
        );
        let user = [Segment::Index(3), Segment::Key("username".into())];
        assert_eq!(at(&user), Some((Matcher::Equality, true)));
    }

    #[test]
    fn type_rules_accept_other_values_of_the_same_type_and_extra_fields() {
        let r = rules(&[("$", Matcher::Type { min: None, max: None })]);
        let expected = json!({"id": 1, "username": "alice", "admin": false});
        let actual = json!({"id": 42, "username": "bob", "admin": true, "added": "later"});
        assert_eq!(
            messages(&compare_json(&expected, &actual, &r, ExtraKeys::Allowed)),
            Vec::<String>::new()
        );
        let wrong = json!({"id": "42", "username": "bob", "admin": true});
        assert_eq!(
            messages(&compare_json(&expected, &wrong, &r, ExtraKeys::Allowed)),
            ["body $.id: expected a number (like 1), got \"42\""]
        );
    }

    #[test]
    fn a_missing_field_is_named_by_its_path() {
        let expected = json!({"Authorized": "Bearer x"});
        let actual = json!({"token": "Bearer x"});
        assert_eq!(
            messages(&compare_json(&expected, &actual, &BTreeMap::new(), ExtraKeys::Allowed)),
            ["body $.Authorized: missing; the consumer relies on it (example \"Bearer x\")"]
        );
        assert_eq!(
            messages(&compare_json(&expected, &actual, &BTreeMap::new(), ExtraKeys::Refused)),
            [
                "body $.Authorized: missing; the consumer relies on it (example \"Bearer x\")",
                "body $.token: not in the contract"
            ]
        );
    }

    #[test]
    fn arrays_under_a_min_type_rule_need_that_many_elements_each_like_the_example() {
        let r = rules(&[
            (
                "$",
                Matcher::Type {
                    min: Some(1),
                    max: None,
                },
            ),
            (
                "$[*].timestamp",
                Matcher::Regex {
                    regex: r"^\d{4}-\d\d-\d\dT".into(),
                },
            ),
        ]);
        let expected = json!([{"id": 1, "timestamp": "2019-05-07T13:47:34"}]);
        let two =
            json!([{"id": 7, "timestamp": "2020-01-01T00:00:00"}, {"id": 8, "timestamp": "2021-02-02T10:00:00.5"}]);
        assert!(compare_json(&expected, &two, &r, ExtraKeys::Allowed).is_empty());
        assert_eq!(
            messages(&compare_json(&expected, &json!([]), &r, ExtraKeys::Allowed)),
            ["body $: expected at least 1 elements, got 0"]
        );
        let bad = json!([{"id": 7, "timestamp": "yesterday"}]);
        assert_eq!(
            messages(&compare_json(&expected, &bad, &r, ExtraKeys::Allowed)),
            ["body $[0].timestamp: expected a value matching \"^\\\\d{4}-\\\\d\\\\d-\\\\d\\\\dT\", got \"yesterday\""]
        );
        // Without a rule an array must have exactly the example's length.
        assert_eq!(
            messages(&compare_json(&expected, &two, &BTreeMap::new(), ExtraKeys::Allowed)).len(),
            3,
            "length, id and timestamp differ"
        );
    }

    #[test]
    fn integer_equality_and_or_rules() {
        let r = rules(&[("$.id", Matcher::Integer), ("$.kind", Matcher::Equality)]);
        let expected = json!({"id": 1, "kind": "RSA"});
        assert!(compare_json(&expected, &json!({"id": 9, "kind": "RSA"}), &r, ExtraKeys::Allowed).is_empty());
        assert_eq!(
            messages(&compare_json(
                &expected,
                &json!({"id": 1.5, "kind": "EC"}),
                &r,
                ExtraKeys::Allowed
            )),
            [
                "body $.id: expected an integer, got 1.5",
                "body $.kind: expected exactly \"RSA\", got \"EC\""
            ]
        );
        let either = RuleList {
            matchers: vec![Matcher::Integer, Matcher::Regex { regex: "^none$".into() }],
            combine: "OR".into(),
        };
        assert_eq!(compare_text("1", "none", Some(&either)), Ok(()));
        assert!(compare_text("1", "many", Some(&either)).is_err());
    }

    #[test]
    fn headers_ignore_name_case_and_content_type_parameters() {
        let expected: BTreeMap<String, String> = [("Content-Type".to_owned(), "application/json".to_owned())].into();
        let actual = vec![("content-type".to_owned(), "application/json; charset=utf-8".to_owned())];
        assert!(compare_headers(&expected, &actual, &BTreeMap::new()).is_empty());
        let html = vec![("content-type".to_owned(), "text/html".to_owned())];
        assert_eq!(
            messages(&compare_headers(&expected, &html, &BTreeMap::new())),
            ["header Content-Type: expected \"application/json\", got \"text/html\""]
        );
        assert_eq!(
            messages(&compare_headers(&expected, &[], &BTreeMap::new())),
            ["header Content-Type: missing; the consumer relies on it (example \"application/json\")"]
        );
    }

    #[test]
    fn form_bodies_and_queries_compare_as_pairs() {
        let expected = parse_pairs("username=alice&password=x").expect("pairs");
        let same = parse_pairs("password=x&username=alice").expect("pairs");
        assert!(compare_pairs("body", &expected, &same, |_| None).is_empty());
        let other = parse_pairs("username=alice&passwd=x").expect("pairs");
        assert_eq!(
            messages(&compare_pairs("body", &expected, &other, |_| None)),
            [
                "body $.password: missing (example \"x\")",
                "body $.passwd: not in the contract (sent [\"x\"])"
            ]
        );
        let limit = RuleList::one(Matcher::Integer);
        let q = parse_pairs("limit=50").expect("pairs");
        assert!(compare_pairs("query", &q, &parse_pairs("limit=20").expect("pairs"), |_| Some(&limit)).is_empty());
        assert_eq!(
            messages(&compare_pairs(
                "query",
                &q,
                &parse_pairs("limit=all").expect("pairs"),
                |_| Some(&limit)
            )),
            ["query limit: expected an integer, got \"all\""]
        );
    }
}
