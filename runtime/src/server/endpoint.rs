//! A built server that serves connections from any transport: the standalone listener, TLS,
//! or a route of another HTTP server.

use super::Shared;
use crate::hub::Hub;
use crate::session;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A server whose handlers are checked and whose hub has started, ready to serve connections
/// over any transport. [`Server::build`](crate::Server::build) makes one;
/// [`Server::bind`](crate::Server::bind) makes one with its own TCP listener.
///
/// Cheap to clone: every clone serves the same handlers, hub and connection limit. Mount it
/// in an axum app with the `axum` feature (`Endpoint::axum_route`), or hand it any
/// accepted byte stream with [`Endpoint::serve_connection`].
///
/// ```no_run
/// # async fn run() -> Result<(), exws::Error> {
/// let endpoint = exws::Server::new().build().await?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8765").await.map_err(|source| {
///     exws::Error::Bind { addrs: Vec::new(), source }
/// })?;
/// loop {
///     let Ok((stream, remote_addr)) = listener.accept().await else { continue };
///     tokio::spawn(endpoint.serve_connection(stream, remote_addr));
/// }
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Endpoint {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    /// Asks every session to close gracefully: each records
    /// [`DisconnectReason::ServerShutdown`](crate::DisconnectReason::ServerShutdown) as its
    /// close (unless it already closes for another reason) and sends 1001.
    shutdown: CancellationToken,
    /// Drops the sessions left once the shutdown bound has passed (they end with their
    /// reason, or `Aborted`). A transport ends its own sessions with a child of it.
    stop: CancellationToken,
    sessions: TaskTracker,
}

impl Endpoint {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Endpoint {
            inner: Arc::new(Inner {
                shared,
                shutdown: CancellationToken::new(),
                stop: CancellationToken::new(),
                sessions: TaskTracker::new(),
            }),
        }
    }

    #[cfg_attr(
        not(any(feature = "axum", feature = "tls", feature = "schema")),
        allow(dead_code)
    )]
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    /// The handlers this endpoint serves, by `Type`, module path and function name: the
    /// handler model of each ([`HandlerInfo`](crate::HandlerInfo)).
    pub fn handlers(&self) -> Vec<&'static crate::handler::HandlerInfo> {
        self.inner.shared.registry.handlers().collect()
    }

    /// The server's hub, to send to rooms, users, connections or everyone from any task.
    pub fn hub(&self) -> Hub {
        self.inner.shared.hub.clone()
    }

    /// Serves one accepted connection (TCP, TLS, a Unix socket...) from its first byte: reads
    /// its HTTP upgrade request, answers it, and runs the WebSocket session until it closes.
    /// Plain HTTP `GET`s of the server's [files](crate::Server::http_file) are answered too.
    /// `remote_addr` is the peer's address, as extractors and authenticators see it (a
    /// [trusted proxy](crate::Server::trusted_proxies) may replace it).
    ///
    /// The returned future is tracked: [`Endpoint::shutdown`] closes it and waits for it.
    pub fn serve_connection<S>(
        &self,
        stream: S,
        remote_addr: SocketAddr,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        self.serve_connection_until(stream, remote_addr, self.inner.stop.clone())
    }

    /// [`serve_connection`](Endpoint::serve_connection), dropped when `stop` is cancelled:
    /// a child of [`stop_token`](Endpoint::stop_token), for a transport whose sessions end
    /// with it.
    pub(crate) fn serve_connection_until<S>(
        &self,
        stream: S,
        remote_addr: SocketAddr,
        stop: CancellationToken,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let session = session::serve_stream(
            stream,
            remote_addr,
            self.inner.shared.clone(),
            self.inner.shutdown.clone(),
        );
        self.track_until(session, stop)
    }

    /// Wraps a session so that the shutdown waits for it and can drop it at its bound.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn track<F>(&self, session: F) -> impl Future<Output = ()> + Send + 'static
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.track_until(session, self.inner.stop.clone())
    }

    /// [`track`](Endpoint::track), also dropped when `stop` is cancelled (a child of
    /// [`stop_token`](Endpoint::stop_token)).
    pub(crate) fn track_until<F>(
        &self,
        session: F,
        stop: CancellationToken,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // Boxed: a future moved into the wrapper's state is stored there once more by every
        // layer around it (this one, the accept loop's, the task's), and every idle connection
        // holds all of them. One allocation of the session's own size instead.
        let session = Box::pin(session);
        self.inner.sessions.track_future(async move {
            tokio::select! {
                biased;
                () = stop.cancelled() => {}
                () = session => {}
            }
        })
    }

    /// A new child of the token that drops the sessions left at the shutdown bound: cancelling
    /// it drops only the sessions tracked with it.
    pub(crate) fn stop_token(&self) -> CancellationToken {
        self.inner.stop.child_token()
    }

    /// The shutdown token sessions watch.
    #[cfg_attr(not(any(feature = "axum", feature = "tls")), allow(dead_code))]
    pub(crate) fn shutdown_token(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    /// How many connections are open or upgrading.
    pub fn connection_count(&self) -> usize {
        self.inner
            .shared
            .connections
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Shuts every connection down gracefully: running handlers get the
    /// [shutdown timeout](crate::Server::shutdown_timeout), then each connection is closed
    /// with 1001. Returns once all are gone, in at most the shutdown timeout plus twice the
    /// [close timeout](crate::Server::close_timeout); connections still open then are
    /// dropped (their disconnect hooks still run). New connections are refused from the
    /// start (503).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe in the sense that matters: the shutdown starts on the first poll and goes
    /// on if the future is dropped (new connections stay refused, open ones are still closed
    /// with 1001); what is abandoned is the wait for them to be gone and the forced drop of
    /// those still open at the deadline. Calling it again waits again.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        inner.shutdown.cancel();
        inner.sessions.close();
        let config = &inner.shared.config;
        // Handlers' time, then the close handshake, then the wait for the client's end.
        let deadline = config.shutdown_timeout + config.close_timeout * 2;
        if tokio::time::timeout(deadline, inner.sessions.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                connections = inner.sessions.len(),
                "shutdown timeout reached: dropping the remaining connections"
            );
            inner.stop.cancel();
            inner.sessions.wait().await;
        }
    }

    /// Whether [`shutdown`](Endpoint::shutdown) has started.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutdown.is_cancelled()
    }
}
