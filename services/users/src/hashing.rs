//! Password hashing with argon2id (OWASP minimum: m=19456 KiB, t=2, p=1),
//! run off the async runtime with a bound on concurrent hashes.

use crate::domain::Password;
use anyhow::Context;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Hashes and verifies passwords; cheap to clone.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// Verified against when the user does not exist, so that an unknown
    /// username costs the same work as a wrong password.
    dummy_hash: Arc<str>,
}

fn argon2() -> Argon2<'static> {
    // Argon2id, v19, m=19456 KiB, t=2, p=1: the crate's defaults are OWASP's minimum.
    Argon2::default()
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hash failed: {e}"))
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
}

impl Hasher {
    /// A hasher allowing `concurrency` hashes at once (0 = number of CPUs).
    pub async fn new(concurrency: usize) -> anyhow::Result<Self> {
        let n = if concurrency == 0 {
            std::thread::available_parallelism().map(usize::from).unwrap_or(2)
        } else {
            concurrency
        };
        let dummy = tokio::task::spawn_blocking(|| hash_blocking("not a real password, only spends time"))
            .await
            .context("hashing task failed")??;
        Ok(Self {
            permits: Arc::new(Semaphore::new(n)),
            dummy_hash: dummy.into(),
        })
    }

    /// Hash a new password.
    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await.context("hasher closed")?;
        let secret = password.expose().to_owned();
        tokio::task::spawn_blocking(move || hash_blocking(&secret))
            .await
            .context("hashing task failed")?
    }

    /// Verify `password` against `hash`, or against a dummy hash when there
    /// is no user, returning false then.
    pub async fn verify(&self, password: &Password, hash: Option<&str>) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await.context("hasher closed")?;
        let secret = password.expose().to_owned();
        let (target, real) = match hash {
            Some(h) => (h.to_owned(), true),
            None => (self.dummy_hash.to_string(), false),
        };
        let ok = tokio::task::spawn_blocking(move || verify_blocking(&secret, &target))
            .await
            .context("hashing task failed")?;
        Ok(ok && real)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hasher = Hasher::new(1).await.expect("hasher");
        let password = Password::parse("correct horse battery").expect("valid");
        let hash = hasher.hash(&password).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify(&password, Some(&hash)).await.expect("verify"));
        let wrong = Password::parse("wrong").expect("valid");
        assert!(!hasher.verify(&wrong, Some(&hash)).await.expect("verify"));
        assert!(!hasher.verify(&password, None).await.expect("verify"));
    }
}
