//! `GET /health` and `GET /metrics` on the server's own port, beside the WebSocket upgrade
//! (opt-in: [`Server::serve_health`](crate::Server::serve_health),
//! [`Server::serve_metrics`](crate::Server::serve_metrics)), and the same as axum routes.

use super::{Endpoint, Shared};
use crate::session::HttpAnswer;
use serde::Serialize;
use std::borrow::Cow;
use std::time::Instant;

/// The path of the health report.
pub(crate) const HEALTH_PATH: &str = "/health";
/// The path of the Prometheus metrics.
#[cfg(feature = "prometheus")]
pub(crate) const METRICS_PATH: &str = "/metrics";
/// The content type of the health report, which tells it apart from a refused handshake.
pub(crate) const HEALTH_CONTENT_TYPE: &str = "application/json";

/// What the server serves over plain HTTP besides its files, fixed at build.
pub(crate) struct Routes {
    started: Instant,
    health: bool,
    #[cfg(feature = "prometheus")]
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = f.debug_struct("Routes");
        debug.field("health", &self.health);
        #[cfg(feature = "prometheus")]
        debug.field("metrics", &self.metrics.is_some());
        debug.finish_non_exhaustive()
    }
}

impl Routes {
    /// The routes the configuration asks for; `metrics` is the Prometheus handle when
    /// `/metrics` is served.
    pub(crate) fn new(
        health: bool,
        #[cfg(feature = "prometheus")] metrics: Option<
            metrics_exporter_prometheus::PrometheusHandle,
        >,
    ) -> Self {
        Routes {
            started: Instant::now(),
            health,
            #[cfg(feature = "prometheus")]
            metrics,
        }
    }
}

/// The server's health, as `GET /health` reports it in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HealthReport {
    /// `ok`, or `unavailable` while the adapter cannot reach its backend (then the HTTP
    /// status is 503, so that a load balancer sends new clients elsewhere).
    pub status: &'static str,
    /// Open WebSocket connections on this process.
    pub connections: usize,
    /// Seconds since the server was built.
    pub uptime_seconds: u64,
    /// The adapter's state.
    pub adapter: AdapterHealth,
}

/// The adapter part of a [`HealthReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AdapterHealth {
    /// The adapter ([`Adapter::name`](crate::adapter::Adapter::name)): `in_process`, `redis`.
    pub name: &'static str,
    /// Whether its backend is reachable as far as it knows
    /// ([`Adapter::reachable`](crate::adapter::Adapter::reachable)).
    pub reachable: bool,
}

impl HealthReport {
    /// Whether the server is fit for new clients.
    pub fn is_healthy(&self) -> bool {
        self.adapter.reachable
    }

    fn of(shared: &Shared) -> Self {
        let adapter = shared.hub.adapter();
        let reachable = adapter.reachable();
        HealthReport {
            status: if reachable { "ok" } else { "unavailable" },
            connections: shared.hub.local_connection_count(),
            uptime_seconds: shared.routes.started.elapsed().as_secs(),
            adapter: AdapterHealth {
                name: adapter.name(),
                reachable,
            },
        }
    }

    /// The HTTP status and JSON body.
    fn to_http(&self) -> (u16, Vec<u8>) {
        let status = if self.is_healthy() { 200 } else { 503 };
        // Plain fields: serializing cannot fail.
        let body = serde_json::to_vec(self).unwrap_or_default();
        (status, body)
    }
}

/// The answer to a plain HTTP `GET` of `path` (not an upgrade), when it is a route the server
/// serves.
pub(crate) fn answer(path: &str, shared: &Shared) -> Option<HttpAnswer> {
    if shared.routes.health && path == HEALTH_PATH {
        let (status, body) = HealthReport::of(shared).to_http();
        return Some(HttpAnswer {
            status,
            content_type: Cow::Borrowed(HEALTH_CONTENT_TYPE),
            body: Cow::Owned(body),
        });
    }
    #[cfg(feature = "prometheus")]
    if let (Some(handle), METRICS_PATH) = (&shared.routes.metrics, path) {
        return Some(HttpAnswer {
            status: 200,
            content_type: Cow::Borrowed("text/plain; version=0.0.4; charset=utf-8"),
            body: Cow::Owned(handle.render().into_bytes()),
        });
    }
    None
}

impl Endpoint {
    /// The server's health now: what `GET /health` reports (whether or not it is served).
    pub fn health(&self) -> HealthReport {
        HealthReport::of(self.shared())
    }
}

#[cfg(feature = "axum")]
impl Endpoint {
    /// `GET /health` as an axum route: the [`HealthReport`] in JSON, 200 or 503.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let chat = exws::Server::new().build().await?;
    /// let app: axum::Router = axum::Router::new()
    ///     .route("/health", chat.health_route())
    ///     .route("/ws", chat.axum_route());
    /// # Ok(()) }
    /// ```
    pub fn health_route<S>(&self) -> ::axum::routing::MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let endpoint = self.clone();
        ::axum::routing::get(move || {
            let (status, body) = endpoint.health().to_http();
            async move {
                let status = ::axum::http::StatusCode::from_u16(status)
                    .unwrap_or(::axum::http::StatusCode::SERVICE_UNAVAILABLE);
                (
                    status,
                    [(::axum::http::header::CONTENT_TYPE, HEALTH_CONTENT_TYPE)],
                    body,
                )
            }
        })
    }

    /// `GET /metrics` as an axum route (features `axum` and `prometheus`): exws's metrics in
    /// Prometheus's text format, from the recorder
    /// [`Server::serve_metrics`](crate::Server::serve_metrics) installed, or `None` when this
    /// endpoint's server did not ask for it.
    #[cfg(feature = "prometheus")]
    pub fn metrics_route<S>(&self) -> Option<::axum::routing::MethodRouter<S>>
    where
        S: Clone + Send + Sync + 'static,
    {
        let handle = self.shared().routes.metrics.clone()?;
        Some(::axum::routing::get(move || {
            let body = handle.render();
            async move {
                (
                    [(
                        ::axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    body,
                )
            }
        }))
    }
}
