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
    /// Load demo users and thoughts through the public APIs (idempotent).
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
    },
}

/// Telemetry settings from the environment (OTEL_*), with `up`'s log format.
fn telemetry_config(format: kit::config::LogFormat) -> kit::config::ServerConfig {
    #[derive(Parser)]
    struct FromEnv {
        #[command(flatten)]
        server: kit::config::ServerConfig,
    }
    let mut config = FromEnv::try_parse_from(["mythoughts"])
        .map(|f| f.server)
        .unwrap_or_else(|_| kit::config::ServerConfig::local(0));
    config.log_format = format;
    config
}

async fn run_up(args: up::UpArgs) -> i32 {
    if args.healthcheck {
        return if args.healthy().await { 0 } else { 1 };
    }
    let _telemetry = kit::telemetry::init("mythoughts", &telemetry_config(args.log_format()));
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
    println!("  users API:    {}/docs/", urls.users);
    println!("  thoughts API: {}/docs/", urls.thoughts);
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
            users_url,
            thoughts_url,
            password_file,
        }) => {
            let _telemetry = kit::telemetry::init("mythoughts", &telemetry_config(kit::config::LogFormat::Pretty));
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
