//! The service chassis shared by every MyThoughts service.
//!
//! It owns the plumbing that is the same everywhere: configuration helpers
//! (`config`: exit code 64 on bad configuration), structured logs and traces
//! (`telemetry`), the process-wide Prometheus recorder and the chassis
//! metrics (`metrics`), the HTTP server bootstrap (`server`: a `Service`
//! bound and served with graceful shutdown), the operational endpoints
//! (`ops`: health, readiness, version, metrics, OpenAPI docs), the request
//! middleware (`middleware`: request ids, access log, RED metrics, trailing
//! slashes, body limits, panics, JSON errors), a service binary's life
//! (`lifecycle`: `run_main`, the container health check, shutdown signals),
//! the JSON error body (`error`), the request parameter extractor (`input`:
//! form, JSON or query string), the client's address behind trusted proxies
//! (`address`), the outgoing HTTP client (`client`), wire
//! timestamps (`time`) and the database connection for SQLite and
//! PostgreSQL (`db`).
//!
//! It owns no business logic and no schema: each service brings its own
//! routes, messages, business metrics, migrations and error type.

pub mod address;
pub mod client;
pub mod config;
mod connection;
pub mod db;
pub mod error;
pub mod input;
pub mod lifecycle;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod ops;
pub mod server;
pub mod telemetry;
pub mod time;

pub use error::{ErrorBody, error_response, validation_response};
pub use input::Params;
