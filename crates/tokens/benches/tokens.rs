//! RS256 token signing and verification, the cost every signed-in request
//! pays (once per service it crosses). The key pair is generated when the
//! benchmark starts: no key lives in the repository.
//!
//! `cargo bench -p tokens`

#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
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
    group.bench_function("verify (JWKS key, by kid)", |b| {
        b.to_async(&runtime).iter(|| from_jwks.verify(black_box(&token)))
    });
    group.bench_function("verify (PEM key)", |b| {
        b.to_async(&runtime).iter(|| from_pem.verify(black_box(&token)))
    });
    group.bench_function("verify_header (Bearer)", |b| {
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
