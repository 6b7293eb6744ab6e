//! Token verification from PEM public keys and/or a JWKS URL, and the
//! extractor that authenticates a request.

use crate::keys::kid_of_public_pem;
use crate::{ALGORITHM, Claims, KeyError};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, errors::ErrorKind};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Default location of the public key, as in the book.
pub(crate) const DEFAULT_PUBLIC_KEY_PATH: &str = "/opt/keys/public_key.pub";

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECONDS: u64 = 5;

/// How far in the future `iat` may be (clock skew between issuer and us), in seconds.
pub const MAX_IAT_AHEAD_SECONDS: f64 = 60.0;

/// Where a verifying service gets its public keys.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifierConfig {
    /// PEM public key file. Default `/opt/keys/public_key.pub` when `JWKS_URL` is unset.
    #[arg(long, env = "PUBLIC_KEY_PATH")]
    pub public_key_path: Option<PathBuf>,
    /// The users service's JWK Set URL (cached; refetched on an unknown `kid`).
    #[arg(long, env = "JWKS_URL")]
    pub jwks_url: Option<String>,
    /// Least time between two JWKS fetches, in seconds.
    #[arg(long, env = "JWKS_MIN_REFRESH_SECONDS", default_value_t = 10)]
    pub jwks_min_refresh_seconds: u64,
    /// Expected `iss` claim (the users service's `TOKEN_ISSUER`): when set, a
    /// token whose `iss` is missing or different is refused; when unset, `iss`
    /// is not checked (the book's tokens carry none).
    #[arg(long, env = "TOKEN_ISSUER")]
    pub token_issuer: Option<String>,
}

impl VerifierConfig {
    /// Build the verifier; a missing or unreadable key file is an error
    /// naming the path. The JWKS is fetched with `outgoing`'s retries and
    /// circuit breaker (target `jwks`).
    pub fn build(&self, outgoing: &kit::config::OutgoingConfig) -> Result<Verifier, KeyError> {
        let path = match (&self.public_key_path, &self.jwks_url) {
            (Some(p), _) => Some(p.clone()),
            (None, None) => Some(PathBuf::from(DEFAULT_PUBLIC_KEY_PATH)),
            (None, Some(_)) => None,
        };
        let mut verifier = Verifier::empty();
        if let Some(path) = path {
            let pem = std::fs::read(&path).map_err(|e| KeyError::Read(path.display().to_string(), e.to_string()))?;
            verifier = verifier.with_pem(&pem)?;
        }
        if let Some(url) = &self.jwks_url {
            verifier = verifier.with_jwks_url(url, Duration::from_secs(self.jwks_min_refresh_seconds), outgoing)?;
        }
        Ok(verifier.with_issuer(self.token_issuer.as_deref()))
    }
}

/// Why a token was refused. Every variant is a 401 except [`Rejection::KeysUnavailable`] (503).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// No `Authorization` header.
    #[error("missing token")]
    Missing,
    /// Not `Bearer <JWT>`, or not a parseable JWT.
    #[error("malformed token")]
    Malformed,
    /// Algorithm other than RS256.
    #[error("algorithm not allowed")]
    Algorithm,
    /// Signature does not verify with any known key.
    #[error("invalid signature")]
    Signature,
    /// A `crit` header: it names extensions we do not implement (we implement none).
    #[error("critical header not understood")]
    CriticalHeader,
    /// `exp` in the past (beyond [`LEEWAY_SECONDS`]).
    #[error("token expired")]
    Expired,
    /// `nbf` in the future (beyond [`LEEWAY_SECONDS`]).
    #[error("token not yet valid")]
    NotYetValid,
    /// `iat` more than [`MAX_IAT_AHEAD_SECONDS`] in the future.
    #[error("token issued in the future")]
    IssuedInFuture,
    /// An issuer is configured and `iss` is missing or different.
    #[error("wrong issuer")]
    Issuer,
    /// An `aud` claim: our tokens never carry one.
    #[error("audience not allowed")]
    Audience,
    /// A required claim is missing or mistyped.
    #[error("missing or invalid claim")]
    Claims,
    /// No key is known to verify with (key source unreachable).
    #[error("verification keys unavailable")]
    KeysUnavailable,
}

