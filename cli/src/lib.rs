//! `mythoughts`: the launcher and tools of MyThoughts.
//!
//! `up` runs every service in one process — still talking HTTP over
//! loopback, with the same code as the separate binaries — for a laptop or a
//! small team. `keys` writes a key pair, `seed` loads demo data through the
//! public APIs. This crate is the only one that links the service libraries.

pub mod keys;
pub mod seed;
pub mod up;
