//! A PostgreSQL cluster of one test's own, which the test may stop and
//! start again (fault injection). The shared cluster of [`crate::database`]
//! must never be stopped: other tests use it.

use std::process::Command;

/// A cluster in a temporary directory, listening on a Unix socket in that
/// directory only; stopped (immediately) and removed when dropped.
pub struct PrivateCluster {
    dir: tempfile::TempDir,
}

impl PrivateCluster {
    /// `initdb` a new cluster in a temporary directory and start it (as the
    /// `postgres` user when we are root). Panics when PostgreSQL is not
    /// installed or does not start.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        if super::is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown the private cluster's directory to postgres");
        }
        let cluster = Self { dir };
        let data = cluster.data();
        super::run_pg(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        )
        .unwrap_or_else(|e| panic!("initdb of a private cluster: {e}"));
        cluster.start_again();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// The socket directory (`host=` of a URL).
    pub fn socket_dir(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// The URL of `database` on this cluster.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@localhost/{database}?host={}&port=5432",
            self.socket_dir()
        )
    }

    /// Create an empty database.
    pub async fn create_database(&self, name: &str) {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.url("postgres"))
            .await
            .expect("connect to the private cluster");
        sqlx::query(sqlx::AssertSqlSafe(format!("create database \"{name}\"")))
            .execute(&mut conn)
            .await
            .expect("create database");
    }

    /// Start the (stopped) server and wait until it accepts connections.
    pub fn start_again(&self) {
        let opts = format!(
            "-c listen_addresses='' -k {} -c fsync=off -c full_page_writes=off -c max_connections=100",
            self.socket_dir()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        super::run_pg(
            "pg_ctl",
            &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "-t", "60", "start"],
        )
        .unwrap_or_else(|e| panic!("start the private cluster: {e}"));
    }

    /// Stop the server (`-m fast`: open connections are ended) and wait
    /// until it is gone.
    pub fn stop(&self) {
        super::run_pg("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"])
            .unwrap_or_else(|e| panic!("stop the private cluster: {e}"));
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = super::run_pg("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
    }
}
