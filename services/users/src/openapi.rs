//! The schemas of the users service's inputs and of its JWK Set, written
//! out by hand because what the code accepts is more than a type says: the
//! lengths and characters of [`Username`] and [`Password`], and the stricter
//! rules for new accounts. Each schema states exactly what `domain` accepts;
//! the unit tests below and the schemathesis run in CI hold them to it.

use crate::domain::{Password, Username};
use kit::openapi::{CONTROL, SPACE, other_parameters, scalar_text};
use std::borrow::Cow;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{OpenApi, RefOr};

/// The invisible formatting characters a new username may not hold (the
/// ones `domain::is_format_char` names), as a character class body.
const FORMAT: &str = r"\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb";

/// The pattern of a username at login: no control characters.
fn username_pattern() -> String {
    format!("^[^{CONTROL}]*$")
}

/// The pattern of a new account's username: no control or invisible
/// formatting characters, and no white space at either end.
fn new_username_pattern() -> String {
    format!("^[^{CONTROL}{FORMAT}{SPACE}]([^{CONTROL}{FORMAT}]*[^{CONTROL}{FORMAT}{SPACE}])?$")
}

/// Input of `POST /api/login/` and `POST /api/sessions/` (form or JSON).
pub struct Credentials;

impl utoipa::PartialSchema for Credentials {
    fn schema() -> RefOr<Schema> {
        let username = scalar_text("1–50 characters, no control characters (spaces are fine: `Jane Doe`).")
            .min_length(Some(1))
            .max_length(Some(Username::MAX_CHARS))
            .pattern(Some(username_pattern()));
        let password = scalar_text("1–128 characters, any.")
            .min_length(Some(1))
            .max_length(Some(Password::MAX_CHARS));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("username", username)
            .property("password", password)
            .required("username")
            .required("password")
            .additional_properties(Some(other_parameters()))
            .into()
    }
}

impl utoipa::ToSchema for Credentials {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Credentials")
    }
}

/// Input of `POST /api/users/` and `POST /admin/users/` (form or JSON).
pub struct NewAccount;

impl utoipa::PartialSchema for NewAccount {
    fn schema() -> RefOr<Schema> {
        let username = scalar_text(
            "1–50 characters; no control characters, no invisible formatting characters \
             (zero-width spaces and joiners, bidirectional controls, the BOM, soft hyphen), \
             no white space at either end. A name that looks like an existing one (other case, \
             full-width or Cyrillic look-alike letters) is taken: 409.",
        )
        .min_length(Some(1))
        .max_length(Some(Username::MAX_CHARS))
        .pattern(Some(new_username_pattern()));
        let password = ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "At least PASSWORD_MIN_LENGTH characters (default 12, OWASP ASVS), at most 128, any; \
                 as text (a JSON string, not a number or boolean).",
            ))
            .min_length(Some(Password::DEFAULT_MIN_CHARS))
            .max_length(Some(Password::MAX_CHARS));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("username", username)
            .property("password", password)
            .required("username")
            .required("password")
            .additional_properties(Some(other_parameters()))
            .into()
    }
}

impl utoipa::ToSchema for NewAccount {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("NewAccount")
    }
}

/// Input of `POST /api/sessions/refresh` and `/api/sessions/revoke`.
pub struct RefreshRequest;

impl utoipa::PartialSchema for RefreshRequest {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(
                "refresh",
                scalar_text("The refresh token a session answer gave (anything else is unknown: 401)."),
            )
            .required("refresh")
            .additional_properties(Some(other_parameters()))
            .into()
    }
}

impl utoipa::ToSchema for RefreshRequest {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("RefreshRequest")
    }
}

/// The JWK Set of `GET /.well-known/jwks.json`.
pub struct JwkSet;

