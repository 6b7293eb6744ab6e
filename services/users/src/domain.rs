//! Validated input types: a value of these types is always valid.

use std::fmt;

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

    proptest! {
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
