//! Consumer-driven contracts for MyThoughts, in the Pact specification v3
//! file format (dev-dependency only; no business logic).
//!
//! A **consumer** (the frontend, the thoughts service, the book's clients)
//! records, from its own tests, each interaction it relies on: it declares
//! the request it sends and the shape of the response it reads
//! ([`dsl`] matchers: `like`, `each_like`, `term`, ...), and its real client
//! code runs against a mock provider answering that interaction
//! ([`PactBuilder`]). The contract is committed in `contracts/pacts/`; the
//! consumer's test fails when what it records differs from the committed file.
//!
//! A **provider** (users, thoughts) verifies every committed contract that
//! names it, in its own test suite, against itself started alone
//! ([`verify_provider`]); a broken interaction fails naming the consumer,
//! the interaction and the field.
//!
//! Why not the `pact_consumer` / `pact_verifier` crates: see
//! `docs/contracts.md` (`pact_consumer` alone adds 165 crates to the lock,
//! with C builds of Lua and Oniguruma). The files written
//! here are ordinary Pact v3 files that other Pact tools read.

pub mod consumer;
pub mod dsl;
pub mod examples;
pub mod matching;
pub mod pact;
pub mod provider;

pub use consumer::{PactBuilder, RequestSpec, ResponseSpec, pact_dir, workspace_dir};
pub use pact::{Pact, ProviderState};
pub use provider::{Report, Target, verify, verify_provider};
