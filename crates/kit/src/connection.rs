//! The accept loop under [`Server`](crate::server::Server): HTTP/1 and
//! HTTP/2 (prior knowledge) on hyper, with the limits `axum::serve` lacks.
//!
//! - **Connection cap.** At most `MAX_CONNECTIONS` connections per listener
//!   are served; one accepted beyond that is closed at once and counted in
//!   `http_connections_refused_total`. Closing (rather than leaving it in the
//!   kernel backlog) tells the client or load balancer right away to try
//!   another instance, and keeps the backlog from filling with clients that
//!   have long given up.
//! - **Header read timeout.** A connection with no request in flight whose
//!   client has sent part of a request head must complete it within
//!   `HEADER_READ_TIMEOUT_MS` of its first byte; a new connection must send
//!   its first request head within that time of being accepted.
//! - **Idle timeout.** A keep-alive connection with no request in flight and
//!   nothing received since its last request is closed after
//!   `IDLE_TIMEOUT_SECONDS`. hyper's own `header_read_timeout` is off: since
//!   hyper 1.4 its timer also runs while an idle keep-alive connection waits
//!   for its next request, so it would cut idle connections at the header
//!   timeout, and it does not run while the HTTP/1-or-2 detection reads the
//!   first bytes (a connect-only socket would stay open). The watchdog here
//!   covers both protocols and every phase.
//! - A request counts as in flight until its handler has produced the
//!   response; writing the response counts as idle, so a client that reads
//!   it slower than the idle timeout is cut too.
//!
//! The request body timeout is middleware ([`middleware`](crate::middleware)),
//! where it can answer 408.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

/// The per-connection limits of one listener.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Time to send a complete request head.
    pub(crate) header_read: Duration,
    /// Time a keep-alive connection may wait for its next request.
    pub(crate) idle: Duration,
    /// Connections served at once.
    pub(crate) max_connections: usize,
}

/// How long in-flight requests may take to finish once the server stops accepting.
const FINISH_IN_FLIGHT: Duration = Duration::from_secs(20);

/// Serve `app` on `listener` until `stop` is cancelled; then stop accepting,
/// ask every connection to close after its current request, and wait for
/// them (at most [`FINISH_IN_FLIGHT`]).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    service: &'static str,
    listener_name: &'static str,
    stop: CancellationToken,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .keep_alive(true)
        // Off on purpose: see the module documentation.
        .header_read_timeout(None);
    builder.http2().timer(TokioTimer::new());
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let labels = [("service", service), ("listener", listener_name)];
    let open = metrics::gauge!("http_connections_open", &labels);
    // Exported at 0 from the start: a dashboard tells "none" from "unknown".
    open.increment(0.0);
    metrics::counter!("http_connections_refused_total", &labels).increment(0);
    for reason in ["header_read", "idle"] {
        metrics::counter!(
            "http_connections_timed_out_total",
            "service" => service,
            "listener" => listener_name,
            "reason" => reason,
        )
        .increment(0);
    }
    loop {
        let accepted = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(service, listener = listener_name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics::counter!("http_connections_refused_total", &labels).increment(1);
            drop(stream);
            continue;
        };
        // Responses are written whole; Nagle would only delay them.
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched {
            inner: stream,
            activity: activity.clone(),
        });
        let router = app.clone();
        let busy = activity.clone();
        let handler = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let router = router.clone();
            let busy = busy.clone();
            async move {
                let _in_flight = busy.begin();
                let mut request = request.map(Body::new);
                request.extensions_mut().insert(ConnectInfo(remote));
                router.oneshot(request).await
            }
        });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let open = open.clone();
        tokio::spawn(async move {
            open.increment(1.0);
            let connection = watcher.watch(builder.serve_connection(io, handler));
            tokio::select! {
                result = connection => {
                    if let Err(e) = result {
                        tracing::debug!(service, listener = listener_name, error = %e, "connection ended with an error");
                    }
                }
                reason = activity.expired(limits) => {
                    // Dropping the connection closes the socket: no request is in flight.
                    metrics::counter!(
                        "http_connections_timed_out_total",
                        "service" => service,
                        "listener" => listener_name,
                        "reason" => reason,
                    )
                    .increment(1);
                }
            }
            open.decrement(1.0);
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(FINISH_IN_FLIGHT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            service,
            listener = listener_name,
            "in-flight requests did not finish in time"
        );
    }
}

/// What one connection is doing, as the watchdog sees it.
struct Activity(Mutex<State>);

struct State {
    /// Requests whose handler has not answered yet.
    in_flight: usize,
    /// Requests started on this connection.
    requests: u64,
    /// When the connection last had nothing in flight.
    idle_since: Instant,
    /// When the first byte arrived since it became idle.
    head_started: Option<Instant>,
}

impl Activity {
    fn new() -> Self {
        Self(Mutex::new(State {
            in_flight: 0,
            requests: 0,
            idle_since: Instant::now(),
            head_started: None,
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding it.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes arrived: while idle, they start a request head.
    fn received(&self) {
        let mut state = self.state();
        if state.in_flight == 0 && state.head_started.is_none() {
            state.head_started = Some(Instant::now());
        }
    }

    /// A request reached its handler; the guard ends it.
    fn begin(self: &Arc<Self>) -> InFlight {
        let mut state = self.state();
        state.in_flight += 1;
        state.requests += 1;
        state.head_started = None;
        InFlight(self.clone())
    }

    /// When the connection must be closed, and why; `None` while a request is in flight.
    fn deadline(&self, limits: Limits) -> Option<(Instant, &'static str)> {
        let state = self.state();
        if state.in_flight > 0 {
            return None;
        }
        Some(match state.head_started {
            Some(started) => (started + limits.header_read, "header_read"),
            None if state.requests == 0 => (state.idle_since + limits.header_read, "header_read"),
            None => (state.idle_since + limits.idle, "idle"),
        })
    }

    /// Resolves (with the reason) once a deadline passes with nothing in flight.
    async fn expired(&self, limits: Limits) -> &'static str {
        // While busy, look again this often; the deadline is computed afresh each time.
        let recheck = limits.header_read.min(limits.idle).max(Duration::from_millis(10));
        loop {
            match self.deadline(limits) {
                None => tokio::time::sleep(recheck).await,
                Some((at, reason)) if at <= Instant::now() => return reason,
                Some((at, _)) => tokio::time::sleep_until(at).await,
            }
        }
    }
}

/// A request in flight on a connection; dropping it (answered or cancelled) ends it.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
        }
    }
}

/// A TCP stream that tells its [`Activity`] when bytes arrive.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.received();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
