//! Key files: errors, development key generation, key ids.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};

/// Why a key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read.
    #[error("cannot read key file {0}: {1}")]
    Read(String, String),
    /// The content is not a usable RSA key.
    #[error("invalid RSA key: {0}")]
    Invalid(String),
    /// Key generation failed.
    #[error("cannot generate a key pair")]
    Generate,
    /// The HTTP client of a JWKS URL could not be built.
    #[error("cannot set up the JWKS client for {0}: {1}")]
    JwksClient(String, String),
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Generate a new RSA-2048 key pair: `(private PKCS#8 PEM, public SPKI PEM)`.
/// For development and tests; production keys come from files.
pub fn generate_key_pair() -> Result<(String, String), KeyError> {
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
    let private = pair.as_der().map_err(|_| KeyError::Generate)?;
    let public = pair.public_key().as_der().map_err(|_| KeyError::Generate)?;
    Ok((pem("PRIVATE KEY", private.as_ref()), pem("PUBLIC KEY", public.as_ref())))
}

/// The key id (RFC 7638 SHA-256 thumbprint) of a PEM public key, with the key.
pub fn kid_of_public_pem(pem: &[u8]) -> Result<(String, DecodingKey), KeyError> {
    let key = DecodingKey::from_rsa_pem(pem).map_err(|e| KeyError::Invalid(e.to_string()))?;
    let jwk = Jwk::from_decoding_key(&key, Some(crate::ALGORITHM)).map_err(|e| KeyError::Invalid(e.to_string()))?;
    let (kid, _) = published_jwk(jwk)?;
    Ok((kid, key))
}

/// A JWK as we publish it: `kid` = its RFC 7638 SHA-256 thumbprint, `use` =
/// signature. Returns the kid too.
pub(crate) fn published_jwk(mut jwk: Jwk) -> Result<(String, Jwk), KeyError> {
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| KeyError::Invalid(e.to_string()))?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    Ok((kid, jwk))
}
