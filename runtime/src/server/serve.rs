//! The futures that run a server: [`Listen`] (bind, then serve) and [`Serve`] (serve a bound
//! server), each with an optional graceful shutdown.

use super::bound::BoundServer;
use super::builder::Server;
use crate::error::Error;
use std::future::{Future, IntoFuture, Pending};
use std::pin::Pin;
use tokio::net::ToSocketAddrs;

/// The future of a running server, boxed.
type Running = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

/// Binds an address and serves on it: made by [`Server::listen`]. Await it to serve until the
/// process ends, or call [`with_graceful_shutdown`](Listen::with_graceful_shutdown) first.
///
/// ```no_run
/// # async fn run() -> Result<(), exws::Error> {
/// exws::Server::new()
///     .listen("127.0.0.1:8765")
///     .with_graceful_shutdown(exws::shutdown_signal())
///     .await
/// # }
/// ```
///
/// # Cancel safety
///
/// Not cancel safe: dropping the future while it serves stops accepting and drops the
/// listening socket without the graceful shutdown (open connections are cut, their handlers
/// cancelled). To stop the server, complete the shutdown signal instead.
#[must_use = "a server does nothing until it is awaited"]
pub struct Listen<A, S = Pending<()>> {
    server: Server,
    addr: A,
    signal: S,
}

impl<A> Listen<A> {
    pub(super) fn new(server: Server, addr: A) -> Self {
        Listen {
            server,
            addr,
            signal: std::future::pending(),
        }
    }

    /// Serves until `signal` completes, then shuts down gracefully: stops accepting, lets
    /// in-flight handlers finish (up to the shutdown timeout, then they are cancelled), closes
    /// every connection with 1001 and completes once all of them are gone.
    /// [`shutdown_signal`](crate::shutdown_signal) waits for Ctrl-C or SIGTERM.
    pub fn with_graceful_shutdown<S>(self, signal: S) -> Listen<A, S>
    where
        S: Future<Output = ()> + Send + 'static,
    {
        Listen {
            server: self.server,
            addr: self.addr,
            signal,
        }
    }
}

impl<A, S> std::fmt::Debug for Listen<A, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listen")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl<A, S> IntoFuture for Listen<A, S>
where
    A: ToSocketAddrs + Send + 'static,
    S: Future<Output = ()> + Send + 'static,
{
    type Output = Result<(), Error>;
    type IntoFuture = Running;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let bound = self.server.bind(self.addr).await?;
            bound.run(self.signal).await
        })
    }
}

/// Serves a bound server: made by [`BoundServer::serve`]. Await it to serve until the process
/// ends, or call [`with_graceful_shutdown`](Serve::with_graceful_shutdown) first.
///
/// ```no_run
/// # async fn run() -> Result<(), exws::Error> {
/// let server = exws::Server::new().bind("127.0.0.1:0").await?;
/// println!("listening on ws://{}", server.local_addr());
/// server.serve().with_graceful_shutdown(exws::shutdown_signal()).await
/// # }
/// ```
///
/// # Cancel safety
///
/// Not cancel safe: dropping the future stops accepting and drops the listening socket
/// without the graceful shutdown (open connections are cut, their handlers cancelled). To
/// stop the server, complete the shutdown signal instead.
#[must_use = "a server does nothing until it is awaited"]
#[derive(Debug)]
pub struct Serve<S = Pending<()>> {
    server: BoundServer,
    signal: S,
}

impl Serve {
    pub(super) fn new(server: BoundServer) -> Self {
        Serve {
            server,
            signal: std::future::pending(),
        }
    }

    /// Serves until `signal` completes, then shuts down gracefully: stops accepting, lets
    /// in-flight handlers finish (up to the shutdown timeout, then they are cancelled), closes
    /// every connection with 1001 and completes once all of them are gone, in at most the
    /// shutdown timeout plus twice the close timeout. Connections still open then are
    /// dropped; their disconnect hooks run all the same.
    pub fn with_graceful_shutdown<S>(self, signal: S) -> Serve<S>
    where
        S: Future<Output = ()> + Send + 'static,
    {
        Serve {
            server: self.server,
            signal,
        }
    }
}

impl<S> IntoFuture for Serve<S>
where
    S: Future<Output = ()> + Send + 'static,
{
    type Output = Result<(), Error>;
    type IntoFuture = Running;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.server.run(self.signal))
    }
}
