//! Black-box API tests of the thoughts service: the real application over a
//! real socket on port 0, a fresh database per test, on SQLite and
//! PostgreSQL. Tokens are minted here with `jsonwebtoken`, independently of
//! the service's own code.

mod admin;
mod admission;
mod auth;
mod bulk;
mod contracts;
mod docs;
mod helpers;
mod lifecycle;
mod openapi;
mod paging;
mod posting;
mod replicas;
mod search;
mod spec;
mod storage;
mod thoughts;
mod validators;
mod wal;