impl utoipa::PartialSchema for JwkSet {
    fn schema() -> RefOr<Schema> {
        let text = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description))
        };
        let key = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("kty", text("Key type").enum_values(Some(["RSA"])))
            .property("alg", text("Algorithm").enum_values(Some(["RS256"])))
            .property("use", text("Public key use").enum_values(Some(["sig"])))
            .property(
                "kid",
                text("Key id: the RFC 7638 thumbprint, as tokens name it in their `kid` header"),
            )
            .property("n", text("Modulus, base64url"))
            .property("e", text("Exponent, base64url"))
            .required("kty")
            .required("alg")
            .required("use")
            .required("kid")
            .required("n")
            .required("e");
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "The signing key first, then any key published beside it for a rotation \
                 (PUBLISHED_PUBLIC_KEY_PATHS).",
            ))
            .property("keys", ArrayBuilder::new().items(key).min_items(Some(1)))
            .required("keys")
            .into()
    }
}

impl utoipa::ToSchema for JwkSet {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("JwkSet")
    }
}

/// The document as served: [`crate::ApiDoc`] with the password length
/// policy in force (PASSWORD_MIN_LENGTH) instead of its default.
pub fn document(password_min_chars: usize) -> OpenApi {
    let mut openapi = <crate::ApiDoc as utoipa::OpenApi>::openapi();
    let schema = openapi
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut("NewAccount"));
    if let Some(RefOr::T(Schema::Object(account))) = schema
        && let Some(RefOr::T(Schema::Object(password))) = account.properties.get_mut("password")
    {
        password.min_length = Some(password_min_chars);
    }
    openapi
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A character likely to sit on a boundary of the rules, or any.
    fn tricky_char() -> impl Strategy<Value = char> {
        prop_oneof![
            3 => any::<char>(),
            3 => proptest::char::range('a', 'e'),
            1 => proptest::char::range('\0', '\u{20}'),
            1 => proptest::char::range('\u{7f}', '\u{a0}'),
            1 => proptest::sample::select(vec!['\u{ad}', '\u{61c}', '\u{180e}', '\u{1680}', '\u{2000}', '\u{200a}',
                '\u{200b}', '\u{200f}', '\u{2028}', '\u{202a}', '\u{202e}', '\u{202f}', '\u{205f}', '\u{2060}',
                '\u{2064}', '\u{2066}', '\u{206f}', '\u{3000}', '\u{feff}', '\u{fff9}', '\u{fffb}']),
        ]
    }

    fn text(max: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(tricky_char(), 0..max).prop_map(|cs| cs.into_iter().collect())
    }

    /// Whether `s` is valid under a string schema's pattern and lengths.
    fn valid(pattern: &str, min: usize, max: usize, s: &str) -> bool {
        let n = s.chars().count();
        regex::Regex::new(pattern).expect("the pattern compiles").is_match(s) && (min..=max).contains(&n)
    }

    proptest! {
        #[test]
        fn the_documented_username_rules_are_the_domain_rules(s in text(60)) {
            prop_assert_eq!(valid(&username_pattern(), 1, Username::MAX_CHARS, &s), Username::parse(&s).is_ok(), "{:?}", s);
            prop_assert_eq!(valid(&new_username_pattern(), 1, Username::MAX_CHARS, &s), Username::parse_new(&s).is_ok(), "{:?}", s);
        }

        #[test]
        fn the_documented_password_rules_are_the_domain_rules(s in text(140)) {
            prop_assert_eq!(valid("", 1, Password::MAX_CHARS, &s), Password::parse(&s).is_ok());
            let min = Password::DEFAULT_MIN_CHARS;
            prop_assert_eq!(valid("", min, Password::MAX_CHARS, &s), Password::parse_new(&s, min).is_ok());
        }
    }

    #[test]
    fn the_served_document_states_the_password_policy_in_force() {
        let value = serde_json::to_value(document(20)).expect("serializable");
        let password = &value["components"]["schemas"]["NewAccount"]["properties"]["password"];
        assert_eq!(password["minLength"], 20);
        assert_eq!(password["maxLength"], 128);
    }
}
