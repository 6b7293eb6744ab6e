//! Writing what a consumer relies on: example values wrapped in matchers,
//! in the JSON shape Pact's own consumer libraries use
//! (`{"pact:matcher:type": "regex", "regex": "...", "value": "..."}`), so
//! that a body reads like the JSON it stands for:
//!
//! ```
//! use contracts::dsl::{each_like, integer, like, term};
//! let body = each_like(serde_json::json!({
//!     "id": integer(1),
//!     "username": like("alice"),
//!     "timestamp": term(r"^\d{4}-\d{2}-\d{2}T", "2019-05-07T13:47:34"),
//! }), 1);
//! # let _ = body;
//! ```

use crate::matching::Segment;
use crate::matching::render_path;
use crate::pact::{Matcher, RuleList};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const MATCHER_KEY: &str = "pact:matcher:type";

/// The expression of the book's timestamps: UTC, ISO 8601 without offset,
/// with optional microseconds (`2019-05-07T13:47:34`, `...34.123456`).
pub const TIMESTAMP: &str = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$";

/// Any value of the example's JSON type (objects: the same keys, each
/// like its example).
pub fn like(example: impl Into<Value>) -> Value {
    json!({MATCHER_KEY: "type", "value": example.into()})
}

/// An array of at least `min` elements, each like `template`.
pub fn each_like(template: impl Into<Value>, min: usize) -> Value {
    json!({MATCHER_KEY: "type", "min": min, "value": [template.into()]})
}

/// A string matching `regex` (anchor it: `^...$`); `example` must match.
pub fn term(regex: &str, example: &str) -> Value {
    json!({MATCHER_KEY: "regex", "regex": regex, "value": example})
}

/// Any whole number.
pub fn integer(example: i64) -> Value {
    json!({MATCHER_KEY: "integer", "value": example})
}

/// Exactly `example`, also below a `like` that would loosen it.
pub fn equal(example: impl Into<Value>) -> Value {
    json!({MATCHER_KEY: "equality", "value": example.into()})
}

/// A string containing `needle`.
pub fn include(needle: &str, example: &str) -> Value {
    json!({MATCHER_KEY: "include", "value": example, "include": needle})
}

/// A timestamp as the services write them ([`TIMESTAMP`]).
pub fn timestamp(example: &str) -> Value {
    term(TIMESTAMP, example)
}

/// Split a body written with matchers into its example value and its
/// matching rules (keyed by path expression).
pub fn extract(body: &Value) -> Result<(Value, BTreeMap<String, RuleList>), String> {
    let mut rules = BTreeMap::new();
    let example = walk(body, "$".to_owned(), &mut rules)?;
    Ok((example, rules))
}

fn child(path: &str, key: &str) -> String {
    let rendered = render_path(&[Segment::Key(key.to_owned())]);
    format!("{path}{}", &rendered[1..])
}

fn walk(value: &Value, path: String, rules: &mut BTreeMap<String, RuleList>) -> Result<Value, String> {
    match value {
        Value::Object(map) if map.contains_key(MATCHER_KEY) => {
            let kind = map.get(MATCHER_KEY).and_then(Value::as_str).unwrap_or_default();
            let inner = map
                .get("value")
                .ok_or_else(|| format!("{path}: a matcher needs a \"value\""))?;
            let size = |name: &str| map.get(name).and_then(Value::as_u64).map(|n| n as usize);
            let matcher = match kind {
                "type" => Matcher::Type {
                    min: size("min"),
                    max: size("max"),
                },
                "regex" => Matcher::Regex {
                    regex: map
                        .get("regex")
                        .and_then(Value::as_str)
                        .ok_or_else(|| format!("{path}: a regex matcher needs \"regex\""))?
                        .to_owned(),
                },
                "integer" => Matcher::Integer,
                "decimal" => Matcher::Decimal,
                "number" => Matcher::Number,
                "equality" => Matcher::Equality,
                "include" => Matcher::Include {
                    value: map
                        .get("include")
                        .and_then(Value::as_str)
                        .ok_or_else(|| format!("{path}: an include matcher needs \"include\""))?
                        .to_owned(),
                },
                other => return Err(format!("{path}: unknown matcher {other:?}")),
            };
            let min = match &matcher {
                Matcher::Type { min, .. } => *min,
                _ => None,
            };
            rules
                .entry(path.clone())
                .or_insert_with(|| RuleList {
                    matchers: Vec::new(),
                    combine: "AND".to_owned(),
                })
                .matchers
                .push(matcher);
            match (inner, min) {
                // `each_like`: one template for every element, `min` copies in the example.
                (Value::Array(items), Some(min)) if items.len() == 1 => {
                    let example = walk(&items[0], format!("{path}[*]"), rules)?;
                    Ok(Value::Array(vec![example; min.max(1)]))
                }
                _ => walk(inner, path, rules),
            }
        }
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                out.insert(k.clone(), walk(v, child(&path, k), rules)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| walk(v, format!("{path}[{i}]"), rules))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_become_an_example_and_rules_by_path() {
        let body = json!({
            "keys": each_like(json!({"kid": like("k1"), "kty": equal("RSA"), "n": term("^[A-Za-z0-9_-]+$", "abc")}), 1),
            "count": integer(3),
            "plain": "as is",
            "a key": like(true),
        });
        let (example, rules) = extract(&body).expect("valid");
        assert_eq!(
            example,
            json!({"keys": [{"kid": "k1", "kty": "RSA", "n": "abc"}], "count": 3, "plain": "as is", "a key": true})
        );
        let paths: Vec<&str> = rules.keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            [
                "$.count",
                "$.keys",
                "$.keys[*].kid",
                "$.keys[*].kty",
                "$.keys[*].n",
                "$['a key']"
            ]
        );
        assert_eq!(
            rules["$.keys"].matchers,
            [Matcher::Type {
                min: Some(1),
                max: None
            }]
        );
    }

    #[test]
    fn an_each_like_example_holds_min_copies() {
        let (example, _) = extract(&each_like(json!({"id": integer(1)}), 2)).expect("valid");
        assert_eq!(example, json!([{"id": 1}, {"id": 1}]));
    }

    #[test]
    fn an_unknown_matcher_is_refused() {
        let err = extract(&json!({"a": {MATCHER_KEY: "date", "value": "x"}})).expect_err("unknown");
        assert!(err.contains("$.a") && err.contains("date"), "{err}");
    }
}
