//! The service chassis shared by every MyThoughts service.
//!
//! It owns the plumbing that is the same everywhere: configuration helpers
//! (exit code 64 on bad configuration), structured logging, the HTTP server
//! bootstrap (request ids, trailing slashes, body limits, health, readiness,
//! version, metrics, OpenAPI docs, graceful shutdown), the JSON error body, the
//! request parameter extractor (form, JSON or query string) and the database
//! connection for SQLite and PostgreSQL.
//!
//! It owns no business logic and no schema: each service brings its own
//! routes, migrations and error type.

pub mod client;
pub mod config;
pub mod db;
pub mod error;
pub mod input;
pub mod server;
pub mod telemetry;
pub mod time;

pub use error::{ErrorBody, error_response, validation_response};
pub use input::Params;
