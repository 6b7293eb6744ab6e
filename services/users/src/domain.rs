//! Validated input types: a value of these types is always valid.

use std::fmt;
use unicode_normalization::UnicodeNormalization;

/// A username: 1–50 characters, no control characters. Spaces are allowed
/// (the book's tests use `Jane Doe`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Longest accepted username, in characters.
    pub const MAX_CHARS: usize = 50;

    /// Validate a username.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let n = s.chars().count();
        if n == 0 {
            Err("must not be empty")
        } else if n > Self::MAX_CHARS {
            Err("must be at most 50 characters")
        } else if s.chars().any(char::is_control) {
            Err("must not contain control characters")
        } else {
            Ok(Self(s.to_owned()))
        }
    }

    /// Validate the name of a new account: also no leading or trailing
    /// space and no invisible formatting characters (zero-width, bidi
    /// overrides), so that look-alike names cannot be registered.
    pub fn parse_new(s: &str) -> Result<Self, &'static str> {
        let name = Self::parse(s)?;
        if s.trim() != s {
            Err("must not start or end with a space")
        } else if s.chars().any(is_format_char) {
            Err("must not contain invisible formatting characters")
        } else {
            Ok(name)
        }
    }

    /// The username as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// This name's look-alike key: see [`look_alike_key`].
    pub fn look_alike_key(&self) -> String {
        look_alike_key(&self.0)
    }
}

