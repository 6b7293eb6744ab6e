//! `mythoughts`: run MyThoughts on one machine, make keys, load demo data.

use clap::{Parser, Subcommand};
use mythoughts::{keys, seed, up};
use std::path::PathBuf;

/// MyThoughts, all in one process (`up`, the default) and its tools.
///
/// Every service also reads its usual environment variables (for example
/// ADMIN_USERNAME and ADMIN_PASSWORD for the users service); see
/// `users-service --help`, `thoughts-service --help`, `frontend-service --help`.
#[derive(Debug, Parser)]
#[command(name = "mythoughts", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    up: up::UpArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run users, thoughts and frontend in one process (the default).
    Up(up::UpArgs),
    /// Write a new RSA key pair (private_key.pem, public_key.pub).
    Keys {
        /// Directory to write into.
        #[arg(long)]
        out: PathBuf,
        /// Replace an existing key pair.
        #[arg(long)]
        force: bool,
    },
    /// Load demo users and thoughts through the public APIs (idempotent), or
    /// with --thoughts N bulk-load N synthetic thoughts straight into the
    /// thoughts database (the thoughts service's DATABASE_* / DATABASE_URL
    /// settings) for benchmarks at scale.
    ///
    /// Bulk-loaded thoughts are by author1 … authorK (author1 the most
    /// prolific), 4–30 words of a built-in list with a Zipf distribution,
    /// timestamps increasing with the id up to now; one in 10,000 contains
    /// "zebrafish". They are added to what the database holds already.
    Seed {
        /// Users service base URL.
        #[arg(long, env = "USER_BACKEND_URL", default_value = "http://127.0.0.1:8001")]
        users_url: String,
        /// Thoughts service base URL.
        #[arg(long, env = "THOUGHTS_BACKEND_URL", default_value = "http://127.0.0.1:8002")]
        thoughts_url: String,
        /// File holding the demo users' password (generated on first run).
        #[arg(long, default_value = "./data/demo-password.txt")]
        password_file: PathBuf,
        /// Bulk-load this many synthetic thoughts instead of the demo data.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
        thoughts: Option<u64>,
        /// Distinct authors of the bulk-loaded thoughts (with --thoughts).
        #[arg(long, default_value_t = 100, requires = "thoughts", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        authors: u32,
        /// Seed of the bulk-loaded texts: the same seed, the same texts (with --thoughts).
        #[arg(long, default_value_t = 1, requires = "thoughts")]
        text_seed: u64,
        /// The thoughts database (with --thoughts).
        #[command(flatten)]
        database: kit::config::DatabaseConfig,
    },
}

/// Telemetry settings (OTEL_*) as a service would read them, with `format`.
fn telemetry_config(server: &kit::config::ServerConfig, format: kit::config::LogFormat) -> kit::config::ServerConfig {
    kit::config::ServerConfig {
        log_format: format,
        ..server.clone()
    }
}

async fn run_up(mut args: up::UpArgs) -> i32 {
    if args.healthcheck {
        return if args.healthy().await { 0 } else { 1 };
    }
    // The services' own variables, read once; `up` then sets what it owns.
    args.settings = match up::Settings::from_environment() {
        Ok(settings) => std::sync::Arc::new(settings),
        Err(e) => {
            eprintln!("error: {e}");
            return kit::config::EXIT_CONFIG;
        }
    };
    let telemetry = telemetry_config(&args.settings.frontend.server, args.log_format());
    let _telemetry = kit::telemetry::init("mythoughts", &telemetry);
    let shutdown = kit::lifecycle::shutdown_on_signals();
    let second_signal = shutdown.clone();
    tokio::spawn(async move {
        second_signal.cancelled().await;
        eprintln!("\n  stopping: draining requests (Ctrl-C again to stop at once)");
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
    let system = match up::start(&args, shutdown.clone()).await {
        Ok(system) => system,
        Err(kit::config::StartupError::Config(message)) => {
            eprintln!("error: {message}");
            return kit::config::EXIT_CONFIG;
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.to_string().contains("already in use") {
                eprintln!("hint: another program uses that port; pick another base port with --port");
            }
            return 1;
        }
    };
    let urls = system.urls.clone();
    println!();
    match &urls.frontend {
        Some(url) => println!("  MyThoughts is up: open {url}/"),
        None => println!("  MyThoughts backends are up"),
    }
    // Admin listeners: metrics, and the backends' API docs.
    for (name, admin) in &urls.admin {
        match *name {
            "frontend" => println!("  {name} admin: {admin}/metrics"),
            _ => println!("  {name} admin: {admin}/metrics, API docs {admin}/docs/"),
        }
    }
    println!("  Ctrl-C to stop.\n");
    if args.demo {
        match seed::seed(&urls.users, &urls.thoughts, &args.data_dir.join("demo-password.txt")).await {
            Ok(r) => println!(
                "  demo data: {} users and {} thoughts added; users ada, grace, margaret, linus, password in {}\n",
                r.users_created,
                r.thoughts_created,
                args.data_dir.join("demo-password.txt").display()
            ),
            Err(e) => eprintln!("demo data not loaded: {e:#}"),
        }
    }
    match system.wait().await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

/// The shared server settings alone, for `seed`'s telemetry.
#[derive(Parser)]
struct Telemetry {
    #[command(flatten)]
    server: kit::config::ServerConfig,
}

#[tokio::main]
async fn main() {
    let cli: Cli = kit::config::parse_or_exit();
    let code = match cli.command {
        None => run_up(cli.up).await,
        Some(Command::Up(args)) => run_up(args).await,
        Some(Command::Keys { out, force }) => match keys::write_pair(&out, force) {
            Ok((private, public)) => {
                println!("wrote {} and {}", private.display(), public.display());
                0
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                1
            }
        },
        Some(Command::Seed {
            thoughts: Some(thoughts),
            authors,
            text_seed,
            database,
            ..
        }) => {
            let plan = thoughts::bulk::Plan {
                thoughts,
                authors,
                seed: text_seed,
            };
            match seed::bulk(&database, &plan, true).await {
                Ok(loaded) => {
                    println!(
                        "{} thoughts by {} authors loaded in {:.1} s ({:.1} s inserting, {:.1} s indexing): {:.0} thoughts/s",
                        loaded.thoughts,
                        authors,
                        (loaded.insert + loaded.finish).as_secs_f64(),
                        loaded.insert.as_secs_f64(),
                        loaded.finish.as_secs_f64(),
                        loaded.rows_per_second()
                    );
                    0
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    1
                }
            }
        }
        Some(Command::Seed {
            users_url,
            thoughts_url,
            password_file,
            ..
        }) => {
            let server: kit::config::ServerConfig =
                match kit::config::assemble::<Telemetry>(kit::config::Source::Environment) {
                    Ok(t) => t.server,
                    Err(e) => {
                        eprintln!("{}", kit::config::first_line(&e));
                        std::process::exit(kit::config::EXIT_CONFIG);
                    }
                };
            let _telemetry =
                kit::telemetry::init("mythoughts", &telemetry_config(&server, kit::config::LogFormat::Pretty));
            match seed::seed(&users_url, &thoughts_url, &password_file).await {
                Ok(r) => {
                    println!("{} users and {} thoughts added", r.users_created, r.thoughts_created);
                    0
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    1
                }
            }
        }
    };
    std::process::exit(code);
}
