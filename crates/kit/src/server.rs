//! The HTTP server bootstrap every service uses.
//!
//! [`Service`] describes one service (its API router, OpenAPI description and
//! readiness check); [`Server::bind`] adds the operational endpoints
//! ([`ops`](crate::ops)) and the middleware ([`middleware`](crate::middleware))
//! and binds two listeners: the public one (the service's API or pages,
//! health, readiness, version) and the admin one (metrics, API docs), which
//! no deployment publishes; [`Server::run`] serves until the shutdown token
//! is cancelled, then flips readiness and drains. Slow and idle clients are
//! cut and connections capped as the `connection` module describes.

use crate::config::ServerConfig;
use crate::connection::Limits;
use crate::middleware::{self, Access};
use crate::ops::{self, Ops, ReadyCheck, ready_check};
use axum::Router;
use axum::routing::{MethodRouter, any};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Everything the chassis needs to know about one service.
pub struct Service {
    /// Service name (`users`, `thoughts`, `frontend`): log field and metric label.
    pub name: &'static str,
    /// Listen address, version, limits.
    pub config: ServerConfig,
    /// The service's own routes, with their state applied.
    pub api: Router,
    /// The OpenAPI description served at `/openapi.json` and `/docs/` on
    /// the admin listener; `None` (the frontend, which has no JSON API)
    /// serves neither.
    pub openapi: Option<utoipa::openapi::OpenApi>,
    /// What `/readyz` checks besides "not shutting down".
    pub ready: ReadyCheck,
    /// What unknown paths answer; `None` is the JSON 404 of API services.
    pub not_found: Option<MethodRouter>,
    /// The service's database, whose pool `/metrics` reports.
    pub database: Option<crate::db::Database>,
}

impl Service {
    /// A JSON API service that owns `database`: ready when the database
    /// answers, its pool reported on `/metrics`.
    pub fn with_database(
        name: &'static str,
        config: ServerConfig,
        api: Router,
        openapi: utoipa::openapi::OpenApi,
        database: crate::db::Database,
    ) -> Self {
        let db = database.clone();
        let ready = ready_check(move || {
            let db = db.clone();
            async move { db.ping().await }
        });
        Self {
            name,
            config,
            api,
            openapi: Some(openapi),
            ready,
            not_found: None,
            database: Some(database),
        }
    }
}

/// Bind `addr` for `service`, with an error that says which and why.
async fn listen(service: &str, addr: std::net::SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            anyhow::anyhow!("{service} cannot listen on {addr}: the port is already in use")
        } else {
            anyhow::anyhow!("{service} cannot listen on {addr}: {e}")
        }
    })
}

/// A bound, not yet running, service.
pub struct Server {
    listener: TcpListener,
    admin_listener: TcpListener,
    app: Router,
    admin_app: Router,
    access: Access,
    drain: Duration,
    limits: Limits,
    database: Option<crate::db::Database>,
}

impl Server {
    /// Add the shared endpoints and middleware to `service` and bind its
    /// public and admin listeners (port 0 picks a free port).
    pub async fn bind(service: Service) -> anyhow::Result<Self> {
        let listener = listen(service.name, service.config.addr()).await?;
        let admin = listen(service.name, service.config.admin_addr()).await?;
        Ok(Self::with_listeners(service, listener, admin))
    }

