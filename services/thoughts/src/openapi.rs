//! The schemas of the thoughts service's inputs, written out by hand because
//! what the code accepts is more than a type says: lengths, the characters
//! [`ThoughtText`](crate::domain::ThoughtText) refuses, and which paging
//! parameters go together ([`Page`](crate::domain::Page)). Each schema here
//! states exactly what `domain` accepts; the API tests and the schemathesis
//! run in CI hold them to it.

use crate::domain::{Page, ThoughtText};
use kit::openapi::{CONTROL, CONTROL_BUT_NEWLINE, SPACE, other_parameters, scalar_text, with_keywords};
use serde_json::json;
use std::borrow::Cow;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};

/// The bidirectional embeddings, overrides and isolates, as a character class body.
const BIDI: &str = r"\u202a-\u202e\u2066-\u2069";

/// The longest author name, as the users service has it.
const USERNAME_MAX_CHARS: usize = 50;

/// The pattern of a search needle: no NUL.
const SEARCH_PATTERN: &str = r"^[^\x00]*$";

/// The pattern of an author name given as a filter: no control characters.
fn author_pattern() -> String {
    format!("^[^{CONTROL}]*$")
}

/// The pattern of a thought's text: only characters `ThoughtText` keeps, and
/// at least one that is not white space.
fn text_pattern() -> String {
    format!("^[^{CONTROL_BUT_NEWLINE}{BIDI}]*[^{CONTROL}{BIDI}{SPACE}][^{CONTROL_BUT_NEWLINE}{BIDI}]*$")
}

/// Input of `POST /api/me/thoughts/` (form or JSON).
pub struct NewThought;

impl utoipa::PartialSchema for NewThought {
    fn schema() -> RefOr<Schema> {
        let text = scalar_text(
            "1–250 characters, stored exactly as sent (not trimmed); not blank; no control \
             characters but the newline (send line ends as LF), no bidirectional embeddings, \
             overrides or isolates (U+202A–U+202E, U+2066–U+2069). The direction marks \
             U+200E, U+200F and U+061C are kept.",
        )
        .min_length(Some(1))
        .max_length(Some(ThoughtText::MAX_CHARS))
        .pattern(Some(text_pattern()));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("text", text)
            .required("text")
            .additional_properties(Some(other_parameters()))
            .into()
    }
}

impl utoipa::ToSchema for NewThought {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("NewThought")
    }
}

/// A cursor: a thought id (0 and ids that do not exist are fine).
fn cursor(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(0))
        .maximum(Some(i64::MAX))
        .description(Some(description))
}

/// The query string of a list: search, paging and, on the public list, one
/// author's thoughts. One parameter of `style: form, explode: true` (its
/// properties are the query's parameters) so that the schema can say which
/// of them go together.
fn list_query(public: bool) -> Schema {
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "Every property is a query parameter of its own (`?search=…&limit=…`). Parameters \
             the service does not know are ignored; a parameter repeated counts with its first \
             value. `after` only goes with ascending order, `before` only with `order=desc`.",
        ))
        .property(
            "search",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(ThoughtText::MAX_CHARS))
                .pattern(Some(SEARCH_PATTERN))
                .description(Some(
                    "Only thoughts whose text contains this, case-insensitively and literally \
                     (`%` and `_` are no wildcards); at most 250 characters, no NUL. Empty: no filter.",
                )),
        );
    if public {
        object = object.property(
            "username",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(USERNAME_MAX_CHARS))
                .pattern(Some(author_pattern()))
                .description(Some(
                    "*(ext)* Only this author's thoughts: at most 50 characters, no control \
                     characters. Empty: everyone's. Not with a non-empty `search`.",
                )),
        );
    }
    let object = object
        .property(
            "limit",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(Page::MAX_LIMIT))
                .description(Some(
                    "*(ext)* Page size. Without it a list holds up to LIST_MAX_ITEMS (default 1000) \
                     thoughts; when more follow, a `Link: <…>; rel=\"next\"` header points to them.",
                )),
        )
        .property(
            "order",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["asc", "desc", ""]))
                .description(Some(
                    "*(ext)* `asc` (the default, also when empty): ascending ids; `desc`: newest first.",
                )),
        )
        .property(
            "after",
            cursor("*(ext)* Ascending order only: only thoughts with a greater id (the next page's cursor)."),
        )
        .property(
            "before",
            cursor("*(ext)* With `order=desc` only: only thoughts with a smaller id (the next page's cursor)."),
        )
        .build();
    // `after` only in ascending order, `before` only newest first; `false`
    // is the schema no value meets: that parameter must be absent.
    let order_rule = json!({"anyOf": [
        {"properties": {"order": {"enum": ["asc", ""]}, "before": false}},
        {"required": ["order"], "properties": {"order": {"const": "desc"}, "after": false}},
    ]});
    let rules = if public {
        // `username` and `search` are not both non-empty.
        let exclusive = json!({"anyOf": [
            {"properties": {"username": {"maxLength": 0}}},
            {"properties": {"search": {"maxLength": 0}}},
        ]});
        json!([order_rule, exclusive])
    } else {
        json!([order_rule])
    };
    Schema::Object(with_keywords(object, json!({ "allOf": rules })))
}

