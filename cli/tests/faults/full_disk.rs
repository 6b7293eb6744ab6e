//! A full disk under the SQLite data directories: writes answer a clear
//! 507, reads keep working, and once space is freed writes work again and
//! nothing is corrupted.
//!
//! Each service gets its own size-limited tmpfs. As root it is mounted
//! here (`mount -t tmpfs -o size=…`); otherwise the service is started in
//! a user and mount namespace of its own (`unshare --user --map-root-user
//! --mount`) that mounts it, and the test reaches the files through
//! `/proc/<pid>/root`. `FAULTS_DISK=unshare` forces the second way. If
//! neither works the test fails, naming why: it never skips.

use crate::support::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Size of each service's disk.
const DISK_SIZE: &str = "8m";

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn use_unshare() -> bool {
    std::env::var("FAULTS_DISK").is_ok_and(|v| v == "unshare") || !is_root()
}

/// A size-limited disk for one service, mounted at `dir`.
struct Disk {
    dir: PathBuf,
    /// Root: we mounted it and unmount it when dropped.
    mounted_here: bool,
}

impl Disk {
    fn new(parent: &Path, name: &str) -> Self {
        let dir = parent.join(name);
        std::fs::create_dir(&dir).expect("mount point");
        if use_unshare() {
            return Self {
                dir,
                mounted_here: false,
            };
        }
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={DISK_SIZE},mode=0700"), "tmpfs"])
            .arg(&dir)
            .output()
            .expect("mount runs");
        assert!(
            out.status.success(),
            "mounting a {DISK_SIZE} tmpfs at {} failed (run as root, or set FAULTS_DISK=unshare): {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Self {
            dir,
            mounted_here: true,
        }
    }

