//! What a browser keeps and reads: cookies, CSRF tokens, links.
//!
//! The frontend's session is two cookies (`session` holds a quoted
//! `"Bearer <JWT>"`, `refresh` renews it) plus a `csrf` nonce cookie; every
//! form carries a hidden `csrf` field bound to the nonce and the session.
//! The jar is kept by hand (goose's cookie feature is off) so that each
//! simulated browser holds exactly what the frontend set.

use std::collections::BTreeMap;

/// Cookies of one site, name to value as sent back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Jar(BTreeMap<String, String>);

impl Jar {
    /// Take in one `Set-Cookie` line: store the pair, or forget the cookie
    /// when the line expires it (`Max-Age=0`).
    pub fn store(&mut self, line: &str) {
        let mut parts = line.split(';');
        let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else {
            return;
        };
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        let expired = parts.any(|attr| {
            attr.trim()
                .split_once('=')
                .is_some_and(|(k, v)| k.trim().eq_ignore_ascii_case("max-age") && v.trim() == "0")
        });
        if expired {
            self.0.remove(name);
        } else {
            self.0.insert(name.to_owned(), value.trim().to_owned());
        }
    }

    /// The `Cookie` header to send, if any cookie is held.
    pub fn header(&self) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        Some(
            self.0
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }

    /// Whether cookie `name` is held.
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Forget every cookie (a fresh browser).
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// The value of the first hidden `csrf` field of a page.
pub fn csrf(body: &str) -> Option<&str> {
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker)? + marker.len();
    body[start..].split('"').next().filter(|t| !t.is_empty())
}

/// The ids of the thoughts a page offers to delete (the signed-in user's own).
pub fn deletable_ids(body: &str) -> Vec<i64> {
    let marker = "action=\"/thoughts/";
    body.match_indices(marker)
        .filter_map(|(at, _)| {
            let rest = &body[at + marker.len()..];
            let (id, tail) = rest.split_once('/')?;
            tail.starts_with("delete\"").then(|| id.parse().ok()).flatten()
        })
        .collect()
}

/// Whether a page shows `username` as the signed-in user: a sign-out form
/// and the link to their own page.
pub fn signed_in_as(body: &str, username: &str) -> bool {
    body.contains("action=\"/logout/\"") && body.contains(&format!("<a href=\"/users/{username}/\">@{username}</a>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jar_keeps_quoted_sessions_and_forgets_expired_cookies() {
        let mut jar = Jar::default();
        assert_eq!(jar.header(), None);
        jar.store("csrf=0123abcd; HttpOnly; SameSite=Strict; Path=/");
        jar.store("session=\"Bearer a.b.c\"; HttpOnly; SameSite=Lax; Path=/; Max-Age=300");
        jar.store("refresh=r1; HttpOnly; SameSite=Lax; Path=/; Max-Age=1209600");
        assert_eq!(
            jar.header().as_deref(),
            Some("csrf=0123abcd; refresh=r1; session=\"Bearer a.b.c\"")
        );
        jar.store("refresh=r2; Path=/; Max-Age=10");
        jar.store("session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
        assert!(!jar.has("session"));
        assert_eq!(jar.header().as_deref(), Some("csrf=0123abcd; refresh=r2"));
        jar.store("garbage without pair");
        jar.store("=nameless");
        assert_eq!(jar.header().as_deref(), Some("csrf=0123abcd; refresh=r2"));
        jar.clear();
        assert_eq!(jar.header(), None);
    }

    #[test]
    fn pages_give_their_token_and_the_thoughts_one_may_delete() {
        let page = r#"<form action="/logout/" method="post" class="inline">
            <input type="hidden" name="csrf" value="abc123">
            <a href="/users/lg1-2/">@lg1-2</a>
            <form action="/thoughts/new" method="post">
            <form action="/thoughts/41/delete" method="post" class="inline">
            <form action="/thoughts/7/delete" method="post" class="inline">
            <form action="/thoughts/x/delete" method="post" class="inline">"#;
        assert_eq!(csrf(page), Some("abc123"));
        assert_eq!(deletable_ids(page), [41, 7]);
        assert!(signed_in_as(page, "lg1-2"));
        assert!(!signed_in_as(page, "lg1"));
        assert!(
            !signed_in_as(r#"<a href="/users/lg1-2/">@lg1-2</a>"#, "lg1-2"),
            "no sign-out form"
        );
        assert_eq!(csrf("<p>no form</p>"), None);
        assert_eq!(csrf(r#"name="csrf" value="""#), None);
    }
}
