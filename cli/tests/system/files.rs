//! Issue 9, finding 11: what `mythoughts up` creates in a fresh data
//! directory (SQLite databases with password hashes, the signing key, the
//! demo password) is readable by its owner only.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tokio_util::sync::CancellationToken;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_data_directory_and_its_secrets_are_owner_only() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    let args = mythoughts::up::UpArgs::new(0, data.clone());
    let shutdown = CancellationToken::new();
    let system = mythoughts::up::start(&args, shutdown.clone())
        .await
        .unwrap_or_else(|e| panic!("system: {e}"));
    let urls = system.urls.clone();
    let running = tokio::spawn(system.wait());
    let (users, thoughts) = (urls.users, urls.thoughts);
    testkit::wait_ready(&users).await;
    testkit::wait_ready(&thoughts).await;
    let password_file = data.join("demo-password.txt");
    mythoughts::seed::seed(&users, &thoughts, &password_file)
        .await
        .expect("seeded");

    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&data.join("keys")), 0o700, "the key directory");
    assert_eq!(
        mode(&data.join("keys").join("private_key.pem")),
        0o600,
        "the private key"
    );
    assert_eq!(mode(&password_file), 0o600, "the demo password");
    for db in ["users.sqlite3", "thoughts.sqlite3"] {
        assert_eq!(mode(&data.join(db)), 0o600, "{db}");
        // The write-ahead log exists while the service runs (the seed wrote to it).
        assert_eq!(mode(&data.join(format!("{db}-wal"))), 0o600, "{db}-wal");
    }
    shutdown.cancel();
    running.await.expect("joined").expect("stopped cleanly");
}
