//! Validated input types of the thoughts service. No SQL here: `store` encodes
//! them for each engine.

/// The text of a thought, stored exactly as sent (API.md): 1–250
/// characters, not blank, and free of characters that hide or rearrange what
/// a reader sees (issue 9):
///
/// - every Unicode control character (category Cc: U+0000–U+001F,
///   U+007F–U+009F) except the newline U+000A. Tab and carriage return are
///   refused too: the frontend turns a browser's CRLF line ends into LF
///   before posting, and any other client must send plain LF. ESC starts
///   terminal escape sequences, BEL rings, NUL cannot be stored by PostgreSQL.
/// - the bidirectional embeddings, overrides and isolates U+202A–U+202E and
///   U+2066–U+2069 (the "Trojan Source" characters, CVE-2021-42574): they
///   reorder the text around them, up to the end of the paragraph.
///
/// The implicit direction marks U+200E (LRM), U+200F (RLM) and U+061C (ALM)
/// are kept: they only give a neutral character such as a digit or a
/// parenthesis a direction, cannot reorder other text, and mixed Arabic or
/// Hebrew writing needs them to display correctly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThoughtText(String);

impl ThoughtText {
    /// Longest accepted text, in characters.
    pub const MAX_CHARS: usize = 250;

    /// Validate; the text is kept as sent (no trimming).
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Some(c) = s.chars().find(|&c| c.is_control() && c != '\n') {
            return Err(format!(
                "must not contain control characters other than newline (found U+{:04X})",
                u32::from(c)
            ));
        }
        if let Some(c) = s.chars().find(|&c| is_bidi_control(c)) {
            return Err(format!(
                "must not contain bidirectional override or isolate characters (found U+{:04X})",
                u32::from(c)
            ));
        }
        let n = s.chars().count();
        if s.trim().is_empty() {
            Err("must not be empty or blank".to_owned())
        } else if n > Self::MAX_CHARS {
            Err("must be at most 250 characters".to_owned())
        } else {
            Ok(Self(s.to_owned()))
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The bidirectional embeddings, overrides and isolates (LRE, RLE, PDF, LRO,
/// RLO, LRI, RLI, FSI, PDI) that thoughts refuse.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Case folding shared by stored text and search needles: Unicode lower
/// case, with the Greek final sigma folded like any sigma (`ΟΣ` finds `οσμή`).
pub fn fold(s: &str) -> String {
    s.to_lowercase().replace('ς', "σ")
}

/// An author name given as a filter: the users service's username rules.
pub fn parse_author(s: &str) -> Result<&str, &'static str> {
    if s.chars().count() > 50 {
        Err("must be at most 50 characters")
    } else if s.chars().any(char::is_control) {
        Err("must not contain control characters")
    } else {
        Ok(s)
    }
}

/// A search needle: non-empty, at most 250 characters (no thought is
/// longer), matched literally and case-insensitively. It holds the folded
/// text only; each engine encodes it for its own SQL (`store::sqlite`,
/// `store::postgres`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchNeedle {
    folded: String,
}

impl SearchNeedle {
    /// Validate a `search` parameter; `Ok(None)` for an empty one (no filter,
    /// as in the book).
    pub fn parse(s: &str) -> Result<Option<Self>, &'static str> {
        if s.is_empty() {
            return Ok(None);
        }
        if s.chars().count() > ThoughtText::MAX_CHARS {
            return Err("must be at most 250 characters");
        }
        if s.contains('\0') {
            // No thought can contain NUL (see ThoughtText), and neither engine takes it.
            return Err("must not contain NUL characters");
        }
        Ok(Some(Self { folded: fold(s) }))
    }

    /// The folded needle.
    pub fn folded(&self) -> &str {
        &self.folded
    }
}

/// A non-negative integer written in decimal digits only (no sign, no
/// spaces: what the OpenAPI document's `integer` parameters are), at most
/// `i64::MAX`.
pub fn decimal(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The order of a list, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The book's order, ascending ids; the cursor is `after`.
    OldestFirst,
    /// *(ext)* `order=desc`: descending ids; the cursor is `before`.
    NewestFirst,
}

