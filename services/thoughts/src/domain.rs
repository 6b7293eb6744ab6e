//! Validated input types of the thoughts service. No SQL here: `store` encodes
//! them for each engine.

/// The text of a thought: 1–250 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThoughtText(String);

impl ThoughtText {
    /// Longest accepted text, in characters.
    pub const MAX_CHARS: usize = 250;

    /// Trim and validate.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let trimmed = s.trim();
        let n = trimmed.chars().count();
        if trimmed.contains('\0') {
            // PostgreSQL text cannot hold NUL; refuse it on both engines alike.
            Err("must not contain NUL characters")
        } else if n == 0 {
            Err("must not be empty")
        } else if n > Self::MAX_CHARS {
            Err("must be at most 250 characters")
        } else {
            Ok(Self(trimmed.to_owned()))
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
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
            Some(s) => match s.trim().parse::<u32>() {
                Ok(n) if (1..=Self::MAX_LIMIT).contains(&n) => n,
                _ => return Err(("limit", "must be an integer from 1 to 1000")),
            },
        };
        let id = |s: &str, field: &'static str| match s.trim().parse::<i64>() {
            Ok(n) if n >= 0 => Ok(n),
            _ => Err((field, "must be a thought id (a non-negative integer)")),
        };
        match order.map(str::trim) {
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
    fn text_is_trimmed_and_bounded() {
        assert_eq!(ThoughtText::parse("  hi  ").expect("valid").as_str(), "hi");
        assert!(ThoughtText::parse("   ").is_err());
        assert!(ThoughtText::parse(&"é".repeat(250)).is_ok());
        assert!(ThoughtText::parse(&"é".repeat(251)).is_err());
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

    proptest! {
        #[test]
        fn any_text_of_1_to_250_chars_after_trim_is_valid(s in "\\PC{0,300}") {
            let n = s.trim().chars().count();
            prop_assert_eq!(ThoughtText::parse(&s).is_ok(), (1..=250).contains(&n));
        }

        #[test]
        fn folding_is_idempotent(s in "\\PC{0,50}") {
            prop_assert_eq!(fold(&fold(&s)), fold(&s));
        }
    }
}
