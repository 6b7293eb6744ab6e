//! `mythoughts-loadgen`: see the crate README.

#[tokio::main]
async fn main() {
    std::process::exit(loadgen::cli::main().await);
}
