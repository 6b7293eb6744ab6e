//! Page templates (askama, HTML auto-escaped) and the view models they show.

use askama::Template;
use chrono::{Datelike, NaiveDateTime, Timelike, Utc};
use thoughts_api::Thought;

/// What the layout (header, navigation) shows on every page.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// Signed-in username.
    pub user: Option<String>,
    /// CSRF token for the forms of the page.
    pub csrf: String,
    /// The search box's current text.
    pub search: String,
    /// A notice shown above the content (e.g. a backend is down).
    pub notice: Option<String>,
}

/// A thought as a page shows it.
#[derive(Debug, Clone)]
pub struct ThoughtView {
    /// Id, for the delete form.
    pub id: i64,
    /// Author.
    pub username: String,
    /// Text (escaped by the template).
    pub text: String,
    /// "5 minutes ago".
    pub relative: String,
    /// "2026-11-26 14:03 UTC", shown on hover.
    pub exact: String,
    /// Machine-readable timestamp for `<time datetime>`.
    pub iso: String,
    /// Whether the viewer wrote it (shows the delete button).
    pub mine: bool,
}

impl ThoughtView {
    /// Views of `thoughts`, in the order given (pages list newest first).
    pub fn list(thoughts: Vec<Thought>, viewer: Option<&str>) -> Vec<Self> {
        let now = Utc::now().naive_utc();
        let views: Vec<Self> = thoughts
            .into_iter()
            .map(|t| Self {
                mine: viewer == Some(t.username.as_str()),
                relative: relative(t.timestamp, now),
                exact: exact(t.timestamp),
                iso: iso(t.timestamp),
                id: t.id,
                username: t.username,
                text: t.text,
            })
            .collect();
        views
    }
}

/// Whether chrono's `%Y` writes `then`'s year as four plain digits, so the
/// formatting below can write it so too.
fn four_digit_year(then: NaiveDateTime) -> bool {
    (0..=9999).contains(&then.year())
}

/// "2026-11-26 14:03 UTC" (`%Y-%m-%d %H:%M UTC`), written directly: chrono
/// parses a format string on every call, and a list page formats two dates
/// per thought (the profile of the home page, bench/profiles/).
pub fn exact(then: NaiveDateTime) -> String {
    if !four_digit_year(then) {
        return then.format("%Y-%m-%d %H:%M UTC").to_string();
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        then.year(),
        then.month(),
        then.day(),
        then.hour(),
        then.minute()
    )
}

/// "2026-11-26T14:03:09Z" (`%Y-%m-%dT%H:%M:%SZ`), for `<time datetime>`.
pub fn iso(then: NaiveDateTime) -> String {
    if !four_digit_year(then) {
        return format!("{}Z", then.format("%Y-%m-%dT%H:%M:%S"));
    }
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        then.year(),
        then.month(),
        then.day(),
        then.hour(),
        then.minute(),
        then.second()
    )
}

/// "just now", "5 minutes ago", "yesterday", "3 days ago", or a date.
pub fn relative(then: NaiveDateTime, now: NaiveDateTime) -> String {
    let secs = (now - then).num_seconds().max(0);
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{n} {unit}s ago")
        }
    };
    match secs {
        0..=44 => "just now".to_owned(),
        45..=3599 => plural((secs / 60).max(1), "minute"),
        3600..=86_399 => plural(secs / 3600, "hour"),
        86_400..=172_799 => "yesterday".to_owned(),
        172_800..=604_799 => plural(secs / 86_400, "day"),
        _ => then.format("%-d %b %Y").to_string(),
    }
}

/// `/` and `/thoughts/`: the signed-in user's thoughts and the form.
#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    /// Layout.
    pub layout: Layout,
    /// Link to the next, older page, when there is one.
    pub older_href: Option<String>,
    /// Newest first.
    pub thoughts: Vec<ThoughtView>,
    /// Text to put back in the form after an error.
    pub draft: String,
    /// Inline error for the form.
    pub error: Option<String>,
    /// False when the thoughts could not be loaded.
    pub loaded: bool,
}

/// `/login/` and `/signup/`.
#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    /// Layout.
    pub layout: Layout,
    /// True for sign-up, false for sign-in.
    pub signup: bool,
    /// Username to put back after an error.
    pub username: String,
    /// Error about the form as a whole.
    pub error: Option<String>,
    /// Error about the username field.
    pub username_error: Option<String>,
    /// Error about the password field.
    pub password_error: Option<String>,
    /// Minimum password length, shown as a hint on sign-up.
    pub password_min: usize,
}

