//! Plain HTTP on the server's port: `/health`, `/metrics`, static files.

use crate::server::builder::Server;
use crate::server::static_files::{StaticFile, BROWSER_CLIENT};
use std::borrow::Cow;

impl Server {
    /// Answers plain HTTP `GET /health` on the server's port with its
    /// [`HealthReport`](crate::HealthReport) in JSON (connections, uptime, adapter state):
    /// 200, or 503 while the adapter cannot reach its backend, so that a load balancer stops
    /// sending new clients. Off by default. For an axum app, see `Endpoint::health_route`.
    ///
    /// ```text
    /// $ curl -i localhost:8765/health
    /// HTTP/1.1 200 OK
    /// {"status":"ok","connections":3,"uptime_seconds":42,"adapter":{"name":"redis","reachable":true}}
    /// ```
    pub fn serve_health(mut self) -> Self {
        self.config.serve_health = true;
        self
    }

    /// Answers plain HTTP `GET /metrics` on the server's port with exws's metrics in
    /// Prometheus's text format (feature `prometheus`; see [`crate::metrics`]). Installs a
    /// Prometheus recorder as the process's metrics recorder at
    /// [`build`](Server::build)/[`bind`](Server::bind), or reuses the one
    /// [`install_prometheus`](crate::metrics::install_prometheus) installed; another recorder
    /// already installed fails the build. Off by default.
    #[cfg(feature = "prometheus")]
    pub fn serve_metrics(mut self) -> Self {
        self.config.serve_metrics = true;
        self
    }

    /// Answers plain HTTP `GET path` (not a WebSocket upgrade) with `body`, e.g. a page that
    /// talks to this server. WebSocket upgrades are served on every path.
    ///
    /// ```
    /// let server = exws::Server::new()
    ///     .http_file("/", "text/html; charset=utf-8", "<script type=module src=/exws.js></script>".as_bytes())
    ///     .serve_browser_client();
    /// ```
    pub fn http_file(
        mut self,
        path: &str,
        content_type: impl Into<Cow<'static, str>>,
        body: impl Into<Cow<'static, [u8]>>,
    ) -> Self {
        if !path.starts_with('/') {
            self.reject(
                "http_file",
                format!("the path {path:?} must start with '/'"),
            );
        }
        let file = StaticFile {
            content_type: content_type.into(),
            body: body.into(),
        };
        self.config.static_files.insert(path.to_owned(), file);
        self
    }

    /// Serves the browser client module (`exws.js`, no dependencies) at `/exws.js`, so that a
    /// page needs nothing else: `import { ExwsClient } from "/exws.js"`.
    pub fn serve_browser_client(self) -> Self {
        self.http_file(
            "/exws.js",
            "text/javascript; charset=utf-8",
            BROWSER_CLIENT.as_bytes(),
        )
    }
}
