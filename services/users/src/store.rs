//! Database access for accounts. The SQL is the same on both engines
//! (`$n` placeholders work on SQLite too); only the migrations differ.

use chrono::NaiveDateTime;
use kit::db::{Database, Migrations};
use kit::on_pool;
use sqlx::Row;

/// The embedded migrations, applied at start-up.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        (1, "users", include_str!("../migrations/sqlite/0001_users.sql")),
        (3, "sessions", include_str!("../migrations/sqlite/0003_sessions.sql")),
    ],
    postgres: &[
        (1, "users", include_str!("../migrations/postgres/0001_users.sql")),
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

/// Insert an account; `None` when the username is taken.
pub async fn insert_user(
    db: &Database,
    username: &str,
    password_hash: &str,
    is_admin: bool,
) -> Result<Option<UserRow>, sqlx::Error> {
    let now = kit::time::now();
    let result = on_pool!(db, |pool| {
        // `fetch_all`, not `fetch_one` (issue 9): SQLite runs its WAL
        // autocheckpoint only when a statement steps to SQLITE_DONE, and
        // `fetch_one` stops at the returned row, so a run of sign-ups alone
        // never checkpointed the WAL.
        match sqlx::query(INSERT)
            .bind(username)
            .bind(password_hash)
            .bind(now)
            .bind(is_admin)
            .fetch_all(pool)
            .await
            .and_then(|mut rows| rows.pop().ok_or(sqlx::Error::RowNotFound))
        {
            Ok(row) => Ok(user_from_row!(row)),
            Err(e) => Err(e),
        }
    });
    match result {
        Ok(row) => Ok(Some(row)),
        Err(e) if kit::db::is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e),
    }
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
    on_pool!(db, |pool| {
        sqlx::query(UPDATE_ADMIN)
            .bind(id)
            .bind(password_hash)
            .bind(is_admin)
            .execute(pool)
            .await?;
        Ok(())
    })
}