/// `GET /logout/`: a button that signs out (by POST, with the CSRF token).
#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage {
    /// Layout.
    pub layout: Layout,
    /// Who is signed in.
    pub username: String,
}

/// `/search`.
#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage {
    /// Layout.
    pub layout: Layout,
    /// Link to the next, older page, when there is one.
    pub older_href: Option<String>,
    /// The search text.
    pub query: String,
    /// Results, newest first.
    pub thoughts: Vec<ThoughtView>,
    /// False when the search could not run.
    pub loaded: bool,
}

/// `/users/<username>/`.
#[derive(Template)]
#[template(path = "user.html")]
pub struct UserPage {
    /// Layout.
    pub layout: Layout,
    /// Link to the next, older page, when there is one.
    pub older_href: Option<String>,
    /// Whose page.
    pub username: String,
    /// Their thoughts, newest first.
    pub thoughts: Vec<ThoughtView>,
    /// False when the thoughts could not be loaded.
    pub loaded: bool,
}

/// Error pages (404, 403, 503, 500).
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    /// Heading.
    pub title: &'a str,
    /// What happened and what to do.
    pub message: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, NaiveDate};

    #[test]
    fn relative_times_read_naturally() {
        let now = NaiveDate::from_ymd_opt(2026, 11, 26)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .expect("date");
        assert_eq!(relative(now - Duration::seconds(5), now), "just now");
        assert_eq!(relative(now - Duration::minutes(1), now), "1 minute ago");
        assert_eq!(relative(now - Duration::minutes(5), now), "5 minutes ago");
        assert_eq!(relative(now - Duration::hours(3), now), "3 hours ago");
        assert_eq!(relative(now - Duration::hours(30), now), "yesterday");
        assert_eq!(relative(now - Duration::days(3), now), "3 days ago");
        assert_eq!(relative(now - Duration::days(30), now), "27 Oct 2026");
        assert_eq!(
            relative(now + Duration::seconds(3), now),
            "just now",
            "clock skew is not 'in the future'"
        );
    }

    #[test]
    fn dates_read_as_chrono_formats_them() {
        let cases = [
            (2026, 11, 26, 14, 3, 9),
            (2026, 1, 2, 0, 0, 0),
            (1999, 12, 31, 23, 59, 59),
            (5, 6, 7, 8, 9, 10),
            (9999, 12, 31, 23, 59, 59),
            (10_000, 1, 1, 0, 0, 0),
            (-44, 3, 15, 12, 0, 0),
        ];
        for (y, mo, d, h, mi, s) in cases {
            let then = NaiveDate::from_ymd_opt(y, mo, d)
                .and_then(|d| d.and_hms_milli_opt(h, mi, s, 999))
                .expect("date");
            assert_eq!(exact(then), then.format("%Y-%m-%d %H:%M UTC").to_string(), "{then}");
            assert_eq!(iso(then), format!("{}Z", then.format("%Y-%m-%dT%H:%M:%S")), "{then}");
        }
        let then = NaiveDate::from_ymd_opt(2026, 11, 26)
            .and_then(|d| d.and_hms_opt(14, 3, 9))
            .expect("date");
        assert_eq!(exact(then), "2026-11-26 14:03 UTC");
        assert_eq!(iso(then), "2026-11-26T14:03:09Z");
    }

    #[test]
    fn user_text_is_escaped() {
        let page = SearchPage {
            layout: Layout::default(),
            older_href: None,
            query: "<b>".into(),
            thoughts: ThoughtView::list(
                vec![Thought {
                    id: 1,
                    username: "<i>mallory</i>".into(),
                    text: "<script>alert(1)</script>".into(),
                    timestamp: Utc::now().naive_utc(),
                }],
                None,
            ),
            loaded: true,
        };
        let html = page.render().expect("renders");
        assert!(!html.contains("<script>alert"), "{html}");
        let escaped = [
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "&#60;script&#62;alert(1)&#60;/script&#62;",
        ];
        assert!(escaped.iter().any(|e| html.contains(e)), "{html}");
        assert!(!html.contains("<i>mallory"));
        assert!(!html.contains("value=\"<b>\""));
    }
}
