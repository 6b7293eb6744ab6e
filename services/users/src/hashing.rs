//! Password hashing with argon2id (OWASP minimum: m=19456 KiB, t=2, p=1) on
//! a small set of dedicated threads that own their scratch memory.
//!
//! Why not `Argon2::hash_password` / `verify_password` on `spawn_blocking`
//! (the first version): each call allocates argon2's 19 MiB of working
//! memory and frees it again. With glibc's malloc the first such free raises
//! the dynamic mmap threshold, so every later 19 MiB block is carved from a
//! malloc arena and stays there after it is freed: with `ADMIN_*` set (the
//! dummy hash, then the administrator's check) the service sat at 38 MB
//! idle instead of 18 MB, and 10 s of logins from the blocking pool's
//! threads left 470-580 MB behind (each thread has its own arena).
//! `unsafe_code` is forbidden, so no `malloc_trim`.
//!
//! Here each of the `concurrency` worker threads keeps one scratch buffer
//! while there is work (no allocation, page faults or zeroing per hash: a
//! reused buffer needs none, argon2 writes every block before reading it)
//! and drops it after [`SCRATCH_LINGER`] without work. The buffer's capacity
//! is above glibc's largest dynamic mmap threshold (32 MiB on 64-bit), so
//! malloc always maps it on its own and dropping it hands the memory back to
//! the kernel at once; only the first 19 MiB is ever touched, the rest is
//! address space, not memory. Any allocator that maps large blocks on their
//! own (musl, mimalloc, jemalloc) returns it as well.
//!
//! The threads bound how many hashes run at once: a request beyond that
//! waits in a FIFO queue (not in the tokio blocking pool, and never on an
//! async worker), and a request whose caller has gone (client disconnected)
//! is skipped instead of computed.
//!
//! An unknown username is verified against a dummy hash with the same
//! parameters, so it costs the same work as a wrong password. The dummy is
//! made without hashing (a random salt and a random output: verification
//! work depends on the parameters only, and no password produces a random
//! 256-bit output), so start-up spends no 19 MiB and no 30+ ms on it.

use crate::domain::Password;
use anyhow::Context;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::oneshot;

/// How long a worker keeps its scratch buffer without work: long enough
/// that a stream of logins reuses it, short enough that an idle service
/// gives the 19 MiB back within a second or so.
pub const SCRATCH_LINGER: Duration = Duration::from_secs(1);

/// glibc's `DEFAULT_MMAP_THRESHOLD_MAX` on 64-bit targets (32 MiB), in
/// argon2 blocks, plus one: a request this large is always served by its own
/// `mmap` and its `free` is a `munmap`, however far the dynamic threshold rose.
const ALWAYS_MAPPED_BLOCKS: usize = 32 * 1024 * 1024 / Block::SIZE + 1;

/// Argon2id, v19, m=19456 KiB, t=2, p=1: the crate's defaults are OWASP's minimum.
fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// One worker's argon2 working memory, kept between hashes.
#[derive(Default)]
struct Scratch {
    blocks: Vec<Block>,
}

impl Scratch {
    /// The first `count` blocks, (re)allocated when the buffer is smaller.
    fn blocks(&mut self, count: usize, held: &AtomicUsize) -> anyhow::Result<&mut [Block]> {
        if self.blocks.len() < count {
            self.release(held);
            let mut blocks = Vec::new();
            blocks
                .try_reserve_exact(count.max(ALWAYS_MAPPED_BLOCKS))
                .map_err(|e| anyhow::anyhow!("no memory for argon2 ({count} KiB): {e}"))?;
            blocks.resize(count, Block::new());
            self.blocks = blocks;
            held.fetch_add(1, Ordering::Relaxed);
        }
        Ok(&mut self.blocks[..count])
    }

    fn is_held(&self) -> bool {
        self.blocks.capacity() > 0
    }

