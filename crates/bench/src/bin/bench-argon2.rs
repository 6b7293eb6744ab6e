//! The raw argon2id verification rate: N threads verify a password against
//! one hash for T seconds; prints one JSON object.
//!
//! `bench-argon2 [--threads N] [--seconds T] [--hash PHC --password P]`
//!
//! With `--hash` (a hash the users service stored) the parameters are that
//! hash's own, so the bound is measured with exactly what logins verify.
//! Without it, the password is hashed first with `Argon2::default()`, which
//! is what services/users/src/hashing.rs uses (argon2id, v19, m=19456 KiB,
//! t=2, p=1).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn fail(message: &str) -> ! {
    eprintln!("bench-argon2: {message}");
    std::process::exit(64);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "bench-argon2 [--threads N (default: CPUs)] [--seconds T (default 5)] [--hash PHC --password P]\n\
             prints {{\"threads\", \"seconds\", \"verifications\", \"per_second\", \"params\"}}"
        );
        return;
    }
    let threads = bench::number(&args, "--threads", bench::cores()).unwrap_or_else(|e| fail(&e));
    let seconds = bench::number(&args, "--seconds", 5.0f64).unwrap_or_else(|e| fail(&e));
    if threads == 0 || seconds.is_nan() || seconds <= 0.0 {
        fail("--threads and --seconds must be positive");
    }
    let password = bench::flag(&args, "--password")
        .unwrap_or("correct horse battery staple")
        .to_owned();
    let hash = match bench::flag(&args, "--hash") {
        Some(h) => h.to_owned(),
        // As services/users/src/hashing.rs hashes.
        None => match Argon2::default().hash_password(password.as_bytes()) {
            Ok(h) => h.to_string(),
            Err(e) => fail(&format!("hashing failed: {e}")),
        },
    };
    let parsed = PasswordHash::new(&hash).unwrap_or_else(|e| fail(&format!("not a PHC hash: {e}")));
    if Argon2::default().verify_password(password.as_bytes(), &parsed).is_err() {
        fail("the password does not verify against the hash");
    }
    let params = parsed.params.to_string();
    let hash: Arc<str> = hash.into();
    let password: Arc<str> = password.into();
    let duration = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (hash, password) = (Arc::clone(&hash), Arc::clone(&password));
            std::thread::spawn(move || {
                let mut done = 0u64;
                let Ok(parsed) = PasswordHash::new(&hash) else {
                    return done;
                };
                while start.elapsed() < duration {
                    if Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() {
                        done += 1;
                    }
                }
                done
            })
        })
        .collect();
    let verifications: u64 = workers.into_iter().map(|w| w.join().unwrap_or(0)).sum();
    let elapsed = start.elapsed();
    println!(
        "{{\"threads\":{threads},\"seconds\":{:.3},\"verifications\":{verifications},\"per_second\":{:.2},\"params\":\"{params}\"}}",
        elapsed.as_secs_f64(),
        bench::rate(verifications, elapsed)
    );
}
