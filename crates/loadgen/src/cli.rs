//! The command line: our flags, then every goose flag (`--report-file`,
//! `--threshold`, `--test-plan`, `--scenarios`, ...), and the run.

use crate::journeys::{self, JOURNEYS, Run, Target};
use crate::profile::Profile;
use crate::summary;
use crate::thresholds::{self, Limits};
use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser};
use goose::config::GooseConfiguration;
use goose::prelude::*;
use std::time::Duration;

/// Exit code for a bad flag or value (as the services use it).
pub const EXIT_USAGE: i32 = 64;

/// Weighted user journeys against a running MyThoughts (frontend pages and,
/// with --users-url and --thoughts-url, the public APIs), on goose.
///
/// The load follows --profile (ramp, plateau, spike, or a goose test plan);
/// --max-p95-ms, --max-p99-ms and --max-error-rate make the exit code 1 when
/// crossed. The rate limits of the services refuse load from one address
/// long before the machine is busy: see the README for the settings to
/// start the system with.
#[derive(Debug, Parser)]
#[command(name = "mythoughts-loadgen", next_help_heading = "MyThoughts")]
pub struct Cli {
    /// What to load and how.
    #[command(flatten)]
    pub options: Options,
    /// goose's own flags.
    #[command(flatten)]
    pub goose: GooseConfiguration,
}

/// Our flags.
#[derive(Debug, Clone, Args)]
pub struct Options {
    /// The frontend's base URL (goose's --host, when given, wins).
    #[arg(long, env = "LOADGEN_FRONTEND_URL", default_value = "http://127.0.0.1:8000")]
    pub frontend_url: String,
    /// The users service's base URL: with --thoughts-url, adds the api journey.
    #[arg(long, env = "LOADGEN_USERS_URL")]
    pub users_url: Option<String>,
    /// The thoughts service's base URL: with --users-url, adds the api journey.
    #[arg(long, env = "LOADGEN_THOUGHTS_URL")]
    pub thoughts_url: Option<String>,
    /// Load shape: ramp, plateau, spike (scaled by --peak-users and
    /// --duration), or steps as goose's --test-plan takes them, e.g.
    /// "10,30s;10,2m;0,10s". Ignored when goose's --users, --run-time,
    /// --iterations or --test-plan is given.
    #[arg(long, env = "LOADGEN_PROFILE", default_value = "plateau")]
    pub profile: String,
    /// Most users at once in a named profile.
    #[arg(long, env = "LOADGEN_PEAK_USERS", default_value_t = 20)]
    pub peak_users: usize,
    /// Seconds a named profile lasts, start to stop.
    #[arg(long, env = "LOADGEN_DURATION", default_value_t = 60)]
    pub duration: u64,
    /// Journeys and their weights (users are spread in these proportions; 0
    /// leaves one out). The api journey runs only with both API URLs.
    #[arg(long, env = "LOADGEN_MIX", default_value = "reader=6,writer=3,newcomer=1,api=2")]
    pub mix: String,
    /// Pause of each user between two steps, in milliseconds: MIN-MAX
    /// (random in between) or one number.
    #[arg(long, env = "LOADGEN_THINK_MS", default_value = "200-1000")]
    pub think_ms: String,
    /// Fail (exit 1) when the 95th percentile response time of all requests
    /// is above this many milliseconds.
    #[arg(long, env = "LOADGEN_MAX_P95_MS", value_parser = thresholds::parse_millis)]
    pub max_p95_ms: Option<f64>,
    /// Fail (exit 1) when the 99th percentile response time of all requests
    /// is above this many milliseconds.
    #[arg(long, env = "LOADGEN_MAX_P99_MS", value_parser = thresholds::parse_millis)]
    pub max_p99_ms: Option<f64>,
    /// Fail (exit 1) when more than this percentage of requests fail (0: any
    /// failure fails the run, and stops it once the load holds steady).
    #[arg(long, env = "LOADGEN_MAX_ERROR_RATE", value_parser = thresholds::parse_percent)]
    pub max_error_rate: Option<f64>,
    /// Seconds between two progress lines on stderr (0: none).
    #[arg(long, env = "LOADGEN_PROGRESS_SECONDS", default_value_t = 5)]
    pub progress_seconds: u64,
}

