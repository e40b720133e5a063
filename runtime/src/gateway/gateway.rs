//! The gateway: a [`Server`] whose clients' messages go to backends, and the backend port.

use super::admission::BackendAdmission;
use super::config::{GatewayConfig, GatewayError};
use super::serve::ServeGateway;
use super::{backend, client, publish, Core};
use crate::hub::Hub;
use crate::server::{BoundServer, Fallback, PostHandler, Server};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio_util::sync::CancellationToken;

/// A PyStrands-compatible gateway built on an exws [`Server`]: WebSocket clients on the
/// server's port, backends in any language on the backend port (see docs/GATEWAY.md).
///
/// The server keeps its own options (limits, TLS, Origin allow-list, heartbeat, adapter) and
/// its `#[message]` handlers: envelopes of their `Type`s are answered in Rust, every other
/// text frame goes to a backend.
///
/// ```no_run
/// # async fn run() -> Result<(), exws::gateway::GatewayError> {
/// use exws::gateway::{Gateway, GatewayConfig};
/// let gateway = Gateway::new(GatewayConfig::default())
///     .bind(exws::Server::with_handlers([]), "0.0.0.0:8080")
///     .await?;
/// gateway.serve().with_graceful_shutdown(exws::shutdown_signal()).await
/// # }
/// ```
#[derive(Debug)]
pub struct Gateway {
    config: GatewayConfig,
}

impl Gateway {
    /// A gateway with these options.
    pub fn new(config: GatewayConfig) -> Self {
        Gateway { config }
    }

    /// Binds the WebSocket port (`ws_addr`, served by `server`) and the backend port.
    pub async fn bind(
        self,
        server: Server,
        ws_addr: impl ToSocketAddrs,
    ) -> Result<BoundGateway, GatewayError> {
        let config = self.config;
        let backend_addr = config.backend_addr;
        if !backend_addr.ip().is_loopback() && config.backend_token.is_none() {
            return Err(GatewayError::UnauthenticatedBackendPort(backend_addr));
        }
        let core = Arc::new(Core::new(config));
        let server = with_gateway(server, &core);
        let backends =
            TcpListener::bind(backend_addr)
                .await
                .map_err(|source| GatewayError::BindBackend {
                    addr: backend_addr,
                    source,
                })?;
        let server = server.bind(ws_addr).await?;
        let _ = core.hub.set(server.hub());
        Ok(BoundGateway {
            server,
            backends,
            core,
        })
    }
}

/// Wires the gateway into a server: admission, hooks, the fallback, HTTP publish.
fn with_gateway(server: Server, core: &Arc<Core>) -> Server {
    let on_connect = Arc::clone(core);
    let on_disconnect = Arc::clone(core);
    let fallback = Arc::clone(core);
    let server = server
        .authenticator(BackendAdmission {
            core: Arc::clone(core),
        })
        .on_connect(move |context| client::connected(Arc::clone(&on_connect), context))
        .on_disconnect(move |context, _| client::disconnected(Arc::clone(&on_disconnect), context))
        .fallback(Fallback::new(move |context, text| {
            Box::pin(client::message(Arc::clone(&fallback), context, text))
        }));
    if core.config.publish_token.is_some() {
        let publisher = Arc::clone(core);
        server.post_handler(PostHandler::new(move |request, body| {
            Box::pin(publish::publish(Arc::clone(&publisher), request, body))
        }))
    } else {
        server
    }
}

/// A gateway with both ports bound; [`serve`](BoundGateway::serve) it.
#[derive(Debug)]
pub struct BoundGateway {
    server: BoundServer,
    backends: TcpListener,
    core: Arc<Core>,
}

impl BoundGateway {
    /// The WebSocket port's address.
    pub fn ws_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The backend port's address.
    pub fn backend_addr(&self) -> SocketAddr {
        self.backends
            .local_addr()
            .unwrap_or(self.core.config.backend_addr)
    }

    /// The hub: rooms and clients (a client's user id is its `client_id`).
    pub fn hub(&self) -> Hub {
        self.server.hub()
    }

    /// A handle that reports how many backends are connected, usable while the gateway serves.
    pub fn status(&self) -> GatewayStatus {
        GatewayStatus {
            core: Arc::clone(&self.core),
        }
    }

    /// Serves this gateway: await the [`ServeGateway`] to serve until the process ends, or
    /// call [`ServeGateway::with_graceful_shutdown`] first to stop on a signal.
    pub fn serve(self) -> ServeGateway {
        ServeGateway::new(self)
    }

    /// Serves until `signal` completes, then closes the clients (1001) and the backends.
    pub(super) async fn run<F>(self, signal: F) -> Result<(), GatewayError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let stop = CancellationToken::new();
        let accept = tokio::spawn(accept_backends(
            self.backends,
            Arc::clone(&self.core),
            stop.clone(),
        ));
        let served = self.server.serve().with_graceful_shutdown(signal).await;
        stop.cancel();
        let _ = accept.await;
        served.map_err(GatewayError::from)
    }
}

async fn accept_backends(listener: TcpListener, core: Arc<Core>, stop: CancellationToken) {
    let tasks = tokio_util::task::TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                tasks.spawn(backend::serve(
                    stream,
                    peer,
                    Arc::clone(&core),
                    stop.clone(),
                ));
            }
            Err(error) => {
                tracing::warn!(%error, "accepting a backend failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
    tasks.close();
    tasks.wait().await;
}

/// Reads the state of a running gateway.
#[derive(Debug, Clone)]
pub struct GatewayStatus {
    core: Arc<Core>,
}

impl GatewayStatus {
    /// How many backends are connected now.
    pub fn backends(&self) -> usize {
        self.core.pool.backend_count()
    }

    /// How many events wait for a backend now (none is connected).
    pub fn queued_events(&self) -> usize {
        self.core.pool.queued_count()
    }

    /// How many events the wait queue dropped since the start: the oldest when it was full,
    /// every one when it is disabled (`queue_size` 0). Also counted in
    /// `exws_gateway_events_dropped_total`.
    pub fn dropped_events(&self) -> u64 {
        self.core.pool.dropped_count()
    }

    /// How many events wait in the connected backends' write queues (each holds at most
    /// `backend_queue`); when every one is full, clients' reads and new handshakes wait.
    pub fn backend_backlog(&self) -> usize {
        self.core.pool.backlog()
    }
}