impl Rejection {
    /// Short machine-readable reason for logs and metrics.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Malformed => "malformed",
            Self::Algorithm => "algorithm",
            Self::Signature => "signature",
            Self::CriticalHeader => "critical_header",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::Issuer => "issuer",
            Self::Audience => "audience",
            Self::Claims => "claims",
            Self::KeysUnavailable => "keys_unavailable",
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::KeysUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "Cannot verify tokens right now"),
            Self::Missing => (StatusCode::UNAUTHORIZED, "Authentication required"),
            Self::Expired => (StatusCode::UNAUTHORIZED, "Token expired"),
            _ => (StatusCode::UNAUTHORIZED, "Invalid token"),
        };
        let mut response = kit::error_response(status, message);
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Deadlines of a JWKS fetch: to connect, and for the whole fetch.
const JWKS_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const JWKS_TIMEOUT: Duration = Duration::from_secs(3);

struct JwksSource {
    url: String,
    client: kit::client::ApiClient,
    min_refresh: Duration,
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

/// How many verified tokens a [`Verifier`] remembers (about 1 MB at most).
pub const VERIFIED_CAPACITY: usize = 1024;

/// Tokens that verified, with their claims: a session presents the same
/// token on every request, and a hash lookup costs a fraction of an RS256
/// verification (`cargo bench -p tokens`). Only tokens that verified enter
/// it, so filling it takes valid tokens. A remembered token is still refused
/// once its `exp` has passed (the only check that time can turn from pass
/// to fail: `nbf` and `iat` only ever become more acceptable), and the whole
/// cache is forgotten whenever the keys change, so a key the users service
/// stopped publishing stops verifying its tokens at once.
#[derive(Debug, Default)]
struct Verified(Mutex<Remembered>);

/// The remembered tokens, and how many times the keys changed: a
/// verification that started with older keys is not remembered.
#[derive(Debug, Default)]
struct Remembered {
    generation: u64,
    tokens: HashMap<Box<str>, Claims>,
}

impl Verified {
    /// The claims of `token` if it verified before, or `Expired` if it has
    /// expired since; `None` when it is unknown.
    fn get(&self, token: &str) -> Option<Result<Claims, Rejection>> {
        let mut verified = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let claims = verified.tokens.get(token)?;
        if expired(claims.exp, chrono::Utc::now().timestamp()) {
            verified.tokens.remove(token);
            return Some(Err(Rejection::Expired));
        }
        Some(Ok(claims.clone()))
    }

    /// The current generation of the keys, taken before verifying.
    fn generation(&self) -> u64 {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).generation
    }

    /// Remember that `token` verified with `claims` using the keys of
    /// `generation` (nothing if they changed since); when full, expired
    /// tokens are dropped first, then everything.
    fn insert(&self, token: &str, claims: &Claims, generation: u64) {
        let mut verified = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if verified.generation != generation {
            return;
        }
        if verified.tokens.len() >= VERIFIED_CAPACITY {
            let now = chrono::Utc::now().timestamp();
            verified.tokens.retain(|_, c| !expired(c.exp, now));
            if verified.tokens.len() >= VERIFIED_CAPACITY {
                verified.tokens.clear();
            }
        }
        verified.tokens.insert(token.into(), claims.clone());
    }

    /// The keys changed: forget every token.
    fn clear(&self) {
        let mut verified = self.0.lock().unwrap_or_else(|p| p.into_inner());
        verified.generation += 1;
        verified.tokens.clear();
    }
}

/// Whether a token whose `exp` is `exp` is refused at `now` (seconds), with
/// the verifier's [`LEEWAY_SECONDS`], as the JWT library decides it.
fn expired(exp: i64, now: i64) -> bool {
    exp.saturating_add(i64::try_from(LEEWAY_SECONDS).unwrap_or(0)) < now
}

