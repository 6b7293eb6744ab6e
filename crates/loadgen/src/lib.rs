//! `mythoughts-loadgen`: weighted user journeys against a running
//! MyThoughts, built on [goose](https://book.goose.rs).
//!
//! See the crate README for how to run it against each deployment mode
//! and the settings the services need for load from one address.

pub mod cli;
pub mod html;
pub mod journeys;
pub mod profile;
pub mod progress;
pub mod summary;
pub mod thresholds;