/// The key under which a username is unique among new accounts (issue 9):
/// two names with the same key look alike, and only the first may exist.
///
/// The name is NFKC-normalised (full-width `ａ` becomes `a`, `ﬁ` becomes
/// `fi`), lower-cased (`Admin` is `admin`), reduced to its UTS #39
/// confusable skeleton (Cyrillic `а` and Latin `a`, `1` and `l`, `0` and
/// `O` share one; default-ignorable characters vanish) and lower-cased
/// again, because a skeleton may be an upper-case letter (`0` → `O`).
/// Case folding comes before the skeleton so that names differing only in
/// case always share a key. The key is for comparison only: it is never
/// shown, and login keeps using the exact username.
pub fn look_alike_key(name: &str) -> String {
    let folded: String = name.nfkc().collect::<String>().to_lowercase();
    unicode_security::skeleton(&folded).collect::<String>().to_lowercase()
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Unicode format characters (category Cf) that render invisibly: zero-width
/// spaces and joiners, bidirectional controls, the BOM, soft hyphen.
fn is_format_char(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// A password as typed at login: 1–128 characters. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Longest accepted password, in characters.
    pub const MAX_CHARS: usize = 128;

    /// Shortest new password by default (PASSWORD_MIN_LENGTH), following OWASP ASVS.
    pub const DEFAULT_MIN_CHARS: usize = 12;

    /// Validate a login password.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let n = s.chars().count();
        if n == 0 {
            Err("must not be empty")
        } else if n > Self::MAX_CHARS {
            Err("must be at most 128 characters")
        } else {
            Ok(Self(s.to_owned()))
        }
    }

    /// Validate a new account's password against the length policy.
    pub fn parse_new(s: &str, min_chars: usize) -> Result<Self, String> {
        let password = Self::parse(s).map_err(str::to_owned)?;
        if s.chars().count() < min_chars {
            return Err(format!("must be at least {min_chars} characters"));
        }
        Ok(password)
    }

    /// The secret itself, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_books_usernames_are_valid() {
        for name in ["bruce", "Jane Doe", "stephen", "ünïcödé"] {
            assert!(Username::parse(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn empty_long_and_control_usernames_are_refused() {
        assert!(Username::parse("").is_err());
        assert!(Username::parse(&"a".repeat(51)).is_err());
        assert!(Username::parse("a\nb").is_err());
    }

    #[test]
    fn new_names_cannot_hide_characters_or_spaces() {
        assert!(Username::parse_new("Jane Doe").is_ok());
        assert!(Username::parse_new(" bruce").is_err());
        assert!(Username::parse_new("bruce ").is_err());
        assert!(Username::parse_new("bru\u{200B}ce").is_err());
        assert!(Username::parse_new("\u{202E}ecurb").is_err());
        assert!(
            Username::parse(" bruce").is_ok(),
            "login stays permissive for existing accounts"
        );
    }

    #[test]
    fn new_passwords_follow_the_policy() {
        assert!(Password::parse_new("short", 12).is_err());
        assert!(Password::parse_new("twelve chars", 12).is_ok());
        assert!(Password::parse_new(&"x".repeat(129), 12).is_err());
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let p = Password::parse("hunter2").expect("valid");
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn look_alike_names_share_a_key() {
        let admin = look_alike_key("admin");
        for name in [
            "Admin",
            "ADMIN",
            "\u{430}dmin",
            "\u{FF41}dmin",
            "\u{FF21}\u{FF24}\u{FF2D}\u{FF29}\u{FF2E}",
        ] {
            assert_eq!(look_alike_key(name), admin, "{name}");
        }
        assert_eq!(look_alike_key("\u{430}lice"), look_alike_key("alice"), "Cyrillic a");
        assert_eq!(look_alike_key("a1ice"), look_alike_key("alice"), "digit one");
        assert_eq!(look_alike_key("b0b"), look_alike_key("BOB"), "digit zero");
        assert_eq!(look_alike_key("Jane Doe"), look_alike_key("jane doe"));
    }

    #[test]
    fn unrelated_names_keep_their_own_keys() {
        let names = [
            "alice",
            "alicia",
            "bob",
            "bruce",
            "Jane Doe",
            "JaneDoe",
            "ünïcödé",
            "unicode",
            "admin2",
        ];
        let keys: std::collections::HashSet<String> = names.iter().map(|n| look_alike_key(n)).collect();
        assert_eq!(keys.len(), names.len(), "{keys:?}");
    }

    proptest! {
        #[test]
        fn names_differing_only_in_ascii_case_share_a_key(s in "[a-zA-Z0-9 ._-]{1,50}") {
            prop_assert_eq!(look_alike_key(&s), look_alike_key(&s.to_ascii_uppercase()));
            prop_assert_eq!(look_alike_key(&s), look_alike_key(&s.to_ascii_lowercase()));
        }

        #[test]
        fn full_width_forms_share_a_key_with_ascii(s in "[a-zA-Z0-9]{1,50}") {
            // U+FF01..U+FF5E are the full-width forms of U+0021..U+007E.
            let wide: String = s.chars().map(|c| char::from_u32(c as u32 + 0xFEE0).expect("full-width form")).collect();
            prop_assert_eq!(look_alike_key(&wide), look_alike_key(&s));
        }

        #[test]
        fn cyrillic_look_alike_letters_share_a_key_with_latin(s in "[a-z]{1,50}", mask in any::<u64>()) {
            let cyrillic = |c: char| match c {
                'a' => '\u{430}', 'e' => '\u{435}', 'o' => '\u{43E}', 'p' => '\u{440}',
                'c' => '\u{441}', 'x' => '\u{445}', 'y' => '\u{443}', other => other,
            };
            let mixed: String = s.chars().enumerate()
                .map(|(i, c)| if mask >> (i % 64) & 1 == 1 { cyrillic(c) } else { c })
                .collect();
            prop_assert_eq!(look_alike_key(&mixed), look_alike_key(&s));
        }

        #[test]
        fn a_username_parses_iff_it_has_1_to_50_non_control_chars(s in "\\PC{0,60}") {
            let n = s.chars().count();
            prop_assert_eq!(Username::parse(&s).is_ok(), (1..=50).contains(&n));
        }

        #[test]
        fn a_parsed_username_round_trips(s in "[a-zA-Z0-9 ._-]{1,50}") {
            let parsed = Username::parse(&s).expect("valid by construction");
            prop_assert_eq!(parsed.as_str(), s.as_str());
        }

        #[test]
        fn any_control_character_is_refused(prefix in "[a-z]{0,10}", c in proptest::char::range('\0', '\u{1f}'), suffix in "[a-z]{0,10}") {
            let s = format!("{prefix}{c}{suffix}");
            prop_assert!(Username::parse(&s).is_err());
        }
    }
}