/// Verifies RS256 tokens against PEM keys and/or keys fetched from a JWKS URL.
#[derive(Clone)]
pub struct Verifier {
    keys: Arc<RwLock<HashMap<String, DecodingKey>>>,
    /// Tokens that verified with these keys and this validation.
    verified: Arc<Verified>,
    /// Kids of the PEM keys: kept when a JWKS fetch replaces the others.
    pem_kids: Arc<RwLock<std::collections::HashSet<String>>>,
    jwks: Option<Arc<JwksSource>>,
    validation: Validation,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("jwks_url", &self.jwks.as_ref().map(|j| &j.url))
            .finish_non_exhaustive()
    }
}

impl Verifier {
    fn empty() -> Self {
        let mut validation = Validation::new(ALGORITHM);
        validation.algorithms = vec![ALGORITHM];
        validation.set_required_spec_claims(&["exp"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        // Any `aud` is refused: no audience is configured (see API.md).
        validation.validate_aud = true;
        validation.leeway = LEEWAY_SECONDS;
        Self {
            keys: Arc::default(),
            verified: Arc::default(),
            pem_kids: Arc::default(),
            jwks: None,
            validation,
        }
    }

    /// A verifier for one PEM public key.
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        Self::empty().with_pem(pem)
    }

    /// A verifier for the keys of a JWK Set.
    pub fn from_jwks(set: &JwkSet) -> Self {
        let verifier = Self::empty();
        verifier.load_jwks(set);
        verifier
    }

    /// Require `iss` to be exactly `issuer` (a missing `iss` is refused too);
    /// `None` leaves `iss` unchecked, as the book's verifier does.
    pub fn with_issuer(mut self, issuer: Option<&str>) -> Self {
        // Tokens verified under the other rule are not known to pass this one
        // (and clones made before keep their own cache).
        self.verified = Arc::default();
        match issuer {
            Some(issuer) => {
                self.validation.set_issuer(&[issuer]);
                self.validation.required_spec_claims.insert("iss".to_owned());
            }
            None => {
                self.validation.iss = None;
                self.validation.required_spec_claims.remove("iss");
            }
        }
        self
    }

    fn with_pem(self, pem: &[u8]) -> Result<Self, KeyError> {
        let (kid, key) = kid_of_public_pem(pem)?;
        self.pem_kids
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(kid.clone());
        self.keys.write().unwrap_or_else(|p| p.into_inner()).insert(kid, key);
        self.verified.clear();
        Ok(self)
    }

    fn with_jwks_url(
        mut self,
        url: &str,
        min_refresh: Duration,
        outgoing: &kit::config::OutgoingConfig,
    ) -> Result<Self, KeyError> {
        let client = kit::client::ApiClient::new("jwks", url, JWKS_CONNECT_TIMEOUT, JWKS_TIMEOUT, outgoing)
            .map_err(|e| KeyError::JwksClient(url.to_owned(), e.to_string()))?;
        self.jwks = Some(Arc::new(JwksSource {
            url: url.to_owned(),
            client,
            min_refresh,
            last_fetch: tokio::sync::Mutex::new(None),
        }));
        Ok(self)
    }

    /// Replace the JWKS keys by the RSA signing keys of `set` (PEM keys stay):
    /// a key the users service stopped publishing stops verifying. A set
    /// without any usable key changes nothing.
    fn load_jwks(&self, set: &JwkSet) -> usize {
        use jsonwebtoken::jwk::{AlgorithmParameters, PublicKeyUse};
        let fresh: HashMap<String, DecodingKey> = set
            .keys
            .iter()
            .filter(|jwk| matches!(jwk.algorithm, AlgorithmParameters::RSA(_)))
            .filter(|jwk| matches!(jwk.common.public_key_use, None | Some(PublicKeyUse::Signature)))
            .filter_map(|jwk| Some((jwk.common.key_id.clone()?, DecodingKey::from_jwk(jwk).ok()?)))
            .collect();
        if fresh.is_empty() {
            return 0;
        }
        let pem = self.pem_kids.read().unwrap_or_else(|p| p.into_inner());
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        keys.retain(|kid, _| pem.contains(kid));
        let loaded = fresh.len();
        keys.extend(fresh);
        // Before the keys' lock is released: a verification that took the
        // old keys sees a new generation and is not remembered.
        self.verified.clear();
        loaded
    }

    /// Fetch the JWKS unless one was fetched less than `min_refresh` ago.
    async fn refresh(&self) {
        let Some(source) = &self.jwks else { return };
        let mut last = source.last_fetch.lock().await;
        if last.is_some_and(|t| t.elapsed() < source.min_refresh) {
            return;
        }
        *last = Some(Instant::now());
        let fetched = source
            .client
            .json::<JwkSet>(source.client.request_url(reqwest::Method::GET, &source.url))
            .await;
        match fetched {
            Ok(set) => {
                let n = self.load_jwks(&set);
                tracing::info!(url = %source.url, keys = n, "fetched JWKS");
            }
            Err(e) => tracing::warn!(url = %source.url, error = %e, "cannot fetch JWKS"),
        }
    }

    fn candidates(&self, kid: Option<&str>) -> Vec<DecodingKey> {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        match kid.and_then(|k| keys.get(k)) {
            Some(key) => vec![key.clone()],
            // No kid (the book's tokens) or an unknown one: try every key.
            None => keys.values().cloned().collect(),
        }
    }

    /// Verify a bare JWT (without the `Bearer ` prefix): RS256 only, no
    /// `crit` header, signature, `exp` (required) and `nbf` (if present)
    /// within [`LEEWAY_SECONDS`], `iat` (required) at most
    /// [`MAX_IAT_AHEAD_SECONDS`] ahead, no `aud`, `iss` if configured.
    /// NumericDates may be fractional (RFC 7519). A token that verified
    /// before is not verified again until the keys change ([`VERIFIED_CAPACITY`]
    /// of them are remembered); only its `exp` is checked again.
    pub async fn verify(&self, token: &str) -> Result<Claims, Rejection> {
        if let Some(known) = self.verified.get(token) {
            return known;
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| Rejection::Malformed)?;
        if header.alg != ALGORITHM {
            return Err(Rejection::Algorithm);
        }
        // RFC 7515 §4.1.11: a recipient must refuse a `crit` naming an
        // extension it does not understand. We understand none, and the
        // names it may not carry (registered ones, an empty list) make it
        // invalid anyway, so any `crit` is refused.
        if header.crit.is_some() {
            return Err(Rejection::CriticalHeader);
        }
        let kid = header.kid.as_deref();
        let known = kid.is_some_and(|k| self.keys.read().unwrap_or_else(|p| p.into_inner()).contains_key(k));
        if !known && (kid.is_some() || self.keys.read().unwrap_or_else(|p| p.into_inner()).is_empty()) {
            self.refresh().await;
        }
        let generation = self.verified.generation();
        let candidates = self.candidates(kid);
        if candidates.is_empty() {
            return Err(Rejection::KeysUnavailable);
        }
        let mut rejection = Rejection::Signature;
        for key in &candidates {
            match jsonwebtoken::decode::<WireClaims>(token, key, &self.validation) {
                Ok(data) => {
                    let claims = data.claims.check(now())?;
                    self.verified.insert(token, &claims, generation);
                    return Ok(claims);
                }
                Err(e) => {
                    rejection = match e.kind() {
                        // A key that cannot check this token is just not the right key.
                        ErrorKind::InvalidSignature | ErrorKind::InvalidKeyFormat | ErrorKind::InvalidRsaKey(_) => {
                            Rejection::Signature
                        }
                        ErrorKind::ExpiredSignature => Rejection::Expired,
                        ErrorKind::ImmatureSignature => Rejection::NotYetValid,
                        ErrorKind::InvalidIssuer => Rejection::Issuer,
                        ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => Rejection::Issuer,
                        ErrorKind::InvalidAudience => Rejection::Audience,
                        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => Rejection::Algorithm,
                        ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidClaimFormat(_) => Rejection::Claims,
                        ErrorKind::Json(_) => Rejection::Claims,
                        _ => Rejection::Malformed,
                    };
                    // Claims are checked after the signature: a claims error
                    // means this was the right key.
                    if rejection != Rejection::Signature {
                        return Err(rejection);
                    }
                }
            }
        }
        Err(rejection)
    }

    /// Verify the value of an `Authorization` header (`Bearer <JWT>`).
    pub async fn verify_header(&self, value: Option<&str>) -> Result<Claims, Rejection> {
        let value = value.ok_or(Rejection::Missing)?.trim();
        let (scheme, token) = value.split_once(' ').ok_or(Rejection::Malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Rejection::Malformed);
        }
        self.verify(token.trim()).await
    }
}

