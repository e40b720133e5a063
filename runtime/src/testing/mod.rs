//! An in-process test kit for handlers (feature `testing`): build a server exactly as in
//! production (handlers, state, authenticator, hooks, hub, limits) and drive virtual clients
//! without a port.
//!
//! Each [`TestClient`] is a real WebSocket client on an in-memory byte stream
//! (`tokio::io::duplex`): its connection goes through the same HTTP upgrade, authenticator,
//! session, dispatch, extractors and hooks as one over TCP; there is no second code path.
//! Nothing touches the network, so tokio's paused clock
//! (`#[tokio::test(start_paused = true)]`) runs heartbeats, timeouts and rate limits in
//! milliseconds: time jumps ahead whenever every task waits.
//!
//! ```
//! use exws::testing::{Handshake, TestServer};
//! use exws::{handlers, message, Server};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct CalculateRequest { numbers: Vec<i64> }
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct CalculateResponse { result: i64 }
//!
//! #[message]
//! async fn calculate(request: CalculateRequest) -> CalculateResponse {
//!     CalculateResponse { result: request.numbers.iter().sum() }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = TestServer::start(Server::with_handlers(handlers![calculate])).await?;
//! let mut client = server.connect(Handshake::new("/")).await?;
//! let reply: CalculateResponse = client.call(&CalculateRequest { numbers: vec![2, 2] }).await?;
//! assert_eq!(reply, CalculateResponse { result: 4 });
//! # Ok(()) }
//! ```

mod client;

pub use client::{Closed, KitError, TestClient, TestStream};

use crate::error::Error;
use crate::hub::Hub;
use crate::server::{Endpoint, Server};
use std::net::SocketAddr;

/// A server for tests: the same [`Endpoint`] a production server serves, reached through
/// in-memory connections.
#[derive(Debug, Clone)]
pub struct TestServer {
    endpoint: Endpoint,
}

/// The HTTP upgrade request a [`TestClient`] connects with: path and query, headers (cookies,
/// `Authorization`, `Origin`...), and the remote address the server sees.
#[derive(Debug, Clone)]
pub struct Handshake {
    path_and_query: String,
    headers: Vec<(String, String)>,
    remote_addr: SocketAddr,
}

impl Handshake {
    /// A request for `path_and_query` (e.g. `"/"`, `"/ws?initData=..."`), from
    /// `127.0.0.1:40000`.
    pub fn new(path_and_query: impl Into<String>) -> Self {
        Handshake {
            path_and_query: path_and_query.into(),
            headers: Vec::new(),
            remote_addr: SocketAddr::from(([127, 0, 0, 1], 40000)),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The client's address, as the server sees it.
    pub fn remote_addr(mut self, addr: SocketAddr) -> Self {
        self.remote_addr = addr;
        self
    }
}

impl Default for Handshake {
    fn default() -> Self {
        Handshake::new("/")
    }
}

impl TestServer {
    /// Builds `server` (checks its handlers and options, starts its hub and adapter) exactly
    /// as [`Server::bind`] would, without a listener.
    pub async fn start(server: Server) -> Result<Self, Error> {
        Ok(TestServer {
            endpoint: server.build().await?,
        })
    }

    /// Connects a virtual client with `handshake`. A refused handshake (the authenticator's
    /// 401, a 403 for the `Origin`...) is [`KitError::Refused`] with its status and body.
    pub async fn connect(&self, handshake: Handshake) -> Result<TestClient, KitError> {
        TestClient::connect(&self.endpoint, handshake).await
    }

    /// The server's hub: rooms, users, broadcasts from the test.
    pub fn hub(&self) -> Hub {
        self.endpoint.hub()
    }

    /// The endpoint behind the kit.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Shuts the server down gracefully, as a production server's shutdown would.
    pub async fn shutdown(&self) {
        self.endpoint.shutdown().await;
    }
}
