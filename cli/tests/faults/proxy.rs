//! A small TCP fault proxy on loopback, between the frontend and a backend:
//! it forwards bytes both ways and, as told at run time, delays requests,
//! drops connections when a request arrives, or resets them halfway through
//! a response. It counts what it saw and what it did.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to each request, changed while it runs.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// Added before a request is forwarded, in milliseconds.
    pub(crate) delay_ms: AtomicU64,
    /// Percentage of requests whose connection is closed instead of
    /// forwarded (nothing reaches the backend).
    pub(crate) drop_percent: AtomicU64,
    /// Percentage of requests whose response is cut halfway by a TCP reset
    /// (the backend did the work).
    pub(crate) reset_percent: AtomicU64,
}

/// What the proxy saw and did.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Connections accepted.
    pub(crate) connections: AtomicU64,
    /// Requests seen (the first bytes of a request on a connection), all paths.
    pub(crate) requests: AtomicU64,
    /// Requests seen for `/api/` paths (the calls a page makes; not the
    /// frontend's version polls).
    pub(crate) api_requests: AtomicU64,
    /// Requests carrying an `x-request-id` already seen: retries (the
    /// frontend forwards its page's request id on every attempt).
    pub(crate) repeated: AtomicU64,
    /// Requests without an `x-request-id` (the frontend's version polls).
    pub(crate) anonymous: AtomicU64,
    ids: Mutex<HashSet<Vec<u8>>>,
    /// Connections dropped on a request.
    pub(crate) dropped: AtomicU64,
    /// Responses cut by a reset.
    pub(crate) reset: AtomicU64,
    /// Requests delayed.
    pub(crate) delayed: AtomicU64,
}

/// A snapshot of [`Counts`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) connections: u64,
    pub(crate) requests: u64,
    pub(crate) api_requests: u64,
    pub(crate) repeated: u64,
    pub(crate) anonymous: u64,
    pub(crate) dropped: u64,
    pub(crate) reset: u64,
    pub(crate) delayed: u64,
}

impl std::ops::Sub for Seen {
    type Output = Seen;
    fn sub(self, o: Seen) -> Seen {
        Seen {
            connections: self.connections - o.connections,
            requests: self.requests - o.requests,
            api_requests: self.api_requests - o.api_requests,
            repeated: self.repeated - o.repeated,
            anonymous: self.anonymous - o.anonymous,
            dropped: self.dropped - o.dropped,
            reset: self.reset - o.reset,
            delayed: self.delayed - o.delayed,
        }
    }
}

