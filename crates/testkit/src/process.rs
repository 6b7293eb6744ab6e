//! Services run as real processes: start one with JSON logs, learn its
//! ports from its "listening" lines, keep every log line for inspection,
//! send it signals, and hammer it through a shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running service process and everything it has logged so far.
pub struct ServiceProcess {
    child: Child,
    /// Listening ports, in the order the services reported them.
    pub ports: Vec<(String, u16)>,
    lines: Arc<Mutex<Vec<String>>>,
}

impl ServiceProcess {
    /// Start `binary` with `envs` (on top of an empty environment plus PATH)
    /// and wait until `services` "listening" lines have appeared (at most 30 s).
    pub fn start(binary: &str, args: &[&str], envs: &[(&str, &str)], services: usize) -> Self {
        let mut child = Command::new(binary)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LOG_FORMAT", "json")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{binary} starts: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().unwrap_or_else(|p| p.into_inner()).push(line);
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ports = listening(&lines.lock().unwrap_or_else(|p| p.into_inner()));
            if ports.len() >= services {
                return Self { child, ports, lines };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "{binary} exited with {status}: {}",
                    lines.lock().unwrap_or_else(|p| p.into_inner()).join("\n")
                );
            }
            assert!(Instant::now() < deadline, "{binary} did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The port of `service`.
    pub fn port(&self, service: &str) -> u16 {
        self.ports
            .iter()
            .find(|(s, _)| s == service)
            .map(|(_, p)| *p)
            .unwrap_or_else(|| panic!("{service} port"))
    }

    /// Every line logged so far (stdout and stderr).
    pub fn log(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The admin listener's port of `service` (the `admin` field of its
    /// "listening" line).
    pub fn admin_port(&self, service: &str) -> u16 {
        self.log()
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["message"] == "listening" && v["service"] == service)
            .find_map(|v| v["admin"].as_str()?.rsplit(':').next()?.parse().ok())
            .unwrap_or_else(|| panic!("{service} admin port"))
    }

    /// Send SIGTERM.
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Send the signal `name` (`TERM`, `STOP`, `CONT`, ...), as `kill -<name>` does.
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([format!("-{name}"), self.pid().to_string()])
            .status()
            .map(|s| s.success());
        assert_eq!(ok.ok(), Some(true), "kill -{name}");
    }

    /// `kill -9`, and reap the process: when this returns it is gone and
    /// its ports are free.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Wait for the exit (at most `limit`); the exit code, or None if killed.
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listening(lines: &[String]) -> Vec<(String, u16)> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["message"] == "listening")
        .filter_map(|v| {
            let service = v["service"].as_str()?.to_owned();
            let port = v["addr"].as_str()?.rsplit(':').next()?.parse().ok()?;
            Some((service, port))
        })
        .collect()
}

/// What happened to the requests sent through a shutdown.
#[derive(Debug, Default, Clone)]
pub struct DrainReport {
    /// Requests sent.
    pub sent: u64,
    /// Answered with a 2xx.
    pub ok: u64,
    /// Sent before the drain ended, yet not answered with a 2xx.
    pub failed: u64,
    /// Sent after the drain ended and refused or cut (expected).
    pub refused_after_drain: u64,
    /// The first few failures, for the assertion message.
    pub failures: Vec<String>,
    /// Exit code of the process.
    pub exit_code: Option<i32>,
    /// From SIGTERM to exit.
    pub time_to_exit: Duration,
}

/// Hammer `urls` with `concurrency` clients, send SIGTERM once `warm_up`
/// requests have succeeded, keep going until the listener closes, and
/// report. Requests started before `drain` after the signal (less 100 ms
/// for connection set-up) must all succeed.
pub async fn hammer_through_shutdown(
    process: &mut ServiceProcess,
    urls: Vec<String>,
    concurrency: usize,
    warm_up: u64,
    drain: Duration,
) -> DrainReport {
    let report = Arc::new(Mutex::new(DrainReport::default()));
    let signal: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let (report, signal, client, urls) = (report.clone(), signal.clone(), client.clone(), urls.clone());
        workers.push(tokio::spawn(async move {
            let hard_stop = Instant::now() + Duration::from_secs(60);
            let mut i = w;
            while Instant::now() < hard_stop {
                let url = &urls[i % urls.len()];
                i += 1;
                let started = Instant::now();
                let result = client.get(url).send().await;
                let signalled = *signal.lock().unwrap_or_else(|p| p.into_inner());
                let in_drain = signalled.is_none_or(|s| started + Duration::from_millis(100) < s + drain);
                let mut r = report.lock().unwrap_or_else(|p| p.into_inner());
                r.sent += 1;
                match result {
                    Ok(resp) if resp.status().is_success() => r.ok += 1,
                    Ok(resp) => {
                        r.failed += 1;
                        r.failures.push(format!("{url}: status {}", resp.status()));
                    }
                    Err(_) if !in_drain => {
                        r.refused_after_drain += 1;
                        return;
                    }
                    Err(e) => {
                        r.failed += 1;
                        if r.failures.len() < 10 {
                            r.failures.push(format!("{url}: {e}"));
                        }
                    }
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while report.lock().unwrap_or_else(|p| p.into_inner()).ok < warm_up {
        assert!(Instant::now() < deadline, "warm-up did not finish");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let signalled_at = Instant::now();
    *signal.lock().unwrap_or_else(|p| p.into_inner()) = Some(signalled_at);
    process.terminate();
    let exit = tokio::task::block_in_place(|| process.wait(Duration::from_secs(40)));
    let time_to_exit = signalled_at.elapsed();
    for w in workers {
        let _ = w.await;
    }
    let mut r = report.lock().unwrap_or_else(|p| p.into_inner()).clone();
    r.exit_code = exit;
    r.time_to_exit = time_to_exit;
    r
}
