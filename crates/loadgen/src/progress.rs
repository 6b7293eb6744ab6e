//! The live progress line on stderr.
//!
//! On a terminal one line is rewritten in place every interval; otherwise
//! (CI logs) a line is printed each interval.

use crate::journeys::Stats;
use crate::profile::Profile;
use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// What one progress line shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    /// Time since the run started.
    pub elapsed: Duration,
    /// The profile's whole length, when known.
    pub planned: Option<Duration>,
    /// Users the profile has running now, when known.
    pub users: Option<usize>,
    /// Requests so far.
    pub requests: u64,
    /// Requests per second since the previous line.
    pub rate: f64,
    /// Failed requests so far.
    pub failures: u64,
}

impl Snapshot {
    /// The line, e.g. `[  12s/60s] users 8 | 1234 requests, 98.5/s | 0 failed`.
    pub fn line(&self) -> String {
        let elapsed = self.elapsed.as_secs();
        let time = match self.planned {
            Some(total) => format!("[{elapsed:>4}s/{}s]", total.as_secs()),
            None => format!("[{elapsed:>4}s]"),
        };
        let users = self.users.map(|u| format!(" users {u:>4} |")).unwrap_or_default();
        format!(
            "{time}{users} {} requests, {:.1}/s | {} failed",
            self.requests, self.rate, self.failures
        )
    }
}

/// Print a progress line every `every` until the task is dropped or aborted.
pub async fn report(stats: &'static Stats, profile: Option<Profile>, every: Duration) {
    let terminal = std::io::stderr().is_terminal();
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await; // the first tick is immediate
    let mut last = (stats.started.elapsed(), 0u64);
    loop {
        ticker.tick().await;
        let elapsed = stats.started.elapsed();
        let requests = stats.requests.load(Ordering::Relaxed);
        let window = (elapsed - last.0).as_secs_f64();
        let rate = if window > 0.0 {
            (requests - last.1) as f64 / window
        } else {
            0.0
        };
        last = (elapsed, requests);
        let snapshot = Snapshot {
            elapsed,
            planned: profile.as_ref().map(Profile::duration),
            users: profile.as_ref().map(|p| p.users_at(elapsed)),
            requests,
            rate,
            failures: stats.failures.load(Ordering::Relaxed),
        };
        let mut err = std::io::stderr().lock();
        let _ = if terminal {
            write!(err, "\r{:<78}", snapshot.line())
        } else {
            writeln!(err, "{}", snapshot.line())
        };
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_time_users_requests_and_failures() {
        let mut s = Snapshot {
            elapsed: Duration::from_millis(12_400),
            planned: Some(Duration::from_secs(60)),
            users: Some(8),
            requests: 1234,
            rate: 98.46,
            failures: 0,
        };
        assert_eq!(s.line(), "[  12s/60s] users    8 | 1234 requests, 98.5/s | 0 failed");
        s.planned = None;
        s.users = None;
        s.failures = 3;
        assert_eq!(s.line(), "[  12s] 1234 requests, 98.5/s | 3 failed");
    }
}