/// A page request: how many items, in which order, from which cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Items wanted (1–1000).
    pub limit: u32,
    /// Oldest first: only ids greater than this; newest first: only ids less than this.
    pub cursor: i64,
    /// Ascending ids (the book's) or newest first.
    pub order: Order,
}

impl Page {
    /// Largest page a client may ask for.
    pub const MAX_LIMIT: u32 = 1000;

    /// Parse `limit`, `order` and the cursor (`after` ascending, `before`
    /// newest first); without them, the book's order and the default cap.
    pub fn parse(
        limit: Option<&str>,
        order: Option<&str>,
        after: Option<&str>,
        before: Option<&str>,
        cap: u32,
    ) -> Result<Self, (&'static str, &'static str)> {
        let limit = match limit {
            None => cap,
            Some(s) => match decimal(s) {
                Some(n) if (1..=i64::from(Self::MAX_LIMIT)).contains(&n) => n as u32,
                _ => return Err(("limit", "must be an integer from 1 to 1000")),
            },
        };
        let id =
            |s: &str, field: &'static str| decimal(s).ok_or((field, "must be a thought id (a non-negative integer)"));
        match order {
            None | Some("" | "asc") => {
                if before.is_some() {
                    return Err(("before", "only with order=desc (use after for ascending pages)"));
                }
                let cursor = after.map(|a| id(a, "after")).transpose()?.unwrap_or(0);
                Ok(Self {
                    limit,
                    cursor,
                    order: Order::OldestFirst,
                })
            }
            Some("desc") => {
                if after.is_some() {
                    return Err(("after", "only with ascending order (use before with order=desc)"));
                }
                let cursor = before.map(|b| id(b, "before")).transpose()?.unwrap_or(i64::MAX);
                Ok(Self {
                    limit,
                    cursor,
                    order: Order::NewestFirst,
                })
            }
            Some(_) => Err(("order", "must be asc or desc")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_is_stored_as_sent_and_bounded() {
        assert_eq!(ThoughtText::parse("  hi  ").expect("valid").as_str(), "  hi  ");
        assert_eq!(ThoughtText::parse("one\ntwo\n").expect("valid").as_str(), "one\ntwo\n");
        assert!(ThoughtText::parse("").is_err());
        assert!(ThoughtText::parse("   ").is_err());
        assert!(ThoughtText::parse("\n\n").is_err(), "blank");
        assert!(ThoughtText::parse(&"é".repeat(250)).is_ok());
        assert!(ThoughtText::parse(&"é".repeat(251)).is_err());
        assert!(
            ThoughtText::parse(&format!(" {}", "é".repeat(250))).is_err(),
            "spaces count"
        );
    }

    #[test]
    fn hostile_characters_are_refused_and_named() {
        for (text, code) in [
            ("a\u{1b}[31mred", "U+001B"),
            ("ding\u{7}", "U+0007"),
            ("over\rwritten", "U+000D"),
            ("line\r\nend", "U+000D"),
            ("tab\there", "U+0009"),
            ("del\u{7f}", "U+007F"),
            ("c1\u{9b}", "U+009B"),
            ("\u{202E}txt.exe", "U+202E"),
            ("\u{2066}isolate\u{2069}", "U+2066"),
            ("\u{202A}embed", "U+202A"),
        ] {
            let err = ThoughtText::parse(text).expect_err(text);
            assert!(err.contains(code), "{text:?}: {err}");
        }
    }

    #[test]
    fn direction_marks_are_kept() {
        for text in ["\u{200F}שלום (1)", "\u{200E}a", "\u{61C}١٢"] {
            assert_eq!(ThoughtText::parse(text).expect("valid").as_str(), text);
        }
    }

    #[test]
    fn nul_characters_are_refused_not_stored() {
        assert!(ThoughtText::parse("a\0b").is_err());
        assert!(SearchNeedle::parse("a\0").is_err());
        assert!(parse_author("a\0").is_err());
        assert_eq!(parse_author("Jane Doe"), Ok("Jane Doe"));
    }

    #[test]
    fn greek_final_sigma_folds_like_sigma() {
        assert_eq!(fold("ΟΣ"), fold("οσ"));
        assert!(fold("ΟΣΜΗ").contains(&fold("ος")));
    }

    #[test]
    fn paging_parameters_are_checked() {
        let page = |limit, order, after, before| Page::parse(limit, order, after, before, 1000);
        let asc = |limit, cursor| {
            Ok(Page {
                limit,
                cursor,
                order: Order::OldestFirst,
            })
        };
        assert_eq!(page(None, None, None, None), asc(1000, 0));
        assert_eq!(page(Some("10"), None, Some("5"), None), asc(10, 5));
        let desc = page(None, Some("desc"), None, None).expect("valid");
        assert!(desc.order == Order::NewestFirst && desc.cursor == i64::MAX);
        assert_eq!(page(Some("3"), Some("desc"), None, Some("9")).map(|p| p.cursor), Ok(9));
        assert!(page(Some("0"), None, None, None).is_err());
        assert!(page(Some("1001"), None, None, None).is_err());
        assert!(page(None, None, Some("x"), None).is_err());
        assert!(page(None, None, None, Some("9")).is_err(), "before needs order=desc");
        assert!(
            page(None, Some("desc"), Some("9"), None).is_err(),
            "after needs ascending order"
        );
        assert!(page(None, Some("sideways"), None, None).is_err());
    }

    #[test]
    fn paging_numbers_are_decimal_digits_and_orders_exact_words() {
        let page = |limit, order, after, before| Page::parse(limit, order, after, before, 1000);
        assert_eq!(page(Some("0010"), None, None, None).map(|p| p.limit), Ok(10));
        for odd in ["+5", " 5", "5 ", "-1", "5.0", "", "1e2"] {
            assert!(page(Some(odd), None, None, None).is_err(), "limit {odd:?}");
            assert!(page(None, None, Some(odd), None).is_err(), "after {odd:?}");
        }
        assert!(page(None, None, Some("9223372036854775808"), None).is_err(), "past i64");
        for odd in [" desc", "DESC", "asc "] {
            assert!(page(None, Some(odd), None, None).is_err(), "order {odd:?}");
        }
        assert_eq!(decimal("9223372036854775807"), Some(i64::MAX));
    }

    proptest! {
        #[test]
        fn printable_text_is_valid_iff_not_blank_and_at_most_250_chars(s in "[\\PC\n]{0,300}") {
            // `\PC` holds no control (Cc) or format (Cf, so no bidi) character.
            let ok = !s.trim().is_empty() && s.chars().count() <= 250;
            prop_assert_eq!(ThoughtText::parse(&s).is_ok(), ok);
        }

        #[test]
        fn valid_text_is_stored_exactly_as_sent(s in "[\\PC\n]{1,250}") {
            if let Ok(text) = ThoughtText::parse(&s) {
                prop_assert_eq!(text.as_str(), s.as_str());
            }
        }

        #[test]
        fn any_control_character_but_newline_is_refused(
            prefix in "\\PC{0,20}",
            c in prop_oneof![proptest::char::range('\0', '\u{1f}'), proptest::char::range('\u{7f}', '\u{9f}')],
            suffix in "\\PC{0,20}",
        ) {
            let text = format!("x{prefix}{c}{suffix}");
            prop_assert_eq!(ThoughtText::parse(&text).is_ok(), c == '\n');
        }

        #[test]
        fn any_bidi_override_or_isolate_is_refused(
            prefix in "[a-z ]{0,20}",
            c in prop_oneof![proptest::char::range('\u{202A}', '\u{202E}'), proptest::char::range('\u{2066}', '\u{2069}')],
            suffix in "[a-z ]{0,20}",
        ) {
            let text = format!("x{prefix}{c}{suffix}");
            prop_assert!(ThoughtText::parse(&text).is_err());
        }

        #[test]
        fn folding_is_idempotent(s in "\\PC{0,50}") {
            prop_assert_eq!(fold(&fold(&s)), fold(&s));
        }
    }
}
