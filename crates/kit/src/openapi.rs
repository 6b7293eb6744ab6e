//! Pieces of the API services' OpenAPI documents that describe what the
//! chassis itself does, so each service's document tells the whole truth:
//!
//! - the bearer security scheme (`Authorization: Bearer <JWT>`, the book's
//!   form) and the 401 every protected operation can answer;
//! - the responses [`Params`](crate::Params) and the middleware give before a
//!   handler runs: 408 (slow body), 413 (body over `BODY_LIMIT_BYTES`), 415
//!   (another body type), the 500 of an unexpected failure, the 507 of a full
//!   disk and the 503 of an unreachable database;
//! - the schema of a parameter as [`Params`](crate::Params) reads it from a
//!   JSON body: a string, or a number or boolean taken as its JSON text (as
//!   the book's request parser does);
//! - JSON Schema keywords utoipa does not model (`if`/`then`/`else`, `not`,
//!   `const`), added to a schema object as they are written.
//!
//! The character classes are written for both ECMA-262 (what OpenAPI
//! patterns are) and Python's `re` (what schemathesis generates from):
//! explicit `\xNN`/`\uNNNN` ranges only, no Unicode property escapes.

use crate::error::ErrorBody;
use utoipa::openapi::schema::{AdditionalProperties, Object, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

/// The name of the bearer security scheme in every document.
pub const BEARER: &str = "bearer";

/// Unicode control characters (category Cc), as a character class body:
/// what Rust's `char::is_control` is true for.
pub const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";

/// Control characters but the newline U+000A, as a character class body.
pub const CONTROL_BUT_NEWLINE: &str = r"\x00-\x09\x0b-\x1f\x7f-\x9f";

/// White space that is not a control character (the rest of Unicode's
/// `White_Space`, which Rust's `str::trim` removes), as a character class body.
pub const SPACE: &str = r" \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// Adds the bearer security scheme to a document's components.
#[derive(Debug, Clone, Copy)]
pub struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some(
                "`Authorization: Bearer <JWT>`, as the book's services take it: an RS256 token from \
                 the users service (`POST /api/login/` answers `{\"Authorized\": \"Bearer <JWT>\"}`, \
                 the header value as it is). Claims `username`, `iat`, `exp`; `admin: true` for \
                 administrators. Any other algorithm, an expired, future or malformed token is a 401.",
            ))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .security_schemes
            .insert(BEARER.to_owned(), SecurityScheme::Http(scheme).into());
    }
}

/// What the chassis answers for any operation whose parameters come from a
/// body (`Params`): a slow, an oversized or an unreadable one.
#[derive(utoipa::IntoResponses)]
pub enum BodyErrors {
    /// 408.
    #[response(
        status = 408,
        description = "The request body did not arrive within BODY_READ_TIMEOUT_MS (default 10 s) of its head; the connection is closed."
    )]
    Timeout(ErrorBody),
    /// 413.
    #[response(
        status = 413,
        description = "The request body is larger than BODY_LIMIT_BYTES (default 16 KiB)."
    )]
    TooLarge(ErrorBody),
    /// 415.
    #[response(
        status = 415,
        description = "A body that is neither `application/x-www-form-urlencoded` nor JSON (`application/json` or `*/*+json`)."
    )]
    UnsupportedType(ErrorBody),
}

/// The 500 any operation may answer.
#[derive(utoipa::IntoResponses)]
pub enum Internal {
    /// 500.
    #[response(
        status = 500,
        description = "An unexpected failure; never caused by what the request holds. The body says nothing more; the log line has the cause and the request id."
    )]
    Failure(ErrorBody),
    /// 507.
    #[response(
        status = 507,
        description = "The database's storage is full (SQLite `SQLITE_FULL`, PostgreSQL `53100 disk_full`): nothing was saved; reads keep working."
    )]
    StorageFull(ErrorBody),
}

/// The 503 of an operation that needs the database, when it cannot be
/// reached (operations with other 503s say so in their own description).
#[derive(utoipa::IntoResponses)]
pub enum Unavailable {
    /// 503.
    #[response(
        status = 503,
        description = "The database is not reachable right now (or is shutting down); nothing was saved.",
        headers(("Retry-After" = u64, description = "Seconds to wait"))
    )]
    Database(ErrorBody),
}

/// The 401 of an operation that requires a bearer token.
#[derive(utoipa::IntoResponses)]
pub enum Unauthorized {
    /// 401.
    #[response(
        status = 401,
        description = "No `Authorization: Bearer <JWT>` header, or a token that is malformed, expired, not yet valid, not RS256 or not signed by a known key.",
        headers(("WWW-Authenticate" = String, description = "`Bearer`"))
    )]
    Token(ErrorBody),
}

/// A schema of a parameter that [`Params`](crate::Params) reads: in a form
/// or query string it is text; in a JSON body a string, or a number or a
/// boolean, which counts as its JSON text (`5` as `"5"`, `true` as
/// `"true"`), as the book's parser converts them. `null` counts as absent.
/// String constraints (`minLength`, `pattern`, ...) added to it apply to the
/// text of strings only, as JSON Schema has it.
pub fn scalar_text(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Number, Type::Boolean]))
        .description(Some(description))
}

/// What a body may hold besides the parameters an operation reads: any
/// other name, with a value `Params` can read (it ignores them; an array or
/// an object in a JSON body is refused with 400 whatever its name).
pub fn other_parameters() -> AdditionalProperties<utoipa::openapi::schema::Schema> {
    let scalar = ObjectBuilder::new().schema_type(SchemaType::from_iter([
        Type::String,
        Type::Number,
        Type::Boolean,
        Type::Null,
    ]));
    AdditionalProperties::RefOr(scalar.into())
}

/// `object` with JSON Schema keywords that utoipa does not model (such as
/// `if`/`then`/`else`, `not`, `const`), serialized beside its own: `keywords`
/// must be a JSON object. utoipa keeps them in the schema's extension map,
/// which it writes out as it is (it only filters keys when reading a
/// document, which no service does).
pub fn with_keywords(mut object: Object, keywords: serde_json::Value) -> Object {
    if let serde_json::Value::Object(map) = keywords {
        let extensions = object.extensions.get_or_insert_with(Default::default);
        for (key, value) in map {
            extensions.insert(key, value);
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extra_keywords_are_written_as_they_are() {
        let object = ObjectBuilder::new().schema_type(Type::Object).build();
        let object = with_keywords(object, json!({"not": {"required": ["a"]}}));
        assert_eq!(
            serde_json::to_value(&object).expect("serializable"),
            json!({"type": "object", "not": {"required": ["a"]}})
        );
    }

    #[test]
    fn a_scalar_text_parameter_takes_strings_numbers_and_booleans() {
        let schema = scalar_text("x").min_length(Some(1)).build();
        assert_eq!(
            serde_json::to_value(&schema).expect("serializable"),
            json!({"type": ["string", "number", "boolean"], "description": "x", "minLength": 1})
        );
    }
}
