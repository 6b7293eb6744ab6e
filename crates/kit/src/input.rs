//! Request parameters accepted the way the book's request parser accepts
//! them: form-encoded body, JSON object body, or query string.

use crate::error::{error_response, validation_response};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::{BTreeMap, BTreeSet};

/// What a required parameter that is absent is reported with (the field's
/// entry in a validation error), as the book's request parser words it.
pub const MISSING_PARAMETER: &str = "Missing required parameter in the JSON body or the post body or the query string";

/// Parameters of one request: the query string merged with the body (form or
/// JSON object; the body wins when both name the same field).
///
/// A parameter repeated in the query string or in a form body keeps its
/// **first** value, as the book's parser (flask-restplus `reqparse`) does. A
/// JSON object with a duplicate key keeps its last value, as `serde_json`
/// and the book's `json.loads` both do.
///
/// A JSON number or boolean counts as its JSON text (`5` as `"5"`), as the
/// book's parser converts them; [`Params::is_text`] tells such a value from
/// one sent as text. A JSON `null` counts as absent.
///
/// Rejections use the JSON error shape: 400 for malformed JSON or non-scalar
/// values, 413 for an oversized body, 415 for another body type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    values: BTreeMap<String, String>,
    /// Names whose value came as a JSON number or boolean.
    from_json_scalar: BTreeSet<String>,
}

impl Params {
    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// False when the value of `name` came as a JSON number or boolean
    /// rather than as text (a JSON string, a form field, the query string).
    pub fn is_text(&self, name: &str) -> bool {
        !self.from_json_scalar.contains(name)
    }
}

/// The parameters of a query string or form body; a repeated name keeps its
/// first value (API.md: "the first value counts").
fn form_params(bytes: &[u8]) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for (k, v) in form_urlencoded_pairs(bytes) {
        map.entry(k).or_insert(v);
    }
    map
}

fn form_urlencoded_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    // serde_urlencoded decodes `+` and percent escapes, lossily for bad UTF-8.
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes).unwrap_or_default()
}

fn merge_json(params: &mut Params, bytes: &[u8]) -> Result<(), Response> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| error_response(StatusCode::BAD_REQUEST, format!("Malformed JSON body: {e}")))?;
    let serde_json::Value::Object(object) = value else {
        return Err(error_response(
            StatusCode::BAD_REQUEST,
            "The JSON body must be an object",
        ));
    };
    let mut errors = BTreeMap::new();
    for (k, v) in object {
        let scalar = match v {
            serde_json::Value::String(s) => {
                params.from_json_scalar.remove(&k);
                params.values.insert(k, s);
                continue;
            }
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Null => continue,
            _ => {
                errors.insert(k, "must be a string".to_owned());
                continue;
            }
        };
        params.from_json_scalar.insert(k.clone());
        params.values.insert(k, scalar);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(validation_response(errors))
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut params = Self {
            values: form_params(req.uri().query().unwrap_or_default().as_bytes()),
            from_json_scalar: BTreeSet::new(),
        };
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "Request body too large".to_owned()
            } else {
                rejection.body_text()
            };
            error_response(status, message)
        })?;
        match content_type.as_deref() {
            _ if body.is_empty() => {}
            Some("application/x-www-form-urlencoded") => params.values.extend(form_params(&body)),
            Some(ct) if ct == "application/json" || ct.ends_with("+json") => merge_json(&mut params, &body)?,
            _ => {
                return Err(error_response(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Send parameters as application/x-www-form-urlencoded, application/json or in the query string",
                )
                .into_response());
            }
        }
        Ok(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    async fn parse(req: Request) -> Result<Params, StatusCode> {
        Params::from_request(req, &()).await.map_err(|r| r.status())
    }

    fn request(ct: Option<&str>, uri: &str, body: &'static str) -> Request {
        let mut b = Request::builder().method("POST").uri(uri);
        if let Some(ct) = ct {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        b.body(Body::from(body)).expect("valid request")
    }

    #[tokio::test]
    async fn form_json_and_query_are_all_accepted() {
        let form = parse(request(
            Some("application/x-www-form-urlencoded"),
            "/",
            "a=1+2&b=%C3%BC",
        ))
        .await
        .expect("form");
        assert_eq!(form.get("a"), Some("1 2"));
        assert_eq!(form.get("b"), Some("ü"));
        let json = parse(request(
            Some("application/json; charset=utf-8"),
            "/",
            r#"{"a":"x","n":3}"#,
        ))
        .await
        .expect("json");
        assert_eq!(json.get("a"), Some("x"));
        assert_eq!(json.get("n"), Some("3"));
        assert!(json.is_text("a") && !json.is_text("n"), "a number is not text");
        let query = parse(request(None, "/?a=q", "")).await.expect("query");
        assert_eq!(query.get("a"), Some("q"));
    }

    #[tokio::test]
    async fn body_wins_over_query() {
        let p = parse(request(Some("application/x-www-form-urlencoded"), "/?a=q", "a=b"))
            .await
            .expect("form");
        assert_eq!(p.get("a"), Some("b"));
    }

    #[tokio::test]
    async fn a_repeated_form_or_query_name_keeps_its_first_value_and_json_its_last() {
        let p = parse(request(
            Some("application/x-www-form-urlencoded"),
            "/?a=q1&a=q2&c=q1&c=q2",
            "a=b1&a=b2",
        ))
        .await
        .expect("form");
        assert_eq!(p.get("a"), Some("b1"));
        assert_eq!(p.get("c"), Some("q1"));
        let json = parse(request(Some("application/json"), "/", r#"{"a":"j1","a":"j2"}"#))
            .await
            .expect("json");
        assert_eq!(json.get("a"), Some("j2"));
    }

    #[tokio::test]
    async fn malformed_json_is_400_and_other_types_415() {
        let bad = parse(request(Some("application/json"), "/", "{nope")).await;
        assert_eq!(bad, Err(StatusCode::BAD_REQUEST));
        let array = parse(request(Some("application/json"), "/", "[1]")).await;
        assert_eq!(array, Err(StatusCode::BAD_REQUEST));
        let xml = parse(request(Some("text/xml"), "/", "<a/>")).await;
        assert_eq!(xml, Err(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
}
