//! The verification rules, on tokens built by hand: header JSON, payload
//! JSON and an RS256 signature over them, so that any header (`crit`) and
//! any claim value (fractional, huge, mistyped) can be sent.

use super::*;
use base64::Engine as _;
use jsonwebtoken::EncodingKey;
use serde_json::{Value, json};
use std::sync::OnceLock;

fn key_pair() -> &'static (String, String) {
    static PAIR: OnceLock<(String, String)> = OnceLock::new();
    PAIR.get_or_init(|| crate::generate_key_pair().expect("key generation works"))
}

fn verifier() -> Verifier {
    Verifier::from_pem(key_pair().1.as_bytes()).expect("public key")
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

/// A JWT with exactly this header and payload, RS256-signed with the test key.
fn mint(header: &Value, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(key_pair().0.as_bytes()).expect("private key");
    let message = format!("{}.{}", b64(header), b64(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, ALGORITHM).expect("signed");
    format!("{message}.{signature}")
}

/// The book's header: no `kid`.
fn book_header() -> Value {
    json!({"typ": "JWT", "alg": "RS256"})
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims valid now, with `extra` merged in (a `null` removes a claim).
fn claims(extra: Value) -> Value {
    let mut claims = json!({"username": "bruce", "iat": now_secs(), "exp": now_secs() + 3600});
    let map = claims.as_object_mut().expect("object");
    for (k, v) in extra.as_object().expect("object") {
        if v.is_null() {
            map.remove(k);
        } else {
            map.insert(k.clone(), v.clone());
        }
    }
    claims
}

async fn verdict(verifier: &Verifier, claims: Value) -> Result<Claims, Rejection> {
    verifier.verify(&mint(&book_header(), &claims)).await
}

#[tokio::test]
async fn a_book_token_without_kid_is_accepted() {
    let got = verdict(&verifier(), claims(json!({}))).await.expect("accepted");
    assert_eq!(got.username, "bruce");
    assert!(!got.admin);
}

#[tokio::test]
async fn nbf_in_the_future_is_refused_and_nbf_in_the_past_accepted() {
    let v = verifier();
    let future = verdict(&v, claims(json!({"nbf": now_secs() + 120}))).await;
    assert_eq!(future, Err(Rejection::NotYetValid));
    let past = verdict(&v, claims(json!({"nbf": now_secs() - 10}))).await;
    assert!(past.is_ok(), "{past:?}");
    let within_leeway = verdict(&v, claims(json!({"nbf": now_secs() + 2}))).await;
    assert!(within_leeway.is_ok(), "{within_leeway:?}");
}

#[tokio::test]
async fn iat_more_than_a_minute_ahead_is_refused_and_30_s_ahead_accepted() {
    let v = verifier();
    let five_minutes = verdict(&v, claims(json!({"iat": now_secs() + 300}))).await;
    assert_eq!(five_minutes, Err(Rejection::IssuedInFuture));
    let just_over = verdict(&v, claims(json!({"iat": now_secs() as f64 + 61.5}))).await;
    assert_eq!(just_over, Err(Rejection::IssuedInFuture));
    let thirty_s = verdict(&v, claims(json!({"iat": now_secs() + 30}))).await;
    assert!(thirty_s.is_ok(), "{thirty_s:?}");
}

#[tokio::test]
async fn any_crit_header_is_refused() {
    let v = verifier();
    for crit in [json!(["exp"]), json!(["x-unknown"]), json!(["b64"]), json!([])] {
        let header = json!({"typ": "JWT", "alg": "RS256", "crit": crit, "exp": 1, "x-unknown": 1, "b64": true});
        let got = v.verify(&mint(&header, &claims(json!({})))).await;
        assert_eq!(got, Err(Rejection::CriticalHeader), "crit {crit}");
    }
    // Not a list of names: not a JWS header at all.
    let header = json!({"typ": "JWT", "alg": "RS256", "crit": "exp"});
    assert_eq!(
        v.verify(&mint(&header, &claims(json!({})))).await,
        Err(Rejection::Malformed)
    );
}

#[tokio::test]
async fn fractional_numeric_dates_are_accepted() {
    let secs = now_secs();
    let now = secs as f64;
    let got = verdict(
        &verifier(),
        claims(json!({"iat": now - 0.25, "exp": now + 3600.5, "nbf": now - 1.5})),
    )
    .await
    .expect("accepted");
    assert_eq!(got.exp, secs + 3600, "rounded down");
    assert_eq!(got.iat, secs - 1, "rounded down");
    let expired = verdict(&verifier(), claims(json!({"exp": now - 3600.5}))).await;
    assert_eq!(expired, Err(Rejection::Expired));
}

#[tokio::test]
async fn an_issuer_when_configured_must_match_exactly() {
    let v = verifier().with_issuer(Some("https://users.example"));
    assert!(
        verdict(&v, claims(json!({"iss": "https://users.example"})))
            .await
            .is_ok()
    );
    for iss in [
        json!("https://evil.example"),
        json!(""),
        json!("https://users.example/"),
    ] {
        assert_eq!(
            verdict(&v, claims(json!({"iss": iss}))).await,
            Err(Rejection::Issuer),
            "iss {iss}"
        );
    }
    assert_eq!(verdict(&v, claims(json!({}))).await, Err(Rejection::Issuer), "no iss");
    // A list is not a StringOrURI, even when it holds the right issuer.
    let listed = verdict(&v, claims(json!({"iss": ["https://users.example", "x"]}))).await;
    assert!(listed.is_err(), "{listed:?}");
}

#[tokio::test]
async fn without_an_issuer_configured_iss_is_not_checked() {
    let v = verifier();
    assert!(verdict(&v, claims(json!({}))).await.is_ok());
    let got = verdict(&v, claims(json!({"iss": "anyone"}))).await.expect("accepted");
    assert_eq!(got.iss.as_deref(), Some("anyone"));
    // And unsetting an issuer drops the requirement.
    let v = v.with_issuer(Some("a")).with_issuer(None);
    assert!(verdict(&v, claims(json!({}))).await.is_ok());
}

#[tokio::test]
async fn the_signer_verifier_requires_the_signer_issuer() {
    let signer = crate::Signer::from_pem(key_pair().0.as_bytes())
        .expect("signer")
        .with_issuer(Some("users".into()));
    let token = signer.issue("bruce", false).expect("issued");
    assert!(signer.verifier().verify(&token).await.is_ok());
    let foreign = mint(&book_header(), &claims(json!({"iss": "other"})));
    assert_eq!(signer.verifier().verify(&foreign).await, Err(Rejection::Issuer));
}

#[tokio::test]
async fn an_aud_claim_is_refused() {
    let got = verdict(&verifier(), claims(json!({"aud": "thoughts"}))).await;
    assert_eq!(got, Err(Rejection::Audience));
}

#[tokio::test]
async fn malformed_dates_are_refused_not_panics() {
    let v = verifier();
    let cases = [
        json!({"exp": "soon"}),
        json!({"exp": -1}),
        json!({"exp": 1e300}),
        json!({"exp": true}),
        json!({"exp": [1]}),
        json!({"exp": null}),
        json!({"iat": "now"}),
        json!({"iat": -5}),
        json!({"iat": -0.5}),
        json!({"iat": null}),
        json!({"iat": 1e300}),
        json!({"nbf": "later"}),
        json!({"nbf": -1}),
        json!({"nbf": 1e300}),
        json!({"nbf": u64::MAX}),
        json!({"nbf": {}}),
        json!({"username": null}),
        json!({"username": 7}),
        json!({"admin": "yes"}),
    ];
    for extra in cases {
        let got = verdict(&v, claims(extra.clone())).await;
        assert!(got.is_err(), "{extra} accepted: {got:?}");
        assert_ne!(got, Err(Rejection::KeysUnavailable), "{extra}");
    }
    // Numbers JSON cannot hold as f64 (1e400) or NaN are not JSON: malformed payloads.
    for payload in [
        r#"{"username":"bruce","iat":1,"exp":1e400}"#,
        r#"{"username":"bruce","iat":NaN,"exp":1}"#,
    ] {
        let key = EncodingKey::from_rsa_pem(key_pair().0.as_bytes()).expect("private key");
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let message = format!("{}.{}", b64(&book_header()), b(payload));
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, ALGORITHM).expect("signed");
        let got = v.verify(&format!("{message}.{signature}")).await;
        assert!(got.is_err(), "{payload} accepted");
    }
}

#[test]
fn every_rejection_has_its_own_reason_label() {
    let all = [
        Rejection::Missing,
        Rejection::Malformed,
        Rejection::Algorithm,
        Rejection::Signature,
        Rejection::CriticalHeader,
        Rejection::Expired,
        Rejection::NotYetValid,
        Rejection::IssuedInFuture,
        Rejection::Issuer,
        Rejection::Audience,
        Rejection::Claims,
        Rejection::KeysUnavailable,
    ];
    let labels: std::collections::HashSet<_> = all.iter().map(|r| r.reason()).collect();
    assert_eq!(labels.len(), all.len());
}

/// A JWK Set publishing the public key of `pem` (PKCS#8 private key).
fn jwks_of(private_pem: &str) -> JwkSet {
    crate::Signer::from_pem(private_pem.as_bytes()).expect("signer").jwks()
}

#[tokio::test]
async fn a_token_verified_before_is_accepted_again_with_the_same_claims() {
    let v = verifier();
    let token = mint(&book_header(), &claims(json!({"admin": true, "sid": "s1"})));
    let first = v.verify(&token).await.expect("accepted");
    let again = v.verify(&token).await.expect("accepted again");
    assert_eq!(first, again);
    assert!(again.admin);
    assert_eq!(again.sid.as_deref(), Some("s1"));
}

#[tokio::test]
async fn a_remembered_token_is_refused_once_it_expires() {
    let v = verifier();
    let token = mint(&book_header(), &claims(json!({})));
    assert!(v.verify(&token).await.is_ok());
    // Its time comes (moved, not waited for): only `exp` is checked again.
    let past = now_secs() - i64::try_from(LEEWAY_SECONDS).expect("small") - 1;
    {
        let mut remembered = v.verified.0.lock().expect("lock");
        remembered.tokens.get_mut(token.as_str()).expect("remembered").exp = past;
    }
    assert_eq!(v.verify(&token).await, Err(Rejection::Expired));
    // Forgotten then: the next time it is verified in full (its real `exp`
    // is an hour away, so it passes again).
    assert!(v.verify(&token).await.is_ok());
}

#[tokio::test]
async fn a_remembered_token_stops_verifying_when_its_key_is_no_longer_published() {
    let (other_private, _) = crate::generate_key_pair().expect("key pair");
    let v = Verifier::from_jwks(&jwks_of(&key_pair().0));
    let signer = crate::Signer::from_pem(key_pair().0.as_bytes()).expect("signer");
    let token = signer.issue("bruce", false).expect("issued");
    assert!(v.verify(&token).await.is_ok());
    // The users service rotated to another key and stopped publishing this one.
    assert_eq!(v.load_jwks(&jwks_of(&other_private)), 1);
    assert_eq!(v.verify(&token).await, Err(Rejection::Signature));
}

#[tokio::test]
async fn an_issuer_set_after_a_token_was_remembered_is_still_required() {
    let v = verifier();
    let token = mint(&book_header(), &claims(json!({})));
    assert!(v.verify(&token).await.is_ok(), "no issuer required");
    let strict = v.clone().with_issuer(Some("https://users.example"));
    assert_eq!(strict.verify(&token).await, Err(Rejection::Issuer));
    assert!(v.verify(&token).await.is_ok(), "the lenient verifier keeps its rule");
}

#[test]
fn the_remembered_tokens_are_bounded() {
    let cache = Verified::default();
    let exp = now_secs() + 3600;
    let claims = Claims {
        username: "bruce".into(),
        iat: 0,
        exp,
        admin: false,
        iss: None,
        sid: None,
    };
    for i in 0..VERIFIED_CAPACITY * 2 + 3 {
        cache.insert(&format!("token {i}"), &claims, 0);
        let len = cache.0.lock().expect("lock").tokens.len();
        assert!((1..=VERIFIED_CAPACITY).contains(&len), "{len} after {i}");
    }
    // A verification that began before the keys changed is not remembered.
    cache.clear();
    cache.insert("late", &claims, 0);
    assert!(cache.get("late").is_none());
    cache.insert("fresh", &claims, cache.generation());
    assert_eq!(cache.get("fresh"), Some(Ok(claims)));
}