/// Seconds since the epoch, with its fraction.
fn now() -> f64 {
    let now = chrono::Utc::now();
    now.timestamp() as f64 + f64::from(now.timestamp_subsec_micros()) / 1e6
}

/// A NumericDate (RFC 7519 §2): seconds since the epoch, possibly
/// fractional. Only finite, non-negative numbers are dates; anything else
/// (a string, a negative number, a number out of range) makes the token
/// malformed.
#[derive(Debug, Clone, Copy, PartialEq)]
struct NumericDate(f64);

impl NumericDate {
    /// Whole seconds, rounded down (saturating, as `as` does).
    fn seconds(self) -> i64 {
        self.0.floor() as i64
    }
}

impl<'de> serde::Deserialize<'de> for NumericDate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = NumericDate;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a NumericDate (non-negative seconds since the epoch)")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<NumericDate, E> {
                Ok(NumericDate(v as f64))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<NumericDate, E> {
                u64::try_from(v)
                    .map(|v| NumericDate(v as f64))
                    .map_err(|_| E::custom("a NumericDate is not negative"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<NumericDate, E> {
                if v.is_finite() && v >= 0.0 {
                    Ok(NumericDate(v))
                } else {
                    Err(E::custom("a NumericDate is a finite, non-negative number"))
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// The claims as they arrive: [`Claims`] with fractional dates.
#[derive(Debug, serde::Deserialize)]
struct WireClaims {
    username: String,
    iat: NumericDate,
    exp: NumericDate,
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sid: Option<String>,
}

impl WireClaims {
    /// The checks the JWT library does not make (`iat`), then the claims.
    fn check(self, now: f64) -> Result<Claims, Rejection> {
        if self.iat.0 > now + MAX_IAT_AHEAD_SECONDS {
            return Err(Rejection::IssuedInFuture);
        }
        Ok(Claims {
            username: self.username,
            iat: self.iat.seconds(),
            exp: self.exp.seconds(),
            admin: self.admin,
            iss: self.iss,
            sid: self.sid,
        })
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    /// The `username` claim.
    pub username: String,
    /// True for administrators (`admin: true` claim).
    pub admin: bool,
}

/// `tokens_rejected_total{reason}`, described on first use: a rejection
/// happens while serving, so the service's recorder is installed by then.
fn count_rejection(rejection: Rejection) {
    static DESCRIBED: std::sync::Once = std::sync::Once::new();
    DESCRIBED.call_once(|| metrics::describe_counter!("tokens_rejected_total", "Bearer tokens refused, by reason"));
    metrics::counter!("tokens_rejected_total", "reason" => rejection.reason()).increment(1);
}

impl<S> FromRequestParts<S> for AuthUser
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Verifier::from_ref(state);
        let value = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        match verifier.verify_header(value).await {
            Ok(claims) => Ok(Self {
                username: claims.username,
                admin: claims.admin,
            }),
            Err(rejection) => {
                count_rejection(rejection);
                tracing::info!(event = "token_rejected", reason = rejection.reason(), "token rejected");
                Err(rejection.into_response())
            }
        }
    }
}

#[cfg(test)]
mod tests;
