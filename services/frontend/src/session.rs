//! The session and CSRF protection.
//!
//! The session is two cookies: `session`, the short-lived `Bearer <JWT>`
//! the users service issued (`POST /api/sessions/`, claim `sid`), verified
//! on every request with public keys only; and `refresh`, the opaque token
//! that renews it. When the short token has expired (or the browser
//! dropped it) and a refresh token is there, the first page extractor of
//! the request renews both, once, and the [`cookies`] middleware writes
//! them. Signing out revokes the refresh token at the users service and
//! puts the session id in a [`Denylist`] until its token expires, so that
//! token stops working here at once; elsewhere (other replicas, the
//! thoughts service) it stops within its short lifetime.
//!
//! CSRF: a nonce in a cookie, a form token bound to that nonce and to the
//! session ([`form_token`]), plus a same-origin check.

use crate::AppState;
use crate::error::PageError;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponseParts, Response, ResponseParts};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tower_http::request_id::RequestId;

/// Name of the session cookie, as the book's frontend.
pub const SESSION_COOKIE: &str = "session";
/// Name of the cookie holding the refresh token.
pub const REFRESH_COOKIE: &str = "refresh";
/// Name of the CSRF cookie.
pub const CSRF_COOKIE: &str = "csrf";

/// The value of cookie `name` in the request, without surrounding quotes.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// A signed-in user: the verified username and the token to call backends with.
///
/// As an extractor it answers a signed-out visitor with a 303 to `/login/`
/// ([`PageError::SignedOut`]). Handlers that must refuse a bad CSRF token
/// first take `Result<SignedIn, PageError>` and apply `?` after the check.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// From the token's `username` claim.
    pub username: String,
    /// `Bearer <JWT>`, forwarded to the thoughts service.
    pub bearer: String,
    /// What identifies this session for as long as it lasts: the token's
    /// `sid` claim, or for a token without one (the book's), the SHA-256 of
    /// the token. CSRF tokens are bound to it; signing out denies it.
    pub session_id: String,
    /// The token's `exp` (seconds since the epoch).
    pub expires: i64,
}

impl SignedIn {
    /// The signed-in user of a verified token.
    pub fn new(claims: &tokens::Claims, bearer: &str) -> Self {
        Self {
            username: claims.username.clone(),
            bearer: bearer.to_owned(),
            session_id: claims.sid.clone().unwrap_or_else(|| sha256_hex(bearer.as_bytes())),
            expires: claims.exp,
        }
    }
}

/// Sessions signed out at this frontend whose tokens have not expired yet:
/// session id → the token's `exp`. In memory, per replica; an entry is
/// dropped once its token is refused for being expired anyway.
#[derive(Debug, Clone, Default)]
pub struct Denylist(Arc<Mutex<HashMap<String, i64>>>);

impl Denylist {
    /// Deny `session_id` until `expires` (seconds since the epoch).
    pub fn insert(&self, session_id: &str, expires: i64) {
        let now = chrono::Utc::now().timestamp();
        let mut denied = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // Keep the leeway the verifier grants, then forget.
        let leeway = i64::try_from(tokens::LEEWAY_SECONDS).unwrap_or(0);
        denied.retain(|_, exp| *exp + leeway >= now);
        denied.insert(session_id.to_owned(), expires);
    }

    /// Whether `session_id` was signed out here.
    pub fn contains(&self, session_id: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(session_id)
    }
}

/// The CSRF nonce of this browser (from its `csrf` cookie, or new).
#[derive(Debug, Clone)]
pub struct CsrfNonce(pub String);

/// Where the page extractor leaves a session change it made itself (a
/// renewal, or the end of a session whose refresh token was refused), for
/// the [`cookies`] middleware to write.
#[derive(Debug, Clone, Default)]
struct Renewal(Arc<Mutex<Option<SessionCookie>>>);

impl Renewal {
    fn set(&self, change: SessionCookie) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(change);
    }

    fn take(&self) -> Option<SessionCookie> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// What every page handler needs to know about the request.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The signed-in user, if the session cookie holds a valid token (or
    /// the refresh cookie renewed it).
    pub user: Option<SignedIn>,
    /// The CSRF token to embed in forms ([`form_token`] of this browser's
    /// nonce and this session).
    pub csrf: String,
    /// The request id, forwarded to the backends.
    pub request_id: String,
    /// The session's current refresh token (the renewed one after a
    /// renewal), which signing out revokes.
    pub refresh: Option<String>,
}

