//! Tests of the chassis itself, with a tiny service: router tests with
//! `oneshot` on `Server::router`, and lifecycle tests over a real socket on
//! port 0.

mod client;
mod helpers;
mod input;
mod lifecycle;
mod middleware;
mod ops;
mod slow_clients;
mod transactions;