    /// Start service `name` with its SQLite database on this disk.
    fn start(&self, name: &'static str, env: impl FnOnce(&str) -> Vec<(String, String)>) -> Service {
        let envs = env(&sqlite_url(&self.dir, name));
        if self.mounted_here {
            return Service::start(name, envs);
        }
        let dir = self.dir.display().to_string();
        Service::start_wrapped(
            name,
            |binary| {
                let script =
                    format!(r#"mount -t tmpfs -o size={DISK_SIZE},mode=0700 tmpfs "$1" && shift && exec "$@""#);
                let args = [
                    "--user",
                    "--map-root-user",
                    "--mount",
                    "sh",
                    "-c",
                    &script,
                    "sh",
                    &dir,
                    &binary,
                ];
                ("unshare".to_owned(), args.iter().map(|a| (*a).to_owned()).collect())
            },
            envs,
        )
    }

    /// The directory as this test sees it (through the service's mount
    /// namespace when it has its own).
    fn seen_by_test(&self, service: &Service) -> PathBuf {
        if self.mounted_here {
            self.dir.clone()
        } else {
            PathBuf::from(format!("/proc/{}/root", service.process.pid()))
                .join(self.dir.strip_prefix("/").unwrap_or(&self.dir))
        }
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        if self.mounted_here {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

/// Fill the disk at `dir` with a file until the write fails; its path and size.
fn fill(dir: &Path) -> (PathBuf, u64) {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("filler");
    let mut written = 0u64;
    for size in [1 << 20, 64 << 10, 4 << 10, 512, 64, 1] {
        let chunk = vec![0u8; size];
        // Bounded: the disk is 8 MiB.
        for _ in 0..100_000 {
            match file.write(&chunk) {
                Ok(n) if n == chunk.len() => written += n as u64,
                Ok(n) => {
                    written += n as u64;
                    break;
                }
                Err(_) => break,
            }
        }
    }
    let _ = file.flush();
    (path, written)
}

/// `PRAGMA integrity_check` of the database `name` in `dir` (as the test
/// sees it). Under `/proc/<pid>/root` SQLite would resolve the path into
/// our own mount namespace, so the file and its WAL are copied out first
/// (the service is idle: the copy is what a crash would leave).
async fn integrity(dir: &Path, name: &str, copy_to: Option<&Path>) -> String {
    use sqlx::Connection;
    let file = format!("{name}.sqlite3");
    let db_file = match copy_to {
        None => dir.join(&file),
        Some(to) => {
            for suffix in ["", "-wal"] {
                let from = dir.join(format!("{file}{suffix}"));
                if from.exists() {
                    std::fs::copy(&from, to.join(format!("{file}{suffix}"))).expect("copy the database out");
                }
            }
            to.join(&file)
        }
    };
    let url = format!("sqlite://{}", db_file.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("open read-only");
    let rows: Vec<String> = sqlx::query_scalar("pragma integrity_check")
        .fetch_all(&mut conn)
        .await
        .expect("integrity_check");
    rows.join("; ")
}

/// A response read whole: status, and whether it is the JSON error saying
/// the storage is full.
async fn answer(result: reqwest::Result<reqwest::Response>) -> (u16, bool) {
    let response = result.expect("answered");
    let status = response.status().as_u16();
    let json = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let clear = json && body["message"].as_str().is_some_and(|m| m.contains("storage is full"));
    (status, clear)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "fault suite: run by .ci/run"]
async fn a_full_disk_refuses_writes_with_507_keeps_reads_and_corrupts_nothing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let users_disk = Disk::new(tmp.path(), "users-disk");
    let thoughts_disk = Disk::new(tmp.path(), "thoughts-disk");
    let mut users = users_disk.start("users", users_env);
    let mut thoughts = thoughts_disk.start("thoughts", thoughts_env);
    let (users_dir, thoughts_dir) = (users_disk.seen_by_test(&users), thoughts_disk.seen_by_test(&thoughts));
    let how = if users_disk.mounted_here {
        "mounted by the test (root)"
    } else {
        "mounted in the service's own namespace (unshare --user --mount), checked on a copy"
    };
    let client = http();
    let token = bearer("dave");
    let password = &format!("pw-{}", uuid::Uuid::new_v4().simple());
    sign_up(&users.url(), "dave", password).await;
    let mut acked = Vec::new();
    for i in 0..5 {
        let text = format!("before the disk filled {i}");
        let (status, _) = answer(post_thought(&client, &thoughts.url(), &token, &text).await).await;
        assert_eq!(status, 201);
        acked.push(text);
    }

    // Fill both disks.
    let (users_filler, users_fill) = fill(&users_dir);
    let (thoughts_filler, thoughts_fill) = fill(&thoughts_dir);

    // Writes: some may still fit in what SQLite had allocated; then every
    // one must be a clear 507. At most 100 attempts.
    let mut refused = Vec::new();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let mut unclear = 0;
    for i in 0..100 {
        let text = format!("while the disk is full {i} {}", "x".repeat(200));
        let (status, clear) = answer(post_thought(&client, &thoughts.url(), &token, &text).await).await;
        *statuses.entry(status).or_default() += 1;
        match status {
            201 => acked.push(text),
            _ => {
                unclear += usize::from(!clear || status != 507);
                refused.push(text);
            }
        }
        if refused.len() >= 10 {
            break;
        }
    }
    let mut sign_up_statuses = std::collections::BTreeMap::<u16, usize>::new();
    let mut sign_ups_refused_clearly = 0;
    let mut sign_ups_acked = Vec::new();
    for i in 0..10 {
        let username = format!("full{i}");
        let result = client
            .post(format!("{}/api/users/", users.url()))
            .form(&[("username", username.as_str()), ("password", password)])
            .send()
            .await;
        let (status, clear) = answer(result).await;
        *sign_up_statuses.entry(status).or_default() += 1;
        if status == 201 {
            sign_ups_acked.push(username);
        } else if status == 507 && clear {
            sign_ups_refused_clearly += 1;
        }
        if sign_ups_refused_clearly >= 3 {
            break;
        }
    }
    // Reads while full.
    let mut reads = std::collections::BTreeMap::<u16, usize>::new();
    let listed = stored_texts(&thoughts.url(), &token).await;
    *reads.entry(200).or_default() += 1;
    for _ in 0..5 {
        let public = client
            .get(format!("{}/api/thoughts/?username=dave", thoughts.url()))
            .send()
            .await;
        *reads.entry(public.map_or(0, |r| r.status().as_u16())).or_default() += 1;
    }
    let login = client
        .post(format!("{}/api/login/", users.url()))
        .form(&[("username", "dave"), ("password", password)])
        .send()
        .await
        .map_or(0, |r| r.status().as_u16());
    *reads.entry(login).or_default() += 1;
    let all_acked_listed = acked.iter().all(|t| listed.contains(t));

    // Free the space: writes work again.
    std::fs::remove_file(&users_filler).expect("free users' disk");
    std::fs::remove_file(&thoughts_filler).expect("free thoughts' disk");
    let freed_at = Instant::now();
    let mut after = Vec::new();
    for i in 0..3 {
        let text = format!("after the space was freed {i}");
        let (status, _) = answer(post_thought(&client, &thoughts.url(), &token, &text).await).await;
        after.push(status);
        if status == 201 {
            acked.push(text);
        }
    }
    let result = client
        .post(format!("{}/api/users/", users.url()))
        .form(&[("username", "afterwards"), ("password", password)])
        .send()
        .await;
    let (sign_up_after, _) = answer(result).await;
    let writes_back = freed_at.elapsed();

    // Nothing corrupted, nothing refused stored, nothing acknowledged lost.
    let copies = tempfile::tempdir().expect("temp dir");
    let copy_to = (!users_disk.mounted_here).then_some(copies.path());
    let thoughts_check = integrity(&thoughts_dir, "thoughts", copy_to).await;
    let users_check = integrity(&users_dir, "users", copy_to).await;
    let stored = stored_texts(&thoughts.url(), &token).await;
    let lost: Vec<&String> = acked.iter().filter(|t| !stored.contains(t)).collect();
    let refused_but_stored: Vec<&String> = refused.iter().filter(|t| stored.contains(t)).collect();
    report(
        "full disk under the SQLite data directories",
        &format!(
            "a {DISK_SIZE} tmpfs per service ({how}), filled with a file (users {} KiB, thoughts {} KiB), \
             then freed",
            users_fill / 1024,
            thoughts_fill / 1024
        ),
        &format!(
            "posts while full {statuses:?} ({} refused, {unclear} without the clear 507 JSON error); \
             sign-ups while full {sign_up_statuses:?} ({} acknowledged); reads while full {reads:?}, every acknowledged thought listed: \
             {all_acked_listed}; after freeing: posts {after:?}, sign-up {sign_up_after} ({} ms); \
             integrity_check thoughts \"{thoughts_check}\", users \"{users_check}\"; acknowledged {} → lost {}, \
             refused yet stored {}",
            refused.len(),
            sign_ups_acked.len(),
            ms(writes_back),
            acked.len(),
            lost.len(),
            refused_but_stored.len()
        ),
    );

    assert!(!refused.is_empty(), "the full disk refused posts: {statuses:?}");
    assert_eq!(unclear, 0, "every refused post is a clear 507 JSON error: {statuses:?}");
    assert!(
        sign_ups_refused_clearly >= 1 && sign_up_statuses.keys().all(|s| [201, 507].contains(s)),
        "sign-ups on a full disk: a clear 507, never a 500: {sign_up_statuses:?}"
    );
    assert!(
        reads.keys().all(|s| *s == 200) && all_acked_listed,
        "reads keep working on a full disk: {reads:?}"
    );
    assert!(
        after.iter().all(|s| *s == 201) && sign_up_after == 201,
        "writes work once space is freed: posts {after:?}, sign-up {sign_up_after}"
    );
    assert_eq!(thoughts_check, "ok", "thoughts database intact");
    assert_eq!(users_check, "ok", "users database intact");
    assert!(lost.is_empty(), "acknowledged thoughts lost: {lost:?}");
    assert!(
        refused_but_stored.is_empty(),
        "a 507 saved nothing: {refused_but_stored:?}"
    );
    users.stop();
    thoughts.stop();
}