/// Why a token in the session cookie does not make a signed-in user.
fn rejected(reason: &'static str) {
    // An expired or foreign token just means "signed out".
    tracing::info!(event = "session_rejected", reason, "session token rejected");
}

/// The user of the request's cookies, renewing the session through the
/// refresh cookie when the short token has expired or is missing.
async fn resolve(parts: &Parts, state: &AppState, request_id: &str) -> (Option<SignedIn>, Option<String>) {
    let refresh = cookie(&parts.headers, REFRESH_COOKIE).filter(|r| !r.is_empty());
    let renewal = parts.extensions.get::<Renewal>();
    if let Some(bearer) = cookie(&parts.headers, SESSION_COOKIE).filter(|b| !b.is_empty()) {
        match state.verifier.verify_header(Some(bearer)).await {
            Ok(claims) => {
                let user = SignedIn::new(&claims, bearer);
                if state.signed_out.contains(&user.session_id) {
                    rejected("signed_out");
                    if let Some(renewal) = renewal {
                        renewal.set(SessionCookie::Clear);
                    }
                    return (None, None);
                }
                // Renew at `exp` itself, not at the end of the verifier's
                // leeway, when there is a refresh token to renew with.
                if claims.exp > chrono::Utc::now().timestamp() || refresh.is_none() {
                    return (Some(user), refresh.map(str::to_owned));
                }
            }
            Err(rejection) => rejected(rejection.reason()),
        }
    }
    let (Some(refresh), Some(renewal)) = (refresh, renewal) else {
        return (None, None);
    };
    let users = state.users.with_request_id(request_id);
    match users.refresh_session(refresh).await {
        Ok(session) => match state.verifier.verify_header(Some(&session.authorized)).await {
            Ok(claims) => {
                let user = SignedIn::new(&claims, &session.authorized);
                let renewed = session.refresh.clone();
                renewal.set(SessionCookie::Renew(SessionTokens::new(session, claims.exp)));
                tracing::info!(event = "session_renewed", username = %user.username, "session renewed");
                (Some(user), Some(renewed))
            }
            Err(rejection) => {
                tracing::error!(
                    reason = rejection.reason(),
                    "the users service issued a token we cannot verify"
                );
                (None, None)
            }
        },
        Err(users_api::ClientError::Status { status: 401, .. }) => {
            tracing::info!(event = "session_refresh_refused", "refresh token refused; signed out");
            renewal.set(SessionCookie::Clear);
            (None, None)
        }
        Err(e) => {
            // Keep the cookies: the session may renew once users answers.
            tracing::warn!(error = %e, "cannot renew the session: users unavailable");
            (None, None)
        }
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = std::convert::Infallible;

    /// Resolved once per request: later extractions ([`SignedIn`]) reuse it.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(ctx) = parts.extensions.get::<Self>() {
            return Ok(ctx.clone());
        }
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .and_then(|id| id.header_value().to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let nonce = parts
            .extensions
            .get::<CsrfNonce>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let (user, refresh) = resolve(parts, state, &request_id).await;
        let csrf = form_token(&nonce, user.as_ref());
        let ctx = Self {
            user,
            csrf,
            request_id,
            refresh,
        };
        parts.extensions.insert(ctx.clone());
        Ok(ctx)
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Ok(ctx) = Ctx::from_request_parts(parts, state).await;
        ctx.user.ok_or(PageError::SignedOut)
    }
}

/// A session's tokens as cookies carry them.
#[derive(Debug, Clone)]
pub struct SessionTokens {
    /// `Bearer <JWT>` as the users service returned it.
    pub bearer: String,
    /// Seconds until the token expires (the `session` cookie's life).
    pub max_age: i64,
    /// The refresh token.
    pub refresh: String,
    /// Seconds until the session ends (the `refresh` cookie's life).
    pub refresh_max_age: i64,
}

impl SessionTokens {
    /// The cookies of a session answer whose token expires at `exp`.
    pub fn new(session: users_api::SessionResponse, exp: i64) -> Self {
        Self {
            // At least a second: `Max-Age=0` would delete the cookie.
            max_age: (exp - chrono::Utc::now().timestamp()).max(1),
            bearer: session.authorized,
            refresh_max_age: i64::try_from(session.refresh_expires_in).unwrap_or(i64::MAX).max(1),
            refresh: session.refresh,
        }
    }
}

