//! The future that runs a bound gateway, with an optional graceful shutdown.

use super::config::GatewayError;
use super::gateway::BoundGateway;
use std::future::{Future, IntoFuture, Pending};
use std::pin::Pin;

/// Serves a bound gateway: made by [`BoundGateway::serve`]. Await it to serve until the
/// process ends, or call [`with_graceful_shutdown`](ServeGateway::with_graceful_shutdown)
/// first.
///
/// # Cancel safety
///
/// Not cancel safe: dropping the future stops accepting clients and backends without the
/// graceful shutdown. To stop the gateway, complete the shutdown signal instead.
#[must_use = "a gateway does nothing until it is awaited"]
#[derive(Debug)]
pub struct ServeGateway<S = Pending<()>> {
    gateway: BoundGateway,
    signal: S,
}

impl ServeGateway {
    pub(super) fn new(gateway: BoundGateway) -> Self {
        ServeGateway {
            gateway,
            signal: std::future::pending(),
        }
    }

    /// Serves until `signal` completes, then closes the clients (1001) and the backends.
    pub fn with_graceful_shutdown<S>(self, signal: S) -> ServeGateway<S>
    where
        S: Future<Output = ()> + Send + 'static,
    {
        ServeGateway {
            gateway: self.gateway,
            signal,
        }
    }
}

impl<S> IntoFuture for ServeGateway<S>
where
    S: Future<Output = ()> + Send + 'static,
{
    type Output = Result<(), GatewayError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<(), GatewayError>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.gateway.run(self.signal))
    }
}
