//! A server bound to its address: the accept loop and graceful shutdown.

use super::Shared;
use crate::session;
use crate::Error;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// A server whose listening socket is bound; serve it with [`serve`](BoundServer::serve) or
/// [`serve_with_shutdown`](BoundServer::serve_with_shutdown).
///
/// ```no_run
/// # async fn run() -> Result<(), exws::Error> {
/// let server = exws::Server::new().bind("127.0.0.1:0").await?;
/// println!("listening on ws://{}", server.local_addr());
/// server.serve().await
/// # }
/// ```
#[derive(Debug)]
pub struct BoundServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
}

impl BoundServer {
    pub(crate) fn new(listener: TcpListener, shared: Arc<Shared>) -> Result<Self, Error> {
        let local_addr = listener.local_addr().map_err(Error::LocalAddr)?;
        Ok(BoundServer {
            listener,
            local_addr,
            shared,
        })
    }

    /// The address the server listens on (with the port the system chose for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    #[cfg(test)]
    pub(crate) fn shared_for_probe(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// The handlers this server serves, by `Type`, module path and function name: the handler
    /// model of each ([`HandlerInfo`](crate::HandlerInfo)).
    pub fn handlers(&self) -> Vec<&'static crate::HandlerInfo> {
        self.shared.registry.handlers().collect()
    }

    /// The server's hub, to send to rooms, connections or everyone from any task.
    pub fn hub(&self) -> crate::Hub {
        self.shared.hub.clone()
    }

    /// Serves until the process ends.
    pub async fn serve(self) -> Result<(), Error> {
        self.serve_with_shutdown(std::future::pending::<()>()).await
    }

    /// Serves until `signal` completes, then shuts down gracefully: stops accepting, lets
    /// in-flight handlers finish (up to the shutdown timeout), closes every connection with
    /// 1001 and returns once all of them are gone.
    pub async fn serve_with_shutdown<F>(self, signal: F) -> Result<(), Error>
    where
        F: Future + Send,
    {
        let BoundServer {
            listener,
            local_addr,
            shared,
        } = self;
        tracing::info!(%local_addr, "exws server listening");
        let shutdown = CancellationToken::new();
        let mut sessions = JoinSet::new();
        tokio::pin!(signal);
        loop {
            tokio::select! {
                _ = &mut signal => break,
                Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
                accepted = listener.accept() => match accepted {
                    Ok((stream, remote_addr)) => {
                        sessions.spawn(session::run(stream, remote_addr, shared.clone(), shutdown.clone()));
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
        tracing::info!(connections = sessions.len(), "exws server shutting down");
        shutdown.cancel();
        let deadline = shared.config.shutdown_timeout + shared.config.close_timeout;
        let drained = tokio::time::timeout(deadline, async {
            while sessions.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                connections = sessions.len(),
                "shutdown timeout reached: dropping the remaining connections"
            );
            sessions.shutdown().await;
        }
        tracing::info!("exws server stopped");
        Ok(())
    }
}
