//! Database access for revocable sessions: one row per refresh token, kept
//! as its SHA-256 only. The SQL is the same on both engines.

use chrono::NaiveDateTime;
use kit::db::Database;
use kit::on_writer;
use sqlx::Row;

/// A live session, as a refresh finds it.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// The `sid` claim of its tokens, the same for the whole session.
    pub session_id: String,
    /// Whose session.
    pub username: String,
    /// When the session ends at the latest (UTC).
    pub expires: NaiveDateTime,
}

/// What presenting a refresh token found.
#[derive(Debug, Clone)]
pub enum Rotation {
    /// It was live: it is revoked now and the new one replaces it.
    Rotated(SessionRow),
    /// It had been revoked already (rotated or signed out): someone is
    /// replaying an old token, so every token of its session is revoked.
    Replayed {
        /// The session that was ended.
        session_id: String,
    },
    /// Unknown or expired.
    Unknown,
}

const DELETE_EXPIRED: &str = "delete from sessions where expires <= $1";
const INSERT: &str = "insert into sessions (token_hash, session_id, username, created, expires) \
     values ($1, $2, $3, $4, $5)";
// One statement revokes and reads the old row, so of two refreshes racing
// with the same token only one gets it back.
const REVOKE_ONE: &str = "update sessions set revoked = $2 \
     where token_hash = $1 and revoked is null and expires > $2 \
     returning session_id, username, expires";
const FIND_REVOKED: &str = "select session_id from sessions where token_hash = $1 and revoked is not null";
const REVOKE_SESSION: &str = "update sessions set revoked = $2 where session_id = $1 and revoked is null";
const SESSION_OF: &str = "select session_id from sessions where token_hash = $1";

/// Start a session: store the hash of its first refresh token (and drop
/// rows that have expired, so the table does not grow without bound).
pub async fn insert_session(
    db: &Database,
    token_hash: &str,
    session_id: &str,
    username: &str,
    expires: NaiveDateTime,
) -> Result<(), sqlx::Error> {
    let now = kit::time::now();
    on_writer!(db, |conn| {
        sqlx::query(DELETE_EXPIRED).bind(now).execute(&mut *conn).await?;
        sqlx::query(INSERT)
            .bind(token_hash)
            .bind(session_id)
            .bind(username)
            .bind(now)
            .bind(expires)
            .execute(&mut *conn)
            .await?;
        Ok(())
    })
}

/// Exchange the refresh token hashed `old_hash` for the one hashed
/// `new_hash`, in one transaction: the old one is revoked, the new one
/// belongs to the same session and ends when it does.
pub async fn rotate(db: &Database, old_hash: &str, new_hash: &str) -> Result<Rotation, sqlx::Error> {
    let now = kit::time::now();
    kit::in_transaction!(db, |tx| {
        // `fetch_all`: see `store::insert_user` (SQLite checkpoints only
        // when a statement runs to completion).
        let revoked = sqlx::query(REVOKE_ONE)
            .bind(old_hash)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
        let rotation = match revoked.first() {
            Some(row) => {
                let session = SessionRow {
                    session_id: row.try_get("session_id")?,
                    username: row.try_get("username")?,
                    expires: row.try_get("expires")?,
                };
                sqlx::query(INSERT)
                    .bind(new_hash)
                    .bind(&session.session_id)
                    .bind(&session.username)
                    .bind(now)
                    .bind(session.expires)
                    .execute(&mut *tx)
                    .await?;
                Rotation::Rotated(session)
            }
            None => match sqlx::query(FIND_REVOKED)
                .bind(old_hash)
                .fetch_optional(&mut *tx)
                .await?
            {
                Some(row) => {
                    let session_id: String = row.try_get("session_id")?;
                    sqlx::query(REVOKE_SESSION)
                        .bind(&session_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    Rotation::Replayed { session_id }
                }
                None => Rotation::Unknown,
            },
        };
        tx.commit().await?;
        Ok(rotation)
    })
}

/// End the session of the refresh token hashed `token_hash`: every token
/// of it is revoked. `false` when the token is unknown.
pub async fn revoke_session(db: &Database, token_hash: &str) -> Result<bool, sqlx::Error> {
    let now = kit::time::now();
    on_writer!(db, |conn| {
        let Some(row) = sqlx::query(SESSION_OF)
            .bind(token_hash)
            .fetch_optional(&mut *conn)
            .await?
        else {
            return Ok(false);
        };
        let session_id: String = row.try_get("session_id")?;
        sqlx::query(REVOKE_SESSION)
            .bind(&session_id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        Ok(true)
    })
}