/// The query string of `GET /api/thoughts/`.
pub struct ThoughtsQuery;

impl utoipa::PartialSchema for ThoughtsQuery {
    fn schema() -> RefOr<Schema> {
        list_query(true).into()
    }
}

impl utoipa::ToSchema for ThoughtsQuery {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ThoughtsQuery")
    }
}

/// The query string of `GET /api/me/thoughts/`.
pub struct MyThoughtsQuery;

impl utoipa::PartialSchema for MyThoughtsQuery {
    fn schema() -> RefOr<Schema> {
        list_query(false).into()
    }
}

impl utoipa::ToSchema for MyThoughtsQuery {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("MyThoughtsQuery")
    }
}

/// A thought id in a path: a positive integer, in decimal digits.
pub struct ThoughtId;

impl utoipa::PartialSchema for ThoughtId {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(1))
            .maximum(Some(i64::MAX))
            .into()
    }
}

impl utoipa::ToSchema for ThoughtId {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ThoughtId")
    }
}

/// A list of thoughts (the JSON array the list endpoints answer).
pub fn thought_list() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Thought")))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SearchNeedle, parse_author};
    use proptest::prelude::*;

    /// A character likely to sit on a boundary of the rules: controls,
    /// newline, white space, bidi controls, direction marks, NUL, or any.
    fn tricky_char() -> impl Strategy<Value = char> {
        prop_oneof![
            3 => any::<char>(),
            3 => proptest::char::range('a', 'e'),
            1 => proptest::char::range('\0', '\u{20}'),
            1 => proptest::char::range('\u{7f}', '\u{a0}'),
            1 => proptest::sample::select(vec!['\u{1680}', '\u{2000}', '\u{200a}', '\u{200e}', '\u{2028}', '\u{202f}',
                '\u{205f}', '\u{3000}', '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{61c}', '\u{feff}']),
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
        fn the_documented_text_rule_is_the_domain_rule(s in text(260)) {
            prop_assert_eq!(valid(&text_pattern(), 1, ThoughtText::MAX_CHARS, &s), ThoughtText::parse(&s).is_ok(), "{:?}", s);
        }

        #[test]
        fn the_documented_search_and_author_rules_are_the_domain_rules(s in text(260)) {
            prop_assert_eq!(valid(SEARCH_PATTERN, 0, ThoughtText::MAX_CHARS, &s), SearchNeedle::parse(&s).is_ok(), "{:?}", s);
            prop_assert_eq!(valid(&author_pattern(), 0, USERNAME_MAX_CHARS, &s), parse_author(&s).is_ok(), "{:?}", s);
        }
    }
}
