//! Baselines that `bench/run` measures beside the services, in the same run:
//!
//! - `bench-trivial`: a plain axum handler returning a short body, on the
//!   same tokio, axum and hyper as the services; what a request costs when
//!   the handler does nothing.
//! - `bench-argon2`: how many argon2id verifications per second the machine
//!   does on N threads, with the parameters of a hash the users service
//!   produced; the bound of the login throughput.
//!
//! Neither depends on a service crate.

use std::time::Duration;

/// The value of `--name VALUE` in `args`, if given.
pub fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// Parse `--name VALUE` as a number, or `default` when absent.
pub fn number<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, String> {
    match flag(args, name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| format!("{name}: not a number: {v}")),
    }
}

/// The number of CPUs this process may use (2 when unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(2)
}

/// Verifications per second of `count` verifications done in `elapsed`.
pub fn rate(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flags_are_read_by_name() {
        let a = args(&["--threads", "3", "--hash", "$argon2id$x"]);
        assert_eq!(flag(&a, "--hash"), Some("$argon2id$x"));
        assert_eq!(number(&a, "--threads", 1usize), Ok(3));
        assert_eq!(number(&a, "--seconds", 5u64), Ok(5));
        assert!(number::<u64>(&args(&["--seconds", "x"]), "--seconds", 5).is_err());
        assert_eq!(flag(&args(&["--hash"]), "--hash"), None);
    }

    #[test]
    fn rate_is_count_over_time() {
        assert_eq!(rate(10, Duration::from_secs(2)), 5.0);
        assert_eq!(rate(10, Duration::ZERO), 0.0);
    }
}