/// `reader=6,writer=3` as (journey, weight) pairs; every journey must be known.
pub fn parse_mix(text: &str) -> Result<Vec<(&'static str, usize)>, String> {
    let mut mix: Vec<(&'static str, usize)> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weight) = part
            .split_once('=')
            .ok_or_else(|| format!("--mix: {part:?} is not journey=weight"))?;
        let journey = JOURNEYS
            .iter()
            .find(|j| j.eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| format!("--mix: no journey {name:?}; journeys: {}", JOURNEYS.join(", ")))?;
        let weight: usize = weight
            .trim()
            .parse()
            .map_err(|_| format!("--mix: weight {weight:?} of {journey} is not a whole number"))?;
        if mix.iter().any(|(j, _)| j == journey) {
            return Err(format!("--mix: {journey} is given twice"));
        }
        mix.push((journey, weight));
    }
    mix.retain(|(_, w)| *w > 0);
    if mix.is_empty() {
        return Err("--mix: no journey has a weight above 0".into());
    }
    Ok(mix)
}

/// `200-1000` (or `500`) milliseconds as a (min, max) pause.
pub fn parse_think(text: &str) -> Result<(Duration, Duration), String> {
    let number = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|_| format!("--think-ms: {s:?} is not a whole number of milliseconds"))
    };
    let (min, max) = match text.split_once('-') {
        Some((a, b)) => (number(a)?, number(b)?),
        None => {
            let n = number(text)?;
            (n, n)
        }
    };
    if min > max {
        return Err(format!("--think-ms: {min} is above {max}"));
    }
    Ok((Duration::from_millis(min), Duration::from_millis(max)))
}

