//! `mythoughts seed`: demo users and thoughts, loaded through the public
//! APIs, idempotently (a second run adds nothing); or, with `--thoughts N`,
//! N synthetic thoughts bulk-loaded straight into the thoughts database
//! ([`bulk`], [`thoughts::bulk`]).

use anyhow::Context;
use std::io::Write;
use std::path::Path;
use std::time::Duration;
use users_api::{ClientError, Credentials};

/// Demo authors and what they share.
const DEMO: &[(&str, &[&str])] = &[
    (
        "ada",
        &[
            "The engine might compose elaborate and scientific pieces of music of any degree of complexity.",
            "Imagination is the discovering faculty, pre-eminently.",
        ],
    ),
    (
        "grace",
        &[
            "It's easier to ask forgiveness than it is to get permission.",
            "The most dangerous phrase in the language is: we've always done it this way.",
        ],
    ),
    (
        "margaret",
        &[
            "There was no choice but to be pioneers; no time to be beginners.",
            "Software engineering, like flying, is learned by doing.",
        ],
    ),
    (
        "linus",
        &[
            "Talk is cheap. Show me the code.",
            "Given enough eyeballs, all bugs are shallow — and all thoughts are searchable.",
        ],
    ),
];

/// What a seed run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Accounts created by this run.
    pub users_created: usize,
    /// Thoughts created by this run.
    pub thoughts_created: usize,
}

/// The demo password: read from `file`, or generated and written there.
fn demo_password(file: &Path) -> anyhow::Result<String> {
    if let Ok(text) = std::fs::read_to_string(file) {
        let password = text.trim().to_owned();
        if !password.is_empty() {
            return Ok(password);
        }
    }
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        kit::db::create_private_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let password = format!("demo-{}", uuid::Uuid::new_v4().simple());
    // Owner-only (issue 9): it signs in as every demo account.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(file)
        .and_then(|mut f| f.write_all(password.as_bytes()))
        .with_context(|| format!("cannot write {}", file.display()))?;
    Ok(password)
}

/// Create the demo users and their thoughts unless they exist.
pub async fn seed(users_url: &str, thoughts_url: &str, password_file: &Path) -> anyhow::Result<Report> {
    let password = demo_password(password_file)?;
    let (connect, timeout) = (Duration::from_secs(2), Duration::from_secs(10));
    let outgoing = kit::config::OutgoingConfig::default();
    let users = users_api::Client::new(users_url, connect, timeout, &outgoing)?;
    let thoughts = thoughts_api::Client::new(thoughts_url, connect, timeout, &outgoing)?;
    let mut report = Report::default();
    for (username, texts) in DEMO {
        let credentials = Credentials {
            username: (*username).to_owned(),
            password: password.clone(),
        };
        match users.sign_up(&credentials, None).await {
            Ok(_) => report.users_created += 1,
            Err(ClientError::Status { status: 409, .. }) => {}
            Err(e) => return Err(e).with_context(|| format!("cannot create demo user {username}")),
        }
        let bearer = users
            .login(&credentials, None)
            .await
            .with_context(|| {
                format!(
                    "cannot sign in as demo user {username} (password in {})",
                    password_file.display()
                )
            })?
            .authorized;
        if !thoughts.list_mine(&bearer).await?.is_empty() {
            continue;
        }
        for text in *texts {
            thoughts
                .create(&bearer, text)
                .await
                .with_context(|| format!("cannot post as {username}"))?;
            report.thoughts_created += 1;
        }
    }
    Ok(report)
}

/// Bulk-load `plan.thoughts` synthetic thoughts into the thoughts database
/// that `database` names (the thoughts service's own `DATABASE_*` /
/// `DATABASE_URL` settings), migrating it first if needed. Progress goes to
/// stderr when `progress` is set.
pub async fn bulk(
    database: &kit::config::DatabaseConfig,
    plan: &thoughts::bulk::Plan,
    progress: bool,
) -> anyhow::Result<thoughts::bulk::Loaded> {
    let url = database.url(thoughts::NAME).map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = kit::db::Database::connect_and_migrate(
        thoughts::NAME,
        &url,
        2,
        thoughts::store::MIGRATIONS,
        Duration::from_secs(30),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e:#}"))
    .context("cannot open the thoughts database")?;
    let total = plan.thoughts;
    let loaded = thoughts::bulk::load(&db, plan, |done| {
        if progress {
            eprint!("\r  {done} / {total} thoughts");
        }
    })
    .await;
    if progress {
        eprintln!();
    }
    db.close().await;
    loaded.context("bulk load failed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_demo_password_file_is_owner_only_and_reused() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let file = tmp.path().join("data").join("demo-password.txt");
        let password = demo_password(&file).expect("written");
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&tmp.path().join("data")), 0o700);
        assert_eq!(demo_password(&file).expect("read"), password, "a second run reuses it");
    }
}
