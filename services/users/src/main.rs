//! `users-service`: parse configuration, start, serve until SIGTERM/Ctrl-C.

use users::{Application, Config, NAME};

// The system allocator (glibc), on purpose. argon2's 19 MiB scratch memory,
// which glibc would keep, is handled in `users::hashing` (a buffer glibc
// always maps on its own, dropped after a second idle). Measured in a probe
// (one hash, then 2 threads verifying for 3 s, then 10 s idle): mimalloc 0.1.52
// started at 6.3 MB instead of 1.9 MB and kept 47 MB after the burst;
// tikv-jemallocator 0.7 with background threads kept 42 MB for 10 s and added
// a 3-minute C build.

#[tokio::main]
async fn main() {
    let config: Config = kit::config::parse_or_exit();
    let server = config.server.clone();
    kit::lifecycle::run_main(NAME, &server, |shutdown| async move {
        let app = Application::build(config).await?;
        app.run_until_stopped(shutdown)
            .await
            .map_err(|e| kit::config::StartupError::Other(e.into()))
    })
    .await
}