/// Whether goose's own flags already shape the load.
fn shaped_by_goose(matches: &clap::ArgMatches) -> bool {
    [
        "users",
        "increase_rate",
        "increase_time",
        "run_time",
        "iterations",
        "test_plan",
    ]
    .iter()
    .any(|id| {
        matches!(
            matches.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    })
}

fn usage(message: impl std::fmt::Display) -> i32 {
    eprintln!("error: {message}");
    EXIT_USAGE
}

/// Parse the command line and run; the process's exit code.
pub async fn main() -> i32 {
    let matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    0
                }
                _ => {
                    let text = e.to_string();
                    eprintln!("{}", text.lines().next().unwrap_or("error: invalid arguments"));
                    EXIT_USAGE
                }
            };
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage(e),
    };
    let o = cli.options;
    let mix = match parse_mix(&o.mix) {
        Ok(mix) => mix,
        Err(e) => return usage(e),
    };
    let think = match parse_think(&o.think_ms) {
        Ok(t) => t,
        Err(e) => return usage(e),
    };
    let profile = if shaped_by_goose(&matches) {
        None
    } else {
        match Profile::parse(&o.profile, o.peak_users, o.duration) {
            Ok(p) => Some(p),
            Err(e) => return usage(format!("--profile: {e}")),
        }
    };
    let limits = Limits {
        p95_ms: o.max_p95_ms,
        p99_ms: o.max_p99_ms,
        error_rate: o.max_error_rate,
    };
    let mut config = cli.goose;
    match limits.rules() {
        Ok(rules) => config.threshold.extend(rules),
        Err(e) => return usage(e),
    }
    // goose's telnet controller (no authentication) only when asked for.
    if config.telnet_host.is_none() && config.telnet_port.is_none() {
        config.no_telnet = true;
    }
    let frontend = config.host.clone().unwrap_or(o.frontend_url);
    config.host = Some(frontend.clone());
    let apis = o.users_url.is_some() && o.thoughts_url.is_some();
    let target = Target {
        frontend,
        users_api: o.users_url,
        thoughts_api: o.thoughts_url,
    };
    let run = match journeys::install(Run::new(target, Duration::from_secs(30))) {
        Ok(run) => run,
        Err(e) => return usage(e),
    };

    let mut attack = match GooseAttack::initialize_with_config(config) {
        Ok(a) => a,
        Err(e) => return usage(e),
    };
    if let Some(p) = &profile {
        attack = match attack.set_default(GooseDefault::TestPlan, p.plan()) {
            Ok(a) => *a,
            Err(e) => return usage(e),
        };
    }
    let mut journeys_run = Vec::new();
    for (name, weight) in mix {
        if name == "api" && !apis {
            continue;
        }
        match journeys::scenario(name, weight, think) {
            Ok(s) => attack = attack.register_scenario(s),
            Err(e) => return usage(e),
        }
        journeys_run.push(format!("{name}={weight}"));
    }
    if journeys_run.is_empty() {
        return usage("--mix leaves nothing to run (the api journey needs --users-url and --thoughts-url)");
    }
    eprintln!(
        "loadgen: run {} against {}; journeys {}; {}",
        run.run_id,
        run.target.frontend,
        journeys_run.join(", "),
        profile
            .as_ref()
            .map_or("load shaped by goose's flags".to_owned(), |p| format!(
                "profile {} ({} users at most, {}s)",
                p.plan(),
                p.peak(),
                p.duration().as_secs()
            )),
    );
    let progress = (o.progress_seconds > 0).then(|| {
        tokio::spawn(crate::progress::report(
            &run.stats,
            profile.clone(),
            Duration::from_secs(o.progress_seconds),
        ))
    });
    let result = attack.execute().await;
    if let Some(p) = progress {
        p.abort();
    }
    let stats = &run.stats;
    let (requests, failures) = (
        stats.requests.load(std::sync::atomic::Ordering::Relaxed),
        stats.failures.load(std::sync::atomic::Ordering::Relaxed),
    );
    let summary = |metrics: &GooseMetrics| {
        println!(
            "\n=== MYTHOUGHTS-LOADGEN SUMMARY (run {}, {} s) ===\n{}",
            run.run_id,
            metrics.duration,
            summary::render(&summary::rows(metrics), metrics.duration as f64)
        );
    };
    match result {
        Ok(metrics) => {
            summary(&metrics);
            let passed = metrics.thresholds.iter().filter(|t| t.passed).count();
            eprintln!(
                "loadgen: done in {:.1}s: {requests} requests, {failures} failed; thresholds: {passed} passed",
                stats.started.elapsed().as_secs_f64()
            );
            0
        }
        Err(GooseError::ThresholdsFailed { failed, metrics }) => {
            summary(&metrics);
            for t in &failed {
                eprintln!("loadgen: FAIL {} (observed {})", t.rule, t.observed);
            }
            eprintln!(
                "loadgen: {requests} requests, {failures} failed; {} threshold(s) crossed",
                failed.len()
            );
            1
        }
        Err(e) => {
            eprintln!("loadgen: error: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixes_name_known_journeys_with_weights() {
        assert_eq!(
            parse_mix("reader=6, writer=3,newcomer=0,API=2").expect("mix"),
            [("reader", 6), ("writer", 3), ("api", 2)]
        );
        for bad in ["reader", "reader=x", "lurker=1", "reader=1,reader=2", "reader=0", ""] {
            assert!(parse_mix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn think_times_are_a_range_or_one_value() {
        let ms = Duration::from_millis;
        assert_eq!(parse_think("200-1000"), Ok((ms(200), ms(1000))));
        assert_eq!(parse_think("0"), Ok((ms(0), ms(0))));
        assert!(parse_think("900-100").is_err());
        assert!(parse_think("fast").is_err());
    }

    #[test]
    fn our_flags_and_gooses_live_on_one_command_line() {
        Cli::command().debug_assert();
        let m = Cli::command()
            .try_get_matches_from([
                "mythoughts-loadgen",
                "--frontend-url",
                "http://127.0.0.1:9",
                "--max-error-rate",
                "0",
                "--report-file",
                "r.html",
                "--test-plan",
                "2,1s;0,1s",
            ])
            .expect("parses");
        assert!(shaped_by_goose(&m), "--test-plan shapes the load itself");
        let cli = Cli::from_arg_matches(&m).expect("cli");
        assert_eq!(cli.options.max_error_rate, Some(0.0));
        assert_eq!(cli.goose.report_file, ["r.html"]);
        let plain = Cli::command()
            .try_get_matches_from(["mythoughts-loadgen"])
            .expect("defaults");
        assert!(!shaped_by_goose(&plain));
        assert!(
            Cli::command()
                .try_get_matches_from(["mythoughts-loadgen", "--max-p99-ms", "-3"])
                .is_err()
        );
    }
}