/// The running proxy; stops accepting when dropped.
pub(crate) struct FaultProxy {
    /// Its port on 127.0.0.1.
    pub(crate) port: u16,
    /// Set these to inject faults.
    pub(crate) faults: Arc<Faults>,
    counts: Arc<Counts>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Listen on a free loopback port and forward to `127.0.0.1:upstream`.
    pub(crate) async fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let port = listener.local_addr().expect("addr").port();
        let faults = Arc::new(Faults::default());
        let counts = Arc::new(Counts::default());
        let (f, c) = (faults.clone(), counts.clone());
        let task = tokio::spawn(async move {
            // Bounded: no test opens this many connections.
            for _ in 0..100_000 {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                c.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(relay(client, upstream, f.clone(), c.clone()));
            }
        });
        Self {
            port,
            faults,
            counts,
            task,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What it has seen so far.
    pub(crate) fn seen(&self) -> Seen {
        let c = &self.counts;
        Seen {
            connections: c.connections.load(Ordering::SeqCst),
            requests: c.requests.load(Ordering::SeqCst),
            api_requests: c.api_requests.load(Ordering::SeqCst),
            repeated: c.repeated.load(Ordering::SeqCst),
            anonymous: c.anonymous.load(Ordering::SeqCst),
            dropped: c.dropped.load(Ordering::SeqCst),
            reset: c.reset.load(Ordering::SeqCst),
            delayed: c.delayed.load(Ordering::SeqCst),
        }
    }

    /// Set the delay (ms), drop and reset percentages at once.
    pub(crate) fn set(&self, delay_ms: u64, drop_percent: u64, reset_percent: u64) {
        self.faults.delay_ms.store(delay_ms, Ordering::SeqCst);
        self.faults.drop_percent.store(drop_percent, Ordering::SeqCst);
        self.faults.reset_percent.store(reset_percent, Ordering::SeqCst);
    }
}

/// A deterministic choice: request number `n` is hit `percent` % of the
/// time (a multiplicative hash spreads the hits).
fn hit(n: u64, percent: u64) -> bool {
    percent > 0 && (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % 100 < percent
}

/// The `x-request-id` header of a request head (reqwest sends header names
/// in lower case).
fn request_id(head: &[u8]) -> Option<&[u8]> {
    let name = b"\r\nx-request-id:";
    let start = head.windows(name.len()).position(|w| w.eq_ignore_ascii_case(name))? + name.len();
    let rest = &head[start..];
    let end = rest.windows(2).position(|w| w == b"\r\n").unwrap_or(rest.len());
    Some(rest[..end].trim_ascii())
}

const METHODS: [&[u8]; 5] = [b"GET ", b"POST ", b"DELETE ", b"PUT ", b"HEAD "];

async fn relay(mut client: TcpStream, upstream: u16, faults: Arc<Faults>, counts: Arc<Counts>) {
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
        return; // the client sees the connection closed
    };
    let (mut up, mut down) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    let mut reset_next_response = false;
    // Bounded: a connection carries at most this many reads.
    for _ in 0..100_000 {
        tokio::select! {
            read = client.read(&mut up) => {
                let n = match read { Ok(0) | Err(_) => return, Ok(n) => n };
                let chunk = &up[..n];
                if METHODS.iter().any(|m| chunk.starts_with(m)) {
                    let k = counts.requests.fetch_add(1, Ordering::SeqCst);
                    let path = chunk.split(|b| *b == b' ').nth(1).unwrap_or_default();
                    if path.starts_with(b"/api/") {
                        counts.api_requests.fetch_add(1, Ordering::SeqCst);
                    }
                    match request_id(chunk) {
                        Some(id) => {
                            let fresh = counts.ids.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_vec());
                            if !fresh {
                                counts.repeated.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        None => {
                            counts.anonymous.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    if hit(k, faults.drop_percent.load(Ordering::SeqCst)) {
                        counts.dropped.fetch_add(1, Ordering::SeqCst);
                        return; // both sockets closed: nothing reaches the backend
                    }
                    let delay = faults.delay_ms.load(Ordering::SeqCst);
                    if delay > 0 {
                        counts.delayed.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(delay)).await;
                    }
                    reset_next_response = hit(k.wrapping_add(7), faults.reset_percent.load(Ordering::SeqCst));
                }
                if server.write_all(chunk).await.is_err() {
                    return;
                }
            }
            read = server.read(&mut down) => {
                let n = match read { Ok(0) | Err(_) => return, Ok(n) => n };
                if reset_next_response {
                    counts.reset.fetch_add(1, Ordering::SeqCst);
                    let _ = client.write_all(&down[..n / 2]).await;
                    let _ = client.set_zero_linger();
                    return; // dropped with SO_LINGER 0: a reset
                }
                if client.write_all(&down[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{hit, request_id};

    #[test]
    fn request_ids_are_read_from_request_heads() {
        let head = b"GET /api/thoughts/ HTTP/1.1\r\nhost: x\r\nX-Request-Id: abc-1 \r\naccept: */*\r\n\r\n";
        assert_eq!(request_id(head), Some(&b"abc-1"[..]));
        assert_eq!(request_id(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n"), None);
    }

    #[test]
    fn hits_come_at_about_the_asked_rate() {
        for percent in [0, 10, 30, 100] {
            let hits = (0..10_000).filter(|n| hit(*n, percent)).count() as u64;
            assert!(hits.abs_diff(percent * 100) <= 300, "{percent} %: {hits}");
        }
    }
}