/// A change of the session cookies that a handler asks for; the [`cookies`]
/// middleware writes it with the site's attributes (`Secure` or not).
/// Used as a response part: `(SessionCookie::Clear, see_other("/login/"))`.
#[derive(Debug, Clone)]
pub enum SessionCookie {
    /// Start a session (sign-in, sign-up): both cookies set, and a new CSRF nonce.
    Start(SessionTokens),
    /// The session renewed: both cookies set anew, the CSRF nonce kept.
    Renew(SessionTokens),
    /// End the session: both cookies cleared, and a new CSRF nonce.
    Clear,
}

impl IntoResponseParts for SessionCookie {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        res.extensions_mut().insert(self);
        Ok(res)
    }
}

fn new_nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Lower-case hex of the SHA-256 of `data`.
fn sha256_hex(data: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    // One allocation, not one per byte: this runs twice on most requests.
    let mut hex = String::with_capacity(64);
    for b in digest.as_ref() {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    hex
}

/// Whether `s` is a nonce as [`new_nonce`] makes them: 32 hex digits.
fn is_nonce(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The CSRF token the forms of this session carry: the browser's nonce
/// followed by the first 128 bits (hex) of
/// `SHA-256("mythoughts-csrf-v1" || session id || nonce)`; a signed-out
/// visitor's session id is empty.
///
/// Why this binding: the nonce cookie alone (a double-submit cookie) can be
/// planted by anyone who can set a cookie for the site (a sibling
/// subdomain, a plain-HTTP response), and it survived sign-in. Bound to the
/// session, a token is only valid with the session it was made for, and it
/// cannot be computed without knowing that session's id, which only lives
/// in the HttpOnly session cookie. No server-side secret is needed (an
/// HMAC key would have to be shared by every replica and rotated), and
/// nothing is stored. The nonce is renewed at sign-in, sign-up and
/// sign-out, and the session id changes then anyway, so a token taken
/// before signing in is worthless after.
pub fn form_token(nonce: &str, user: Option<&SignedIn>) -> String {
    let session = user.map(|u| u.session_id.as_str()).unwrap_or_default();
    let mac = sha256_hex(format!("mythoughts-csrf-v1{session}{nonce}").as_bytes());
    format!("{nonce}{}", &mac[..32])
}

/// Middleware writing every cookie of the site, with `Secure` when the
/// configuration says so: the session cookies a handler asked for with
/// [`SessionCookie`] (else the renewal the page extractor made), and a CSRF
/// nonce cookie for a browser that has none yet (so that every form
/// rendered can carry a token) or whose session starts or ends (so that no
/// token made before stays usable).
pub async fn cookies(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let existing = cookie(req.headers(), CSRF_COOKIE)
        .filter(|t| is_nonce(t))
        .map(str::to_owned);
    let (nonce, fresh) = match existing {
        Some(t) => (t, false),
        None => (new_nonce(), true),
    };
    req.extensions_mut().insert(CsrfNonce(nonce.clone()));
    let renewal = Renewal::default();
    req.extensions_mut().insert(renewal.clone());
    let mut response = next.run(req).await;
    let secure = state.cookie_secure;
    // The handler's decision (sign-in, sign-out) wins over a renewal.
    let change = response
        .extensions_mut()
        .remove::<SessionCookie>()
        .or_else(|| renewal.take());
    // Rotate the nonce when the session changes hands.
    let nonce = match change {
        Some(SessionCookie::Start(_) | SessionCookie::Clear) => Some(new_nonce()),
        _ => fresh.then_some(nonce),
    };
    let session: Vec<String> = match change {
        Some(SessionCookie::Start(t) | SessionCookie::Renew(t)) => vec![
            session_cookie(&t.bearer, t.max_age, secure),
            refresh_cookie(&t.refresh, t.refresh_max_age, secure),
        ],
        Some(SessionCookie::Clear) => vec![
            clear_cookie(SESSION_COOKIE, secure),
            clear_cookie(REFRESH_COOKIE, secure),
        ],
        None => Vec::new(),
    };
    let csrf = nonce.map(|nonce| {
        let attrs = if secure { "; Secure" } else { "" };
        format!("{CSRF_COOKIE}={nonce}; HttpOnly; SameSite=Strict; Path=/{attrs}")
    });
    for value in session.into_iter().chain(csrf) {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Refuse a state-changing request that is cross-site or whose form token
/// is not the [`form_token`] of the `csrf` cookie's nonce and of the
/// session `ctx` holds.
pub fn check_csrf(headers: &HeaderMap, ctx: &Ctx, form_token: Option<&str>) -> Result<(), PageError> {
    let refuse = |why: &'static str| {
        metrics::counter!("csrf_refused_total").increment(1);
        tracing::warn!(event = "csrf_refused", reason = why, "state-changing request refused");
        Err(PageError::Csrf)
    };
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return refuse("cross-site request");
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let authority = origin.split_once("://").map(|(_, a)| a).unwrap_or(origin);
        if origin == "null" || !authority.eq_ignore_ascii_case(host) {
            return refuse("foreign origin");
        }
    }
    // The expected token is the one this request's pages embed: made from
    // the nonce of the cookie sent (a missing or malformed cookie gives a
    // fresh nonce, which no form can know) and the session verified.
    match form_token {
        Some(t) if cookie(headers, CSRF_COOKIE).is_some() && constant_time_eq(t.as_bytes(), ctx.csrf.as_bytes()) => {
            Ok(())
        }
        _ => refuse("missing or wrong token"),
    }
}

/// `Set-Cookie` for a new session holding `bearer`, living `max_age` seconds.
fn session_cookie(bearer: &str, max_age: i64, secure: bool) -> String {
    let attrs = if secure { "; Secure" } else { "" };
    // The value holds a space ("Bearer <JWT>"): quote it, as Werkzeug does.
    format!("{SESSION_COOKIE}=\"{bearer}\"; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}{attrs}")
}

/// `Set-Cookie` for the refresh token, living `max_age` seconds.
fn refresh_cookie(refresh: &str, max_age: i64, secure: bool) -> String {
    let attrs = if secure { "; Secure" } else { "" };
    format!("{REFRESH_COOKIE}={refresh}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}{attrs}")
}

/// `Set-Cookie` clearing cookie `name`.
fn clear_cookie(name: &str, secure: bool) -> String {
    let attrs = if secure { "; Secure" } else { "" };
    format!("{name}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{attrs}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn sha256_is_written_in_lower_case_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn cookies_are_found_and_unquoted() {
        let h = headers(&[("cookie", "a=1; session=\"Bearer x.y.z\"; csrf=abc")]);
        assert_eq!(cookie(&h, "session"), Some("Bearer x.y.z"));
        assert_eq!(cookie(&h, "csrf"), Some("abc"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    fn ctx(nonce: &str, user: Option<&SignedIn>) -> Ctx {
        Ctx {
            user: user.cloned(),
            csrf: form_token(nonce, user),
            request_id: String::new(),
            refresh: None,
        }
    }

    fn signed_in(session_id: &str) -> SignedIn {
        SignedIn {
            username: "u".into(),
            bearer: "Bearer x".into(),
            session_id: session_id.into(),
            expires: 0,
        }
    }

    #[test]
    fn csrf_needs_the_token_of_the_nonce_and_the_session_and_the_same_origin() {
        let n = "0123456789abcdef0123456789abcdef";
        let me = signed_in("my session");
        let mine = ctx(n, Some(&me));
        let t = mine.csrf.clone();
        assert!(t.starts_with(n) && t.len() == 64, "{t}");
        let ok = headers(&[
            ("cookie", &format!("csrf={n}")),
            ("host", "example.org"),
            ("origin", "https://example.org"),
        ]);
        assert!(check_csrf(&ok, &mine, Some(&t)).is_ok());
        assert!(check_csrf(&ok, &mine, Some(n)).is_err(), "the bare nonce is no token");
        assert!(check_csrf(&ok, &mine, None).is_err());
        let other = ctx(n, Some(&signed_in("another session")));
        assert!(check_csrf(&ok, &other, Some(&t)).is_err(), "bound to the session");
        assert!(
            check_csrf(&ok, &ctx(n, None), Some(&t)).is_err(),
            "signed out is another session"
        );
        let anonymous = ctx(n, None).csrf;
        assert!(
            check_csrf(&ok, &mine, Some(&anonymous)).is_err(),
            "taken before signing in"
        );
        let cross = headers(&[("cookie", &format!("csrf={n}")), ("sec-fetch-site", "cross-site")]);
        assert!(check_csrf(&cross, &mine, Some(&t)).is_err());
        let foreign = headers(&[
            ("cookie", &format!("csrf={n}")),
            ("host", "example.org"),
            ("origin", "https://evil.example"),
        ]);
        assert!(check_csrf(&foreign, &mine, Some(&t)).is_err());
        let no_cookie = headers(&[("host", "example.org")]);
        assert!(check_csrf(&no_cookie, &mine, Some(&t)).is_err());
    }
}
