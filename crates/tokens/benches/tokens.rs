//! RS256 token signing and verification: the first verification of a token
//! (what each service pays once per session), a remembered one (every later
//! request), and a forged token (always the full check). The key pair is generated when the
//! benchmark starts: no key lives in the repository.
//!
//! `cargo bench -p tokens`

#![allow(missing_docs)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tokens::{Signer, Verifier};

fn keys() -> (Signer, Vec<u8>) {
    let (private, public) = tokens::generate_key_pair().unwrap_or_else(|e| panic!("key pair: {e}"));
    let signer = Signer::from_pem(private.as_bytes()).unwrap_or_else(|e| panic!("signer: {e}"));
    (signer, public.into_bytes())
}

fn tokens(c: &mut Criterion) {
    let (signer, public) = keys();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let token = signer.issue("alice", false).unwrap_or_else(|e| panic!("issue: {e}"));
    let header = format!("Bearer {token}");
    // As the services build it: from the JWK Set (every key has a kid) and
    // from a PEM public key (the book's deployment).
    let from_jwks = signer.verifier();
    let from_pem = Verifier::from_pem(&public).unwrap_or_else(|e| panic!("verifier: {e}"));

    let mut group = c.benchmark_group("tokens");
    group.bench_function("sign", |b| b.iter(|| signer.issue(black_box("alice"), false)));
    // A verifier remembers the tokens that verified: `with_issuer` gives a
    // clone with an empty memory, so each of these pays the RS256 check.
    let token = token.as_str();
    for (name, verifier) in [("JWKS key, by kid", &from_jwks), ("PEM key", &from_pem)] {
        group.bench_function(format!("verify, first time ({name})"), |b| {
            b.to_async(&runtime).iter_batched(
                || verifier.clone().with_issuer(None),
                |fresh| async move { fresh.verify(black_box(token)).await },
                BatchSize::SmallInput,
            )
        });
    }
    // Every later request of the session: the remembered claims.
    group.bench_function("verify, again (remembered)", |b| {
        b.to_async(&runtime).iter(|| from_jwks.verify(black_box(token)))
    });
    group.bench_function("verify_header, again (remembered)", |b| {
        b.to_async(&runtime)
            .iter(|| from_jwks.verify_header(black_box(Some(header.as_str()))))
    });
    group.bench_function("verify a bad signature", |b| {
        let (other, _) = keys();
        let forged = other.issue("alice", false).unwrap_or_else(|e| panic!("issue: {e}"));
        b.to_async(&runtime).iter(|| from_pem.verify(black_box(&forged)))
    });
    group.finish();
}

criterion_group!(benches, tokens);
criterion_main!(benches);
