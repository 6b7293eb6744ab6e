-- Revocable sessions (issue 9, finding 8): one row per refresh token.
-- Only the SHA-256 of a token is stored, so a copy of the database signs
-- no one in. A rotation revokes the old row and adds a new one with the
-- same session_id (the `sid` claim of the short tokens) and expiry.
create table sessions (
    id integer primary key autoincrement,
    token_hash text not null unique,  -- lower-case hex SHA-256 of the refresh token
    session_id text not null,         -- stable for the whole session, across rotations
    username text not null references users (username) on delete cascade,
    created text not null,            -- UTC
    expires text not null,            -- UTC; a rotation keeps it: sessions end at the latest then
    revoked text                      -- UTC; null while the token may refresh
);
create index sessions_session_id on sessions (session_id);
create index sessions_expires on sessions (expires); -- expired rows are deleted at sign-in
