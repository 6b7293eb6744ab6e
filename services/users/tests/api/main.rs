//! Black-box API tests of the users service: the real application over a
//! real socket on port 0, a fresh database per test, on SQLite and PostgreSQL.

mod accounts;
mod chassis;
mod contracts;
mod docs;
mod helpers;
mod login;
mod openapi;
mod sessions;
mod spec;
mod wal;