    /// Give the memory back (to the kernel, see the module docs).
    fn release(&mut self, held: &AtomicUsize) {
        if self.is_held() {
            self.blocks = Vec::new();
            held.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Run `argon` over `password` and `salt` into `out`, in `scratch`.
fn compute(
    argon: &Argon2<'_>,
    scratch: &mut Scratch,
    held: &AtomicUsize,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> anyhow::Result<()> {
    let blocks = scratch.blocks(argon.params().block_count(), held)?;
    argon
        .hash_password_into_with_memory(password, salt, out, blocks)
        .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))
}

/// A new PHC string for `password` with a fresh random salt.
fn hash_with(scratch: &mut Scratch, held: &AtomicUsize, password: &[u8]) -> anyhow::Result<String> {
    let argon = argon2();
    let salt = argon2::password_hash::try_generate_salt().map_err(|e| anyhow::anyhow!("no random salt: {e}"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon, scratch, held, password, &salt, &mut out)?;
    phc_string(&salt, &out)
}

/// The PHC string of our parameters with this salt and output.
fn phc_string(salt: &[u8], output: &[u8]) -> anyhow::Result<String> {
    let params = argon2().params().clone();
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?,
        salt: Some(Salt::new(salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?),
        hash: Some(Output::new(output).map_err(|e| anyhow::anyhow!("output: {e}"))?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `phc` (with the parameters
/// written in it, as `Argon2::verify_password` reads them); false for a
/// string that does not parse.
fn verify_with(scratch: &mut Scratch, held: &AtomicUsize, password: &[u8], phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let Ok(version) = parsed.version.map_or(Ok(Version::default()), Version::try_from) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params);
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let Some(out) = buffer.get_mut(..expected.len()) else {
        return false;
    };
    if compute(&argon, scratch, held, password, salt.as_ref(), out).is_err() {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(out).is_ok_and(|computed| computed == *expected)
}

type Job = Box<dyn FnOnce(&mut Scratch, &AtomicUsize) + Send>;

struct Queue {
    jobs: VecDeque<Job>,
    closed: bool,
}

/// What the workers share: the job queue and the count of held buffers.
struct Shared {
    queue: Mutex<Queue>,
    work: Condvar,
    linger: Duration,
    /// Workers holding a scratch buffer now.
    held: AtomicUsize,
    /// Jobs running now, and the most that ever ran at once.
    running: AtomicUsize,
    peak: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One worker: take jobs in order; keep the scratch buffer while jobs
    /// come, drop it after `linger` without one; stop when closed.
    fn work(&self) {
        let mut scratch = Scratch::default();
        loop {
            let mut queue = self.lock();
            let job = loop {
                if let Some(job) = queue.jobs.pop_front() {
                    break Some(job);
                }
                if queue.closed {
                    break None;
                }
                if !scratch.is_held() {
                    queue = self.work.wait(queue).unwrap_or_else(PoisonError::into_inner);
                    continue;
                }
                let (guard, waited) = self
                    .work
                    .wait_timeout(queue, self.linger)
                    .unwrap_or_else(PoisonError::into_inner);
                queue = guard;
                if waited.timed_out() && queue.jobs.is_empty() {
                    drop(queue);
                    scratch.release(&self.held);
                    queue = self.lock();
                }
            };
            drop(queue);
            let Some(job) = job else {
                scratch.release(&self.held);
                return;
            };
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            // A panic inside argon2 fails that one request (its result
            // channel is dropped), not the worker.
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut scratch, &self.held)));
            self.running.fetch_sub(1, Ordering::SeqCst);
            if outcome.is_err() {
                scratch.release(&self.held);
            }
        }
    }
}

/// Owns the workers: dropping the last [`Hasher`] clone stops them.
struct Pool {
    shared: Arc<Shared>,
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.work.notify_all();
    }
}

/// Hashes and verifies passwords; cheap to clone.
#[derive(Clone)]
pub struct Hasher {
    pool: Arc<Pool>,
    /// Verified against when the user does not exist, so that an unknown
    /// username costs the same work as a wrong password.
    dummy_hash: Arc<str>,
}

impl Hasher {
    /// A hasher computing `concurrency` hashes at once on as many threads
    /// (0 = number of CPUs), each keeping its scratch memory for
    /// [`SCRATCH_LINGER`] after its last hash.
    pub fn new(concurrency: usize) -> anyhow::Result<Self> {
        Self::with_linger(concurrency, SCRATCH_LINGER)
    }

    /// [`Hasher::new`] with another scratch linger time.
    pub fn with_linger(concurrency: usize, linger: Duration) -> anyhow::Result<Self> {
        let n = if concurrency == 0 {
            std::thread::available_parallelism().map(usize::from).unwrap_or(2)
        } else {
            concurrency
        };
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                closed: false,
            }),
            work: Condvar::new(),
            linger,
            held: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        });
        for i in 0..n {
            let worker = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || worker.work())
                .context("cannot start a hashing thread")?;
        }
        let mut random = [0u8; Params::DEFAULT_OUTPUT_LEN + argon2::RECOMMENDED_SALT_LEN];
        // The kernel's generator, as for the salts: aws-lc's would seed its
        // CPU-jitter entropy source here, ~40 ms of start-up (see
        // `crate::warm_up_crypto_random`).
        getrandom::fill(&mut random).map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
        let (output, salt) = random.split_at(Params::DEFAULT_OUTPUT_LEN);
        Ok(Self {
            pool: Arc::new(Pool { shared }),
            dummy_hash: phc_string(salt, output)?.into(),
        })
    }

    /// Run `f` on a worker, in turn; its result, or an error when it panicked.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Scratch, &AtomicUsize) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |scratch, held| {
            // The caller has gone (its request was cancelled): no work for nobody.
            if !tx.is_closed() {
                let _ = tx.send(f(scratch, held));
            }
        });
        {
            let shared = &self.pool.shared;
            let mut queue = shared.lock();
            anyhow::ensure!(!queue.closed, "hasher closed");
            queue.jobs.push_back(job);
            drop(queue);
            shared.work.notify_one();
        }
        rx.await.context("hashing task failed")
    }

    /// Hash a new password.
    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let secret = password.expose().to_owned();
        self.run(move |scratch, held| hash_with(scratch, held, secret.as_bytes()))
            .await?
    }

    /// Verify `password` against `hash`, or against a dummy hash when there
    /// is no user, returning false then.
    pub async fn verify(&self, password: &Password, hash: Option<&str>) -> anyhow::Result<bool> {
        let secret = password.expose().to_owned();
        let (target, real) = match hash {
            Some(h) => (h.to_owned(), true),
            None => (self.dummy_hash.to_string(), false),
        };
        let ok = self
            .run(move |scratch, held| verify_with(scratch, held, secret.as_bytes(), &target))
            .await?;
        Ok(ok && real)
    }

    /// The PHC string an unknown username is verified against.
    pub fn dummy_hash(&self) -> &str {
        &self.dummy_hash
    }

    /// How many workers hold a scratch buffer now (at most `concurrency`;
    /// 0 once every worker has been idle for the linger time).
    pub fn scratch_buffers_held(&self) -> usize {
        self.pool.shared.held.load(Ordering::Relaxed)
    }

    /// The most hashes that ever ran at once (never above `concurrency`).
    pub fn peak_concurrency(&self) -> usize {
        self.pool.shared.peak.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordVerifier;

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hasher = Hasher::new(1).expect("hasher");
        let password = Password::parse("correct horse battery").expect("valid");
        let hash = hasher.hash(&password).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify(&password, Some(&hash)).await.expect("verify"));
        let wrong = Password::parse("wrong").expect("valid");
        assert!(!hasher.verify(&wrong, Some(&hash)).await.expect("verify"));
        assert!(!hasher.verify(&password, None).await.expect("verify"));
    }

    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crates_own_hashing_and_verification() {
        use argon2::PasswordHasher;
        let hasher = Hasher::new(1).expect("hasher");
        let password = Password::parse("correct horse battery").expect("valid");
        // Ours verifies with the crate's verifier...
        let ours = hasher.hash(&password).await.expect("hash");
        let parsed = PasswordHash::new(&ours).expect("PHC string");
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"correct horse batterY", &parsed)
                .is_err()
        );
        // ...and a hash made by the crate (as stored before) verifies with ours.
        let theirs = Argon2::default()
            .hash_password(b"correct horse battery")
            .expect("hash")
            .to_string();
        assert!(hasher.verify(&password, Some(&theirs)).await.expect("verify"));
        // Other parameters in a stored hash are honoured, as the crate does.
        let light = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 1, 1, None).expect("params"),
        )
        .hash_password(b"correct horse battery")
        .expect("hash")
        .to_string();
        assert!(hasher.verify(&password, Some(&light)).await.expect("verify"));
        let other = Password::parse("other password").expect("valid");
        assert!(!hasher.verify(&other, Some(&light)).await.expect("verify"));
        assert!(
            !hasher
                .verify(&password, Some("not a PHC string"))
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn unknown_users_cost_a_full_verification_with_the_same_parameters() {
        let hasher = Hasher::new(1).expect("hasher");
        let password = Password::parse("correct horse battery").expect("valid");
        let real = hasher.hash(&password).await.expect("hash");
        let dummy = PasswordHash::new(hasher.dummy_hash()).expect("the dummy is a PHC string");
        let stored = PasswordHash::new(&real).expect("PHC string");
        // Same algorithm, version, cost parameters, salt and output length:
        // the same work as verifying a stored hash.
        assert_eq!(dummy.algorithm, stored.algorithm);
        assert_eq!(dummy.version, stored.version);
        assert_eq!(dummy.params.to_string(), stored.params.to_string());
        assert_eq!(dummy.salt.map(|s| s.len()), stored.salt.map(|s| s.len()));
        assert_eq!(dummy.hash.map(|h| h.len()), stored.hash.map(|h| h.len()));
        // Each hasher has its own random dummy, matched by no password.
        assert_ne!(hasher.dummy_hash(), Hasher::new(1).expect("hasher").dummy_hash());
        assert!(!hasher.verify(&password, None).await.expect("verify"));
    }

    #[tokio::test]
    async fn more_concurrent_verifications_than_workers_all_complete_within_the_bound() {
        let hasher = Hasher::new(2).expect("hasher");
        let password = Password::parse("correct horse battery").expect("valid");
        let hash = hasher.hash(&password).await.expect("hash");
        let attempts: Vec<_> = (0..5)
            .map(|i| {
                let hasher = hasher.clone();
                let hash = hash.clone();
                let password = password.clone();
                tokio::spawn(async move {
                    let stored = (i != 3).then_some(hash.as_str());
                    (i, hasher.verify(&password, stored).await.expect("verify"))
                })
            })
            .collect();
        for attempt in attempts {
            let (i, ok) = attempt.await.expect("task");
            assert_eq!(ok, i != 3, "attempt {i}");
        }
        assert!(hasher.peak_concurrency() <= 2, "{}", hasher.peak_concurrency());
        assert!(hasher.scratch_buffers_held() <= 2);
    }

    #[tokio::test]
    async fn a_cancelled_verification_leaves_the_hasher_working() {
        let hasher = Hasher::new(1).expect("hasher");
        let password = Password::parse("correct horse battery").expect("valid");
        let hash = hasher.hash(&password).await.expect("hash");
        // Dropped before it could finish (the client went away).
        let cancelled = tokio::spawn({
            let hasher = hasher.clone();
            let password = password.clone();
            let hash = hash.clone();
            async move { hasher.verify(&password, Some(&hash)).await }
        });
        cancelled.abort();
        assert!(hasher.verify(&password, Some(&hash)).await.expect("verify"));
    }

    #[tokio::test]
    async fn scratch_memory_is_given_back_when_idle() {
        let hasher = Hasher::with_linger(2, Duration::ZERO).expect("hasher");
        assert_eq!(
            hasher.scratch_buffers_held(),
            0,
            "nothing allocated before the first hash"
        );
        let password = Password::parse("correct horse battery").expect("valid");
        let hash = hasher.hash(&password).await.expect("hash");
        assert!(hasher.verify(&password, Some(&hash)).await.expect("verify"));
        // The worker drops its buffer once it finds no more work; wait for
        // that state (bounded), not for a fixed time.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while hasher.scratch_buffers_held() > 0 && std::time::Instant::now() < deadline {
            tokio::task::yield_now().await;
            std::thread::yield_now();
        }
        assert_eq!(hasher.scratch_buffers_held(), 0);
        // A long linger keeps it for the next login.
        let keeping = Hasher::with_linger(1, Duration::from_secs(3600)).expect("hasher");
        let hash = keeping.hash(&password).await.expect("hash");
        assert!(keeping.verify(&password, Some(&hash)).await.expect("verify"));
        assert_eq!(keeping.scratch_buffers_held(), 1);
    }
}
