//! A service's OpenAPI document checked for the statements every operation
//! must make (issue 11): a description for each response, the JSON error
//! body on every error, the responses the chassis gives (500 wherever
//! something can fail, 408/413/415 wherever parameters come from a body), the bearer scheme and
//! its 401 with `WWW-Authenticate` on protected operations, `Retry-After`
//! on every 429, and both body types (form and JSON) on every request body.
//! What each parameter accepts is checked by the services' unit tests and
//! by schemathesis in CI; this is the part a fuzzer cannot see missing.

use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Which operations (by `operationId`) the rules treat apart.
#[derive(Debug, Clone, Copy, Default)]
pub struct Exceptions<'a> {
    /// Operations without a request body that still read parameters from a
    /// body, as the list endpoints do (`kit::Params`): they answer 400, 408,
    /// 413 and 415 too.
    pub reads_params: &'a [&'a str],
    /// Operations with nothing that can fail (no database, no input), which
    /// need not list a 500.
    pub infallible: &'a [&'a str],
}

/// Every problem with `spec`, one line each (empty when there is none).
pub fn problems(spec: &Value, exceptions: Exceptions<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let scheme = &spec["components"]["securitySchemes"]["bearer"];
    if scheme["type"] != "http" || scheme["scheme"] != "bearer" || scheme["bearerFormat"] != "JWT" {
        out.push(format!("no bearer JWT security scheme: {scheme}"));
    }
    let Some(paths) = spec["paths"].as_object() else {
        out.push("no paths".to_owned());
        return out;
    };
    for (path, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let name = format!("{} {path}", method.to_uppercase());
            out.extend(operation_problems(&name, op, exceptions));
        }
    }
    out
}

fn operation_problems(name: &str, op: &Value, exceptions: Exceptions<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let id = op["operationId"].as_str().unwrap_or_default();
    let responses = op["responses"].as_object().cloned().unwrap_or_default();
    let has = |status: &str| responses.contains_key(status);
    for (status, response) in &responses {
        if response["description"].as_str().is_none_or(str::is_empty) {
            out.push(format!("{name} {status}: no description"));
        }
        let is_error = status.starts_with('4') || status.starts_with('5');
        let schema = &response["content"]["application/json"]["schema"]["$ref"];
        if is_error && schema != "#/components/schemas/ErrorBody" {
            out.push(format!("{name} {status}: not the JSON error body"));
        }
        if status == "429" && response["headers"].get("Retry-After").is_none() {
            out.push(format!("{name} 429: no Retry-After header"));
        }
    }
    if !has("500") && !exceptions.infallible.contains(&id) {
        out.push(format!("{name}: no 500"));
    }
    let body = &op["requestBody"]["content"];
    if !op["requestBody"].is_null() {
        for content_type in ["application/x-www-form-urlencoded", "application/json"] {
            if body.get(content_type).is_none() {
                out.push(format!("{name}: request body without {content_type}"));
            }
        }
    }
    if !op["requestBody"].is_null() || exceptions.reads_params.contains(&id) {
        for status in ["400", "408", "413", "415"] {
            if !has(status) {
                out.push(format!("{name}: parameters come from a body but no {status}"));
            }
        }
    }
    let protected = op["security"]
        .as_array()
        .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
    if protected {
        match responses.get("401") {
            Some(r) if r["headers"].get("WWW-Authenticate").is_some() => {}
            _ => out.push(format!("{name}: protected but no 401 with WWW-Authenticate")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_bare_operation_is_reported() {
        let spec = json!({
            "paths": {"/x/": {"post": {
                "operationId": "x",
                "security": [{"bearer": []}],
                "requestBody": {"content": {"application/json": {}}},
                "responses": {"200": {}, "429": {"description": "slow down", "content": {}}},
            }}}
        });
        let found = problems(&spec, Exceptions::default());
        for expected in [
            "no bearer JWT security scheme",
            "POST /x/ 200: no description",
            "POST /x/ 429: not the JSON error body",
            "POST /x/ 429: no Retry-After header",
            "POST /x/: no 500",
            "POST /x/: request body without application/x-www-form-urlencoded",
            "POST /x/: parameters come from a body but no 413",
            "POST /x/: protected but no 401 with WWW-Authenticate",
        ] {
            assert!(
                found.iter().any(|p| p.starts_with(expected)),
                "{expected} missing from {found:#?}"
            );
        }
    }
}
