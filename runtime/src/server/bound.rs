//! A server bound to its address: the accept loop and graceful shutdown.

use super::endpoint::Endpoint;
use super::serve::Serve;
use crate::error::Error;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// A server whose listening socket is bound, made by [`Server::bind`](crate::Server::bind):
/// read its address (port 0 picks a free port), then [`serve`](BoundServer::serve) it.
///
/// ```no_run
/// # async fn run() -> Result<(), exws::Error> {
/// let server = exws::Server::new().bind("127.0.0.1:0").await?;
/// println!("listening on ws://{}", server.local_addr());
/// server.serve().with_graceful_shutdown(exws::shutdown_signal()).await
/// # }
/// ```
#[derive(Debug)]
pub struct BoundServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    endpoint: Endpoint,
    #[cfg(feature = "tls")]
    tls: Option<super::TlsConfig>,
}

impl BoundServer {
    pub(crate) fn new(listener: TcpListener, endpoint: Endpoint) -> Result<Self, Error> {
        let local_addr = listener.local_addr().map_err(Error::LocalAddr)?;
        Ok(BoundServer {
            listener,
            local_addr,
            endpoint,
            #[cfg(feature = "tls")]
            tls: None,
        })
    }

    #[cfg(feature = "tls")]
    pub(crate) fn with_tls(mut self, tls: Option<super::TlsConfig>) -> Self {
        self.tls = tls;
        self
    }

    /// The address the server listens on (with the port the system chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    #[cfg(test)]
    pub(crate) fn shared_for_probe(&self) -> std::sync::Arc<super::Shared> {
        self.endpoint.shared().clone()
    }

    /// The handlers this server serves, by `Type`, module path and function name: the handler
    /// model of each ([`HandlerInfo`](crate::HandlerInfo)).
    pub fn handlers(&self) -> Vec<&'static crate::handler::HandlerInfo> {
        self.endpoint.handlers()
    }

    /// The server's hub, to send to rooms, users, connections or everyone from any task.
    pub fn hub(&self) -> crate::hub::Hub {
        self.endpoint.hub()
    }

    /// The endpoint this server serves its connections with: clone it to serve more
    /// connections (another listener, a route of an HTTP server) with the same handlers, hub
    /// and limits.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Serves this server: await the [`Serve`] to serve until the process ends, or call
    /// [`Serve::with_graceful_shutdown`] first to stop on a signal.
    pub fn serve(self) -> Serve {
        Serve::new(self)
    }

    /// The accept loop, until `signal` completes; then the graceful shutdown.
    pub(super) async fn run<F>(self, signal: F) -> Result<(), Error>
    where
        F: Future + Send,
    {
        let BoundServer {
            listener,
            local_addr,
            endpoint,
            #[cfg(feature = "tls")]
            tls,
        } = self;
        #[cfg(feature = "tls")]
        let (acceptor, _watcher) = match &tls {
            Some(tls) => (Some(tls.acceptor()), tls.watch()),
            None => (None, None),
        };
        tracing::info!(%local_addr, "exws server listening");
        // The connections this loop accepted end with it, even if its future is dropped (their
        // cleanup then runs with `DisconnectReason::Aborted`); other transports serving the
        // same endpoint are not concerned. A child of the endpoint's stop: one token drops a
        // session, whichever ends first.
        let accepted_here = endpoint.stop_token();
        let _end_with_the_loop = accepted_here.clone().drop_guard();
        tokio::pin!(signal);
        loop {
            tokio::select! {
                _ = &mut signal => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, remote_addr)) => {
                        if let Err(error) = stream.set_nodelay(true) {
                            tracing::debug!(%error, "cannot set TCP_NODELAY");
                        }
                        #[cfg(feature = "tls")]
                        let session: std::pin::Pin<Box<dyn Future<Output = ()> + Send>> =
                            match &acceptor {
                                Some(acceptor) => Box::pin(endpoint.serve_tls(
                                    acceptor.clone(),
                                    stream,
                                    remote_addr,
                                    accepted_here.clone(),
                                )),
                                None => Box::pin(endpoint.serve_connection_until(
                                    stream,
                                    remote_addr,
                                    accepted_here.clone(),
                                )),
                            };
                        #[cfg(not(feature = "tls"))]
                        let session = endpoint.serve_connection_until(
                            stream,
                            remote_addr,
                            accepted_here.clone(),
                        );
                        tokio::spawn(session);
                    }
                    Err(error) => {
                        // Out of file descriptors or similar: back off instead of spinning.
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
        drop(listener);
        tracing::info!(
            connections = endpoint.connection_count(),
            "exws server shutting down"
        );
        endpoint.shutdown().await;
        tracing::info!("exws server stopped");
        Ok(())
    }
}