    /// Like [`Server::bind`] with listeners the caller already holds.
    pub fn with_listeners(service: Service, listener: TcpListener, admin_listener: TcpListener) -> Self {
        let config = service.config;
        let shutting_down = Arc::new(AtomicBool::new(false));
        let openapi = service.openapi.map(|mut openapi| {
            openapi.info.version = config.version_name.clone();
            Arc::new(openapi)
        });
        let docs = openapi.is_some().then(ops::docs);
        let ops = Ops {
            name: service.name,
            version_name: config.version_name.clone(),
            version_sha: config.version_sha.clone(),
            shutting_down: shutting_down.clone(),
            ready: service.ready,
            database: service.database.clone(),
            openapi,
        };
        let routes = service
            .api
            .merge(ops::public_routes(ops.clone()))
            .fallback_service(service.not_found.unwrap_or_else(|| any(middleware::not_found)));
        let admin_routes = ops::admin_routes(ops).fallback(middleware::not_found);
        let access = Access {
            service: service.name,
            version: config.version_name.clone().into(),
            shutting_down,
            operational: false,
        };
        let app = middleware::wrap(
            routes,
            None,
            access.clone(),
            config.body_limit_bytes,
            config.body_read_timeout(),
        );
        let admin_app = middleware::wrap(
            admin_routes,
            docs,
            Access {
                operational: true,
                ..access.clone()
            },
            config.body_limit_bytes,
            config.body_read_timeout(),
        );
        let limits = Limits {
            header_read: config.header_read_timeout(),
            idle: config.idle_timeout(),
            max_connections: config.max_connections as usize,
        };
        let _ = crate::metrics::handle();
        crate::metrics::record_build_info(service.name, &config.version_name, &config.version_sha);
        Self {
            listener,
            admin_listener,
            app,
            admin_app,
            access,
            drain: Duration::from_secs(config.shutdown_drain_seconds),
            limits,
            database: service.database,
        }
    }

    /// The port the public listener is bound to.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// The port the admin listener (metrics, API docs) is bound to.
    pub fn admin_port(&self) -> u16 {
        self.admin_listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// The admin listener's application (`/healthz`, `/metrics`, API docs)
    /// with all middleware, for router tests with `oneshot`.
    pub fn admin_router(&self) -> Router {
        self.admin_app.clone()
    }

    /// The complete public application (the service's routes, the public
    /// operational endpoints and all middleware) as [`Server::run`] serves it, for
    /// router tests with `tower::ServiceExt::oneshot`. Requests sent this
    /// way carry no `ConnectInfo`.
    pub fn router(&self) -> Router {
        self.app.clone()
    }

    /// Serve until `shutdown` is cancelled; then report not-ready, keep
    /// serving for the drain period, stop accepting, let in-flight requests
    /// finish (bounded), and close the service's database (SQLite's WAL is
    /// checkpointed into the main file).
    pub async fn run(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let span = crate::telemetry::service_span(self.access.service, &self.access.version);
        let database = self.database.clone();
        let served = self.serve(shutdown).instrument(span.clone()).await;
        if let Some(db) = database {
            db.close().instrument(span).await;
        }
        served
    }

    async fn serve(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let Self {
            listener,
            admin_listener,
            app,
            admin_app,
            access,
            drain,
            limits,
            database: _,
        } = self;
        let name = access.service;
        if let (Ok(addr), Ok(admin)) = (listener.local_addr(), admin_listener.local_addr()) {
            tracing::info!(service = name, %addr, %admin, "listening");
        }
        // Readiness flips at once; the listener keeps accepting for the drain
        // period (responses say `Connection: close`), then stops.
        let stop_accepting = CancellationToken::new();
        let draining = {
            let stop = stop_accepting.clone();
            let flag = access.shutting_down.clone();
            async move {
                shutdown.cancelled().await;
                flag.store(true, Ordering::SeqCst);
                tracing::info!(
                    service = name,
                    drain_ms = drain.as_millis() as u64,
                    "shutting down: draining"
                );
                tokio::time::sleep(drain).await;
                stop.cancel();
            }
        };
        let serving = crate::connection::serve(listener, app, limits, name, "public", stop_accepting.clone());
        // Metrics stay scrapable while the public listener drains.
        let admin = crate::connection::serve(admin_listener, admin_app, limits, name, "admin", stop_accepting);
        tokio::join!(draining, serving, admin);
        tracing::info!(service = name, "stopped");
        Ok(())
    }
}
