//! The fault-injection suite (issue 11): the services run as real
//! processes from the build beside this test (`users-service`,
//! `thoughts-service`, `frontend-service`), on loopback, and each test
//! injects one fault under load, then prints one row of the fault table
//! (`fault-table | fault | injected: … | measured: …`) before it asserts
//! the bounds.
//!
//! The tests are `#[ignore]`d so the README's `cargo nextest run
//! --workspace` stays fast; `.ci/run` runs them as their own step:
//! `cargo nextest run --workspace --run-ignored only --no-fail-fast -E 'binary(faults)' --no-capture`
//! (`--workspace` so the service binaries are built and current;
//! `--no-capture` shows the table and runs the tests one at a time, so their
//! timings do not disturb each other).
//!
//! - `kill_thoughts`: kill -9 thoughts under load through the frontend, restart;
//! - `freeze_users`: SIGSTOP users 10 s under load, SIGCONT (breaker opens and closes);
//! - `postgres_outage`: a private PostgreSQL cluster stopped 10 s under writes;
//! - `write_storm`: kill -9 thoughts in a write storm, on SQLite and PostgreSQL;
//! - `network`: latency, dropped connections and resets through `proxy`;
//! - `full_disk`: a size-limited tmpfs under the SQLite files filled, then freed.

mod freeze_users;
mod full_disk;
mod kill_thoughts;
mod network;
mod postgres_outage;
mod proxy;
mod support;
mod write_storm;
