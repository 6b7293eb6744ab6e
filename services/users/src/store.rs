//! Database access for accounts. The SQL is the same on both engines
//! (`$n` placeholders work on SQLite too); only the migrations differ.

use crate::domain::look_alike_key;
use chrono::NaiveDateTime;
use kit::db::{Database, Migrations};
use kit::{on_pool, on_writer};
use sqlx::Row;

/// The embedded migrations, applied at start-up.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        (1, "users", include_str!("../migrations/sqlite/0001_users.sql")),
        (
            2,
            "username keys",
            include_str!("../migrations/sqlite/0002_username_keys.sql"),
        ),
        (3, "sessions", include_str!("../migrations/sqlite/0003_sessions.sql")),
    ],
    postgres: &[
        (1, "users", include_str!("../migrations/postgres/0001_users.sql")),
        (
            2,
            "username keys",
            include_str!("../migrations/postgres/0002_username_keys.sql"),
        ),
        (3, "sessions", include_str!("../migrations/postgres/0003_sessions.sql")),
    ],
};

/// An account as stored.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// Primary key.
    pub id: i64,
    /// Unique username.
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Creation time, UTC.
    pub creation: NaiveDateTime,
    /// Administrator flag.
    pub is_admin: bool,
}

impl From<UserRow> for users_api::User {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            username: row.username,
            creation: row.creation,
        }
    }
}

macro_rules! user_from_row {
    ($row:expr) => {
        UserRow {
            id: $row.try_get("id")?,
            username: $row.try_get("username")?,
            password_hash: $row.try_get("password_hash")?,
            creation: $row.try_get("creation")?,
            is_admin: $row.try_get("is_admin")?,
        }
    };
}

const INSERT: &str = "insert into users (username, password_hash, creation, is_admin) values ($1, $2, $3, $4) \
     returning id, username, password_hash, creation, is_admin";
const FIND: &str = "select id, username, password_hash, creation, is_admin from users where username = $1";
const UPDATE_ADMIN: &str = "update users set password_hash = $2, is_admin = $3 where id = $1";

const INSERT_KEY: &str = "insert into username_keys (name_key, user_id) values ($1, $2)";
const KEY_TAKEN: &str = "select 1 from username_keys where name_key = $1";
/// Accounts without a key, in id order from a cursor: the backfill's page.
const WITHOUT_KEY: &str = "select id, username from users u where id > $1 \
     and not exists (select 1 from username_keys k where k.user_id = u.id) order by id limit $2";
/// `on conflict do nothing`: a key already held (by an older account, or
/// written by another replica backfilling at the same time) stays with its holder.
const BACKFILL_KEY: &str = "insert into username_keys (name_key, user_id) values ($1, $2) on conflict do nothing";

/// Accounts read per backfill page (one transaction each).
const BACKFILL_PAGE: i64 = 500;

/// Insert an account and its look-alike key in one transaction; `None` when
/// the username, or a name that looks like it ([`look_alike_key`]), is taken.
pub async fn insert_user(
    db: &Database,
    username: &str,
    password_hash: &str,
    is_admin: bool,
) -> Result<Option<UserRow>, sqlx::Error> {
    let now = kit::time::now();
    let key = look_alike_key(username);
    let result = kit::in_transaction!(db, |tx| {
        // `fetch_all`, not `fetch_one` (issue 9): SQLite runs its WAL
        // autocheckpoint only when a statement steps to SQLITE_DONE, and
        // `fetch_one` stops at the returned row, so a run of sign-ups alone
        // never checkpointed the WAL.
        let inserted = sqlx::query(INSERT)
            .bind(username)
            .bind(password_hash)
            .bind(now)
            .bind(is_admin)
            .fetch_all(&mut *tx)
            .await
            .and_then(|mut rows| rows.pop().ok_or(sqlx::Error::RowNotFound));
        match inserted {
            Ok(row) => {
                let user = user_from_row!(row);
                // The key's primary key settles a race between two look-alikes;
                // dropping `tx` on an error rolls the account back.
                sqlx::query(INSERT_KEY)
                    .bind(&key)
                    .bind(user.id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(user)
            }
            Err(e) => Err(e),
        }
    });
    match result {
        Ok(row) => Ok(Some(row)),
        Err(e) if kit::db::is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// True when an account already holds `username`'s look-alike key.
pub async fn look_alike_taken(db: &Database, username: &str) -> Result<bool, sqlx::Error> {
    let key = look_alike_key(username);
    on_pool!(db, |conn| {
        Ok(sqlx::query(KEY_TAKEN).bind(&key).fetch_optional(conn).await?.is_some())
    })
}

/// Give every account that has no look-alike key yet its key: those created
/// before migration 0002, or by an older replica during a rolling upgrade.
/// Run at start-up; idempotent, and bounded (accounts are read in id order,
/// [`BACKFILL_PAGE`] at a time, each page in one transaction, so every
/// account is visited at most once per run).
///
/// Pre-existing look-alikes (`alice` and `Alice`, both created before the
/// rule) cannot both hold their shared key: the oldest account (lowest id)
/// gets it and the others stay without one. They keep signing in, since login
/// uses the exact username, and no new look-alike can be created because the
/// key is held. Renaming or merging such accounts is an operator's decision,
/// so each one is logged rather than changed. Returns the number of keys written.
pub async fn backfill_look_alike_keys(db: &Database) -> Result<u64, sqlx::Error> {
    let mut cursor = 0_i64;
    let mut written = 0_u64;
    loop {
        let last: Option<i64> = kit::in_transaction!(db, |tx| {
            let rows = sqlx::query(WITHOUT_KEY)
                .bind(cursor)
                .bind(BACKFILL_PAGE)
                .fetch_all(&mut *tx)
                .await?;
            let mut last = None;
            for row in rows {
                let id: i64 = row.try_get("id")?;
                let username: String = row.try_get("username")?;
                let done = sqlx::query(BACKFILL_KEY)
                    .bind(look_alike_key(&username))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    tracing::warn!(
                        event = "look_alike_account",
                        user_id = id,
                        username = %username,
                        "an account created before look-alike checks resembles an older one; both keep working"
                    );
                } else {
                    written += 1;
                }
                last = Some(id);
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(last)
        })?;
        match last {
            Some(id) => cursor = id,
            None => break,
        }
    }
    if written > 0 {
        tracing::info!(
            event = "look_alike_keys_backfilled",
            written,
            "look-alike keys written for existing accounts"
        );
    }
    Ok(written)
}

/// Find an account by exact username.
pub async fn find_user(db: &Database, username: &str) -> Result<Option<UserRow>, sqlx::Error> {
    on_pool!(db, |pool| {
        match sqlx::query(FIND).bind(username).fetch_optional(pool).await? {
            Some(row) => Ok(Some(user_from_row!(row))),
            None => Ok(None),
        }
    })
}

/// Set an account's password hash and administrator flag.
pub async fn update_admin(db: &Database, id: i64, password_hash: &str, is_admin: bool) -> Result<(), sqlx::Error> {
    on_writer!(db, |pool| {
        sqlx::query(UPDATE_ADMIN)
            .bind(id)
            .bind(password_hash)
            .bind(is_admin)
            .execute(pool)
            .await?;
        Ok(())
    })
}
