//! Signing in, signing up and signing out.

use super::see_other;
use crate::AppState;
use crate::error::{PageError, render};
use crate::session::{Ctx, SessionCookie, SessionTokens, check_csrf};
use crate::views::{AccountPage, LogoutPage};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kit::Params;
use kit::address::ClientAddress;
use users_api::{ClientError, Credentials};

fn page(state: &AppState, ctx: &Ctx, signup: bool) -> AccountPage {
    AccountPage {
        layout: ctx.layout(),
        signup,
        username: String::new(),
        error: None,
        username_error: None,
        password_error: None,
        password_min: state.password_min_length,
    }
}

/// `GET /login/` (signed-in users go home).
pub async fn show_login(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    if ctx.user.is_some() {
        return Ok(see_other("/"));
    }
    render(StatusCode::OK, &page(&state, &ctx, false))
}

/// `GET /signup/`.
pub async fn show_signup(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    if ctx.user.is_some() {
        return Ok(see_other("/"));
    }
    render(StatusCode::OK, &page(&state, &ctx, true))
}

/// Start a session with the users service (`POST /api/sessions/`: a
/// short-lived token and a refresh token) and answer with both cookies set.
async fn start_session(
    state: &AppState,
    ctx: &Ctx,
    credentials: &Credentials,
    client: &str,
) -> Result<Response, ClientError> {
    let users = state.users.with_request_id(&ctx.request_id);
    let session = users.create_session(credentials, Some(client)).await?;
    // Verify what we got, and let the cookie live as long as the token.
    let exp = match state.verifier.verify_header(Some(&session.authorized)).await {
        Ok(claims) => claims.exp,
        Err(rejection) => {
            tracing::error!(
                reason = rejection.reason(),
                "the users service issued a token we cannot verify"
            );
            return Err(ClientError::Unavailable("users: token not verifiable".into()));
        }
    };
    let tokens = SessionTokens::new(session, exp);
    Ok((SessionCookie::Start(tokens), see_other("/")).into_response())
}

/// Re-render the form with what went wrong (503 when the users service is down).
fn failed(
    state: &AppState,
    ctx: &Ctx,
    signup: bool,
    username: &str,
    error: ClientError,
) -> Result<Response, PageError> {
    let mut p = page(state, ctx, signup);
    p.username = username.to_owned();
    let status = match error {
        ClientError::Status {
            status,
            message,
            errors,
            ..
        } => {
            p.username_error = errors.get("username").map(|e| format!("Username {e}."));
            p.password_error = errors.get("password").map(|e| format!("Password {e}."));
            p.error = match status {
                401 => Some("Wrong username or password.".to_owned()),
                409 => {
                    p.username_error = Some("This username is taken. Pick another one.".to_owned());
                    None
                }
                429 => Some("Too many attempts. Wait a minute and try again.".to_owned()),
                403 if signup => Some("Sign-up is closed on this site.".to_owned()),
                400 if p.username_error.is_some() || p.password_error.is_some() => None,
                _ => Some(message),
            };
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST)
        }
        unavailable @ ClientError::Unavailable(_) => {
            p.error = Some("Signing in is not possible right now: the users service is not answering. Please try again in a moment.".to_owned());
            return Err(PageError::from(unavailable).showing(&p));
        }
    };
    render(status, &p)
}

fn credentials(params: &Params) -> Credentials {
    Credentials {
        username: params.get("username").unwrap_or_default().to_owned(),
        password: params.get("password").unwrap_or_default().to_owned(),
    }
}

/// `POST /login/`: sign in, set the session cookie, go home.
pub async fn log_in(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    ctx: Ctx,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, PageError> {
    check_csrf(&headers, &ctx, params.get("csrf"))?;
    let credentials = credentials(&params);
    match start_session(&state, &ctx, &credentials, &client.to_string()).await {
        Ok(response) => Ok(response),
        Err(e) => failed(&state, &ctx, false, &credentials.username, e),
    }
}

/// `POST /signup/`: create the account, sign in, go home.
pub async fn sign_up(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    ctx: Ctx,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, PageError> {
    check_csrf(&headers, &ctx, params.get("csrf"))?;
    let credentials = credentials(&params);
    let users = state.users.with_request_id(&ctx.request_id);
    if let Err(e) = users.sign_up(&credentials, Some(&client.to_string())).await {
        return failed(&state, &ctx, true, &credentials.username, e);
    }
    match start_session(&state, &ctx, &credentials, &client.to_string()).await {
        Ok(response) => Ok(response),
        Err(e) => failed(&state, &ctx, false, &credentials.username, e),
    }
}

/// `GET /logout/`: a page with a sign-out button. It never signs out: a
/// GET can be triggered by any other site (an `<img src>`), so only the
/// form's POST, with its CSRF token, ends the session.
pub async fn show_logout(ctx: Ctx) -> Result<Response, PageError> {
    let Some(user) = &ctx.user else {
        return Ok(see_other("/login/"));
    };
    let page = LogoutPage {
        layout: ctx.layout(),
        username: user.username.clone(),
    };
    render(StatusCode::OK, &page)
}

/// `POST /logout/` (the header's and the sign-out page's form, with a CSRF
/// token): end the session for good and go to `/login/`. The refresh token
/// is revoked at the users service and the session id denied here until
/// its short token expires, so replaying the old cookies signs no one in.
pub async fn log_out(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, PageError> {
    check_csrf(&headers, &ctx, params.get("csrf"))?;
    if let Some(user) = &ctx.user {
        state.signed_out.insert(&user.session_id, user.expires);
        tracing::info!(event = "signed_out", username = %user.username, "signed out");
    }
    if let Some(refresh) = &ctx.refresh {
        let users = state.users.with_request_id(&ctx.request_id);
        if let Err(e) = users.revoke_session(refresh).await {
            // Signed out here anyway; the refresh token, now gone from the
            // browser, stays valid at users until the session expires.
            tracing::warn!(error = %e, "cannot revoke the session at the users service");
        }
    }
    Ok(signed_out())
}

/// To the sign-in page, with the session cookie cleared.
fn signed_out() -> Response {
    (SessionCookie::Clear, see_other("/login/")).into_response()
}
