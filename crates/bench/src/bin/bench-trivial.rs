//! A trivial axum handler: `GET /` answers `ok`. The baseline that every
//! endpoint's throughput in BENCHMARKS.md is divided by.
//!
//! `bench-trivial [--port N] [--host ADDR]` (default 127.0.0.1:8099); prints
//! `listening on ADDR` once it accepts connections.

use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("bench-trivial [--port N] [--host ADDR]: GET / answers `ok` (a baseline for bench/run)");
        return;
    }
    let host = bench::flag(&args, "--host").unwrap_or("127.0.0.1").to_owned();
    let port = match bench::number(&args, "--port", 8099u16) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("bench-trivial: {e}");
            std::process::exit(64);
        }
    };
    let app = Router::new().route("/", get(|| async { "ok" }));
    let listener = match tokio::net::TcpListener::bind((host.as_str(), port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bench-trivial: cannot listen on {host}:{port}: {e}");
            std::process::exit(1);
        }
    };
    if let Ok(addr) = listener.local_addr() {
        println!("listening on {addr}");
    }
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("bench-trivial: {e}");
        std::process::exit(1);
    }
}
