//! Forms show what went wrong next to the field and keep what was typed.
//! (Moved from `cli/tests/system/journey.rs`, on stub backends answering
//! with the services' own validation messages.)

use crate::helpers::TestApp;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_show_inline_errors_and_keep_what_was_typed() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    let short = b.sign_up("weak", "short").await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(short.body.contains("at least 12 characters"), "{}", short.body);
    assert!(short.body.contains("value=\"weak\""));
    b.sign_up("taken", "a long enough password").await;
    let mut other = app.browser();
    let taken = other.sign_up("taken", "a long enough password").await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert!(taken.body.contains("username is taken"));
    let long = "x".repeat(251);
    let too_long = b.post_thought(&long).await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
    assert!(too_long.body.contains("at most 250 characters"), "{}", too_long.body);
    assert!(too_long.body.contains(&long), "the draft is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_shows_the_sign_in_form_again_with_the_username() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.sign_up("forgetful", "a long enough password").await;
    let mut other = app.browser();
    let login = other.get("/login/").await;
    let wrong = other
        .post(
            "/login/",
            &[
                ("username", "forgetful"),
                ("password", "not the password"),
                ("csrf", &login.csrf()),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Wrong username or password"));
    assert!(wrong.body.contains("value=\"forgetful\""));
    assert!(wrong.set_cookie("session").is_none(), "not signed in");
}

/// Issue 9, finding 5: the thoughts service refuses a post with 429 when the
/// account posts too fast. The user sees "slow down" (429, draft kept), not
/// the "service not answering" outage page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posting_too_fast_says_slow_down_with_429_and_keeps_the_draft() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.sign_up("hasty", "a long enough password").await;
    assert_eq!(b.post_thought("the first one").await.status, StatusCode::SEE_OTHER);
    app.thoughts_data.limit_posts();
    let refused = b.post_thought("one thought too many").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
    assert!(refused.body.contains("posting too fast"), "{}", refused.body);
    assert!(refused.body.contains("one thought too many"), "the draft is kept");
    assert!(refused.body.contains("the first one"), "the list is still shown");
    assert!(
        !refused.body.contains("not answering"),
        "not an outage: {}",
        refused.body
    );
}

/// Issue 9: browsers send a textarea's line ends as CRLF and the thoughts
/// service refuses CR, so the frontend posts LF line ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_line_thought_typed_in_a_browser_is_posted_with_lf_line_ends() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.sign_up("poet", "a long enough password").await;
    let posted = b.post_thought("first line\r\nsecond line\r\n").await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    assert_eq!(app.thoughts_data.texts(), ["first line\nsecond line\n"]);
}
