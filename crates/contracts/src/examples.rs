//! Example values and expressions several consumers' contracts share.
//! Examples are what the mock providers answer; the expressions are what
//! the consumers rely on.

/// What a `Bearer <JWT>` value must look like.
pub const BEARER_REGEX: &str = r"^Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$";

/// An example `Bearer <JWT>` (the shape of one, not a token: the
/// consumers under test do not verify it).
pub const BEARER: &str = "Bearer header.payload.signature";

/// Base64url without padding (JWK members, refresh tokens).
pub const BASE64URL_REGEX: &str = r"^[A-Za-z0-9_-]+$";

/// The `kid` of [`JWK_N`]/[`JWK_E`] (its RFC 7638 thumbprint).
pub const JWK_KID: &str = "V-NRaUzUkn2mCL3Ko4rWEKv5dvix5LfxxEdV4Ty567s";

/// The modulus of an RSA-2048 public key made for these examples (its
/// private half was never kept): a JWK Set example verifiers can load.
pub const JWK_N: &str = "q9RRozsxeJpJH__HQ2e1XwdtGajiKsktGCC7HaDaZ5SY7s1Py8gU69VHc6xGEEYeqEaahNo5OdJOyWR3YqhuHarg2xa-yHAo0RkpbTNC2CcisXtA9dHfyzJraDqfytUJTk_ZM4tJlFriwzRJSZ8qaHekYnbD7boyvcazn49nys8dOTpC3quCQHQKMruzM53LJfUhxEzGouWN0qcEzbqsfXIA7s7ex7WqOeiexb68sfY6z4Cc7O2zfOveWtIRtGJ3lypeBja7kVyesHfQrGnNyr4ZOVK9nrrsKesfnDDnt0ZB5WCAs8o5H3dzZ6noSWfiYlSPeDTSgaRA9VtSLJrnfQ";

/// The public exponent of [`JWK_N`] (65537).
pub const JWK_E: &str = "AQAB";

/// What a verifier built on the `tokens` crate relies on in a JWK Set: at
/// least one RSA signing key for RS256, with its `kid`, `n` and `e`.
pub fn jwk_set() -> serde_json::Value {
    use crate::dsl::{each_like, equal, like, term};
    serde_json::json!({
        "keys": each_like(serde_json::json!({
            "kid": like(JWK_KID),
            "kty": equal("RSA"),
            "alg": equal("RS256"),
            "use": equal("sig"),
            "n": term(BASE64URL_REGEX, JWK_N),
            "e": term(BASE64URL_REGEX, JWK_E),
        }), 1),
    })
}
