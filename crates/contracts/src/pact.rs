//! The Pact specification v3 file format: what a consumer's tests record
//! and a provider's tests verify (<https://github.com/pact-foundation/pact-specification/tree/version-3>).
//!
//! Only what MyThoughts' contracts use is modelled: HTTP interactions,
//! provider states with parameters, matching rules for body, headers,
//! query and path, and provider-state generators.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The version written to `metadata.pactSpecification.version`.
pub const SPECIFICATION_VERSION: &str = "3.0.0";

/// One contract: the interactions a consumer relies on from a provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pact {
    /// Who relies on the provider.
    pub consumer: Pacticipant,
    /// Who must keep the contract.
    pub provider: Pacticipant,
    /// What the consumer sends and what it relies on in the answer.
    pub interactions: Vec<Interaction>,
    /// `pactSpecification.version` and who wrote the file.
    #[serde(default)]
    pub metadata: Value,
}

/// A party to a contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pacticipant {
    /// The service's name (`frontend`, `users`, ...).
    pub name: String,
}

/// One request the consumer makes and the response it relies on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Interaction {
    /// What happens, as a sentence; unique within the contract.
    pub description: String,
    /// What must be true at the provider first (set up by the provider's tests).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provider_states: Vec<ProviderState>,
    /// The request, with the example values the consumer sends.
    pub request: Request,
    /// The response, with example values and the rules they stand for.
    pub response: Response,
}

/// A provider state: a name the provider's tests know how to set up, with
/// parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderState {
    /// E.g. `an account exists`.
    pub name: String,
    /// E.g. `{"username": "alice"}`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub params: Map<String, Value>,
}

/// The expected request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, exactly as sent (trailing slash included).
    pub path: String,
    /// Query parameters, each with its values in order.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, Vec<String>>,
    /// Headers that matter (others the consumer sends are not part of the contract).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// A JSON body, or a string (a form body: `a=1&b=2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Rules that loosen the example values.
    #[serde(default, skip_serializing_if = "MatchingRules::is_empty")]
    pub matching_rules: MatchingRules,
    /// Values the provider's state set-up supplies (a token, an id).
    #[serde(default, skip_serializing_if = "Generators::is_empty")]
    pub generators: Generators,
}

/// The response the consumer relies on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// Exact status code.
    pub status: u16,
    /// Headers the consumer reads.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Example body (what the mock answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// What of the body and headers the consumer relies on, beyond equality.
    #[serde(default, skip_serializing_if = "MatchingRules::is_empty")]
    pub matching_rules: MatchingRules,
}

/// Matching rules by category. Body rules are keyed by a path expression
/// (`$.items[*].id`); header and query rules by name; the path rule is one
/// list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MatchingRules {
    /// Rules on the body, by path expression.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub body: BTreeMap<String, RuleList>,
    /// Rules on headers, by header name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub header: BTreeMap<String, RuleList>,
    /// Rules on query parameters, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, RuleList>,
    /// Rules on the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<RuleList>,
}

impl MatchingRules {
    /// Whether there is no rule at all.
    pub fn is_empty(&self) -> bool {
        self.body.is_empty() && self.header.is_empty() && self.query.is_empty() && self.path.is_none()
    }
}

/// The matchers applying at one place; all must hold (`combine: AND`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleList {
    /// The matchers.
    pub matchers: Vec<Matcher>,
    /// `AND` (every matcher must hold) or `OR` (one is enough).
    #[serde(default = "and")]
    pub combine: String,
}

fn and() -> String {
    "AND".to_owned()
}

impl RuleList {
    /// One matcher.
    pub fn one(matcher: Matcher) -> Self {
        Self {
            matchers: vec![matcher],
            combine: and(),
        }
    }
}

/// A Pact v3 matcher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "match", rename_all = "lowercase")]
pub enum Matcher {
    /// Exactly the example value (also undoes a type rule inherited from a parent).
    Equality,
    /// A string (or number, as text) matching the regular expression.
    Regex {
        /// The expression, matched against the whole value.
        regex: String,
    },
    /// The same JSON type as the example; on arrays, every element like the
    /// example's first, with at least `min` / at most `max` elements.
    Type {
        /// Fewest elements of an array.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<usize>,
        /// Most elements of an array.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<usize>,
    },
    /// A whole number.
    Integer,
    /// A number with a fractional part.
    Decimal,
    /// Any number.
    Number,
    /// A string containing `value`.
    Include {
        /// What it must contain.
        value: String,
    },
}

/// Generators by category: where a value comes from the provider's state
/// set-up rather than from the example (a token, an id it created).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Generators {
    /// Form or JSON body fields, by path expression (`$.refresh`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub body: BTreeMap<String, Generator>,
    /// Headers, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub header: BTreeMap<String, Generator>,
    /// Query parameters, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, Generator>,
    /// The path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Generator>,
}

impl Generators {
    /// Whether there is no generator at all.
    pub fn is_empty(&self) -> bool {
        self.body.is_empty() && self.header.is_empty() && self.query.is_empty() && self.path.is_none()
    }
}

/// A value generator. Only `ProviderState` is supported: the expression,
/// with `${name}` replaced by the value the state set-up returned as `name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Generator {
    /// `${name}` placeholders filled from the provider state's values.
    ProviderState {
        /// E.g. `/api/me/thoughts/${id}/`.
        expression: String,
    },
}

impl Generator {
    /// The expression with every `${name}` replaced from `values`; an error
    /// names a placeholder the state set-up did not supply.
    pub fn generate(&self, values: &Map<String, Value>) -> Result<String, String> {
        let Self::ProviderState { expression } = self;
        let mut out = String::new();
        let mut rest = expression.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed placeholder in {expression:?}"))?;
            let name = &after[..end];
            match values.get(name) {
                Some(Value::String(s)) => out.push_str(s),
                Some(other) => out.push_str(&other.to_string()),
                None => {
                    return Err(format!(
                        "the provider state set-up returned no value `{name}` (needed by {expression:?})"
                    ));
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_are_filled_from_the_state_values() {
        let g = Generator::ProviderState {
            expression: "/api/me/thoughts/${id}/".into(),
        };
        let values = json!({"id": 7}).as_object().cloned().unwrap_or_default();
        assert_eq!(g.generate(&values), Ok("/api/me/thoughts/7/".to_owned()));
        let missing = g.generate(&Map::new()).expect_err("no id");
        assert!(missing.contains("`id`"), "{missing}");
    }

    #[test]
    fn matchers_read_and_write_the_v3_shapes() {
        let rules: RuleList = serde_json::from_value(json!({
            "matchers": [{"match": "type", "min": 1}, {"match": "regex", "regex": "^a$"}, {"match": "integer"}]
        }))
        .expect("v3 rules");
        assert_eq!(
            rules.matchers,
            [
                Matcher::Type {
                    min: Some(1),
                    max: None
                },
                Matcher::Regex { regex: "^a$".into() },
                Matcher::Integer
            ]
        );
        assert_eq!(rules.combine, "AND");
        assert_eq!(
            serde_json::to_value(RuleList::one(Matcher::Equality)).expect("json"),
            json!({"matchers": [{"match": "equality"}], "combine": "AND"})
        );
    }
}
