//! Wire types and a typed HTTP client of the users service (API.md, "Users
//! service"). No logic: what the JSON looks like and how to call it.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A user as the API returns it (never with a password or hash).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct User {
    /// Positive, increasing id.
    pub id: i64,
    /// The unique username.
    pub username: String,
    /// When the account was created (UTC, ISO 8601 without offset).
    #[serde(with = "kit::time::serde_iso")]
    #[schema(value_type = String, example = "2019-05-07T13:47:34")]
    pub creation: NaiveDateTime,
}

/// Login and account-creation input (form, JSON or query string).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Credentials {
    /// 1–50 characters, no control characters.
    pub username: String,
    /// 1–128 characters (new accounts: at least the policy minimum, default 12).
    pub password: String,
}

/// Successful login: `{"Authorized": "Bearer <JWT>"}`, as the book answers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct LoginResponse {
    /// `Bearer <JWT>`.
    #[serde(rename = "Authorized")]
    pub authorized: String,
}

/// *(ext)* A session (`POST /api/sessions/` and `/api/sessions/refresh`): a
/// short-lived token and the opaque refresh token that renews it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SessionResponse {
    /// `Bearer <JWT>`, with claim `sid`, living `expires_in` seconds.
    #[serde(rename = "Authorized")]
    pub authorized: String,
    /// The refresh token (keep it secret; it is good for one renewal).
    pub refresh: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// Seconds until the session ends: no refresh token of it works after.
    pub refresh_expires_in: u64,
}

/// *(ext)* Input of `POST /api/sessions/refresh` and `/api/sessions/revoke`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RefreshRequest {
    /// The refresh token a session answer gave.
    pub refresh: String,
}

pub use kit::client::ClientError;
use reqwest::Method;

fn with_forwarded_for(req: reqwest::RequestBuilder, forwarded_for: Option<&str>) -> reqwest::RequestBuilder {
    match forwarded_for {
        Some(chain) => req.header("x-forwarded-for", chain),
        None => req,
    }
}

/// A typed client of the users service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client(kit::client::ApiClient);

impl Client {
    /// A client of the service at `base` (e.g. `http://127.0.0.1:8001`), with
    /// the given connect and whole-call deadlines, retrying and breaking the
    /// circuit as `outgoing` says ([`kit::client`]).
    pub fn new(
        base: &str,
        connect_timeout: Duration,
        timeout: Duration,
        outgoing: &kit::config::OutgoingConfig,
    ) -> Result<Self, ClientError> {
        kit::client::ApiClient::new("users", base, connect_timeout, timeout, outgoing).map(Self)
    }

    /// The same client, forwarding `request_id` on every call.
    pub fn with_request_id(&self, request_id: &str) -> Self {
        Self(self.0.with_request_id(request_id))
    }

    /// `POST /api/login/`: `{"Authorized": "Bearer <JWT>"}` on success.
    /// `forwarded_for` is the end user's address chain (`X-Forwarded-For`),
    /// which the users service believes from trusted proxies only.
    pub async fn login(
        &self,
        credentials: &Credentials,
        forwarded_for: Option<&str>,
    ) -> Result<LoginResponse, ClientError> {
        let req = self.0.request(Method::POST, "/api/login/").form(credentials);
        self.0.json(with_forwarded_for(req, forwarded_for)).await
    }

    /// `POST /api/users/` *(ext)*: public sign-up.
    pub async fn sign_up(&self, credentials: &Credentials, forwarded_for: Option<&str>) -> Result<User, ClientError> {
        let req = self.0.request(Method::POST, "/api/users/").form(credentials);
        self.0.json(with_forwarded_for(req, forwarded_for)).await
    }

    /// `POST /api/sessions/` *(ext)*: sign in for a revocable session (the
    /// same checks and errors as [`Client::login`]).
    pub async fn create_session(
        &self,
        credentials: &Credentials,
        forwarded_for: Option<&str>,
    ) -> Result<SessionResponse, ClientError> {
        let req = self.0.request(Method::POST, "/api/sessions/").form(credentials);
        self.0.json(with_forwarded_for(req, forwarded_for)).await
    }

    /// `POST /api/sessions/refresh` *(ext)*: a new token and refresh token
    /// for `refresh`, which stops working; a 401 when it is not live.
    pub async fn refresh_session(&self, refresh: &str) -> Result<SessionResponse, ClientError> {
        let body = RefreshRequest {
            refresh: refresh.to_owned(),
        };
        self.0
            .json(self.0.request(Method::POST, "/api/sessions/refresh").form(&body))
            .await
    }

    /// `POST /api/sessions/revoke` *(ext)*: end the session of `refresh`.
    pub async fn revoke_session(&self, refresh: &str) -> Result<(), ClientError> {
        let body = RefreshRequest {
            refresh: refresh.to_owned(),
        };
        self.0
            .send(self.0.request(Method::POST, "/api/sessions/revoke").form(&body))
            .await?;
        Ok(())
    }

    /// `GET /admin/version/`: `(version, commit)`.
    pub async fn version(&self) -> Result<(String, String), ClientError> {
        self.0.version().await
    }
}
