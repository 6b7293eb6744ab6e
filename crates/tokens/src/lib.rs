//! JWT issue and verification for MyThoughts: RS256 only, key files (PEM),
//! JWKS publication and fetching, and the axum extractor that turns an
//! `Authorization: Bearer <JWT>` header into an [`AuthUser`].
//!
//! It owns no accounts and no HTTP routes: the users service signs, every
//! other service verifies.

mod keys;
mod verify;

pub use keys::{KeyError, generate_key_pair, kid_of_public_pem};
pub use verify::{
    AuthUser, LEEWAY_SECONDS, MAX_IAT_AHEAD_SECONDS, Rejection, VERIFIED_CAPACITY, Verifier, VerifierConfig,
};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// The only signing algorithm accepted anywhere.
pub const ALGORITHM: Algorithm = Algorithm::RS256;

/// Default token lifetime: two days, as the book's users service.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(2 * 24 * 3600);

/// The claims of a MyThoughts token (no `aud`: the book's verifier rejects it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Who the token is for.
    pub username: String,
    /// Issued at, seconds since the epoch (a fractional NumericDate is
    /// accepted when verifying, rounded down here).
    pub iat: i64,
    /// Expires at, seconds since the epoch (fractional accepted, rounded down).
    pub exp: i64,
    /// Present and true for administrators only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin: bool,
    /// Issuer, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// *(ext)* Session id of a short-lived session token (the users
    /// service's revocable sessions); absent from the book's tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// Signs tokens with the users service's private key.
pub struct Signer {
    key: EncodingKey,
    kid: String,
    jwk: Jwk,
    /// Public keys published next to the signing key (key rotation).
    published: Vec<Jwk>,
    lifetime: Duration,
    issuer: Option<String>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer from a PEM private key (PKCS#1 or PKCS#8).
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let key = EncodingKey::from_rsa_pem(pem).map_err(|e| KeyError::Invalid(e.to_string()))?;
        let jwk = Jwk::from_encoding_key(&key, ALGORITHM).map_err(|e| KeyError::Invalid(e.to_string()))?;
        let (kid, jwk) = keys::published_jwk(jwk)?;
        Ok(Self {
            key,
            kid,
            jwk,
            published: Vec::new(),
            lifetime: DEFAULT_LIFETIME,
            issuer: None,
        })
    }

    /// A signer from a PEM file; the error names the path.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let pem = std::fs::read(path).map_err(|e| KeyError::Read(path.display().to_string(), e.to_string()))?;
        Self::from_pem(&pem).map_err(|e| match e {
            KeyError::Invalid(why) => KeyError::Invalid(format!("{}: {why}", path.display())),
            other => other,
        })
    }

    /// Set the token lifetime.
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Also publish these public keys (PEM) in the JWK Set, for a key
    /// rotation without signing anyone out: the previous key, so tokens it
    /// signed stay valid until they expire, or the next one, so verifiers
    /// know it before it signs. The signing key itself is never repeated.
    pub fn with_published_keys(mut self, pems: &[Vec<u8>]) -> Result<Self, KeyError> {
        for pem in pems {
            let key = DecodingKey::from_rsa_pem(pem).map_err(|e| KeyError::Invalid(e.to_string()))?;
            let jwk = Jwk::from_decoding_key(&key, Some(ALGORITHM)).map_err(|e| KeyError::Invalid(e.to_string()))?;
            let (kid, jwk) = keys::published_jwk(jwk)?;
            let mut known = std::iter::once(&self.jwk).chain(&self.published);
            if !known.any(|j| j.common.key_id.as_deref() == Some(kid.as_str())) {
                self.published.push(jwk);
            }
        }
        Ok(self)
    }

    /// Set the `iss` claim.
    pub fn with_issuer(mut self, issuer: Option<String>) -> Self {
        self.issuer = issuer;
        self
    }

    /// The key id (RFC 7638 thumbprint of the public key).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Issue a token for `username`.
    pub fn issue(&self, username: &str, admin: bool) -> Result<String, KeyError> {
        self.sign(username, admin, None, self.lifetime)
    }

    /// Issue a session token for `username`: claim `sid` = `session_id`,
    /// living `lifetime` instead of the signer's lifetime.
    pub fn issue_session(
        &self,
        username: &str,
        admin: bool,
        session_id: &str,
        lifetime: Duration,
    ) -> Result<String, KeyError> {
        self.sign(username, admin, Some(session_id.to_owned()), lifetime)
    }

    fn sign(&self, username: &str, admin: bool, sid: Option<String>, lifetime: Duration) -> Result<String, KeyError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            username: username.to_owned(),
            iat: now,
            exp: now + i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX / 2),
            admin,
            iss: self.issuer.clone(),
            sid,
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| KeyError::Invalid(e.to_string()))
    }

    /// The JWK Set publishing the public key, then any published ones.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: std::iter::once(&self.jwk).chain(&self.published).cloned().collect(),
        }
    }

    /// A verifier that accepts this signer's tokens (for the users service
    /// itself), requiring this signer's issuer when it has one.
    pub fn verifier(&self) -> Verifier {
        Verifier::from_jwks(&self.jwks()).with_issuer(self.issuer.as_deref())
    }
}
