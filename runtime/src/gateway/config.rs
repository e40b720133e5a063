//! The gateway's options and their defaults.

use std::net::SocketAddr;
use std::time::Duration;

/// How the gateway talks to its backends. Every value has a default safe for a public
/// deployment; the WebSocket side is configured on the [`Server`](crate::Server) the gateway
/// is given (limits, Origin allow-list, TLS, heartbeat, adapter).
///
/// ```
/// use std::time::Duration;
/// let config = exws::gateway::GatewayConfig::default()
///     .backend_addr("127.0.0.1:8081".parse().unwrap())
///     .queue_size(1000)
///     .request_timeout(Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub(crate) backend_addr: SocketAddr,
    pub(crate) queue_size: usize,
    pub(crate) request_timeout: Duration,
    pub(crate) max_line_size: usize,
    pub(crate) backend_queue: usize,
    pub(crate) backend_token: Option<String>,
    pub(crate) heartbeat_interval: Duration,
    pub(crate) backend_timeout: Duration,
    pub(crate) path_prefix: String,
    pub(crate) publish_token: Option<String>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            backend_addr: SocketAddr::from(([127, 0, 0, 1], 8081)),
            queue_size: 1000,
            request_timeout: Duration::from_secs(5),
            max_line_size: 1 << 20,
            backend_queue: 1024,
            backend_token: None,
            heartbeat_interval: Duration::from_secs(15),
            backend_timeout: Duration::from_secs(45),
            path_prefix: "/ws/".to_owned(),
            publish_token: None,
        }
    }
}

impl GatewayConfig {
    /// Where backends connect. Default: `127.0.0.1:8081` (loopback only). Any other address
    /// requires a [backend token](GatewayConfig::backend_token).
    pub fn backend_addr(mut self, addr: SocketAddr) -> Self {
        self.backend_addr = addr;
        self
    }

    /// How many events are kept while no backend is connected, flushed in order to the next
    /// one; when full, the oldest is dropped (counted in
    /// `exws_gateway_events_dropped_total`). 0 keeps none. Default: 1000.
    pub fn queue_size(mut self, events: usize) -> Self {
        self.queue_size = events;
        self
    }

    /// How long a handshake waits for a backend's `response` before it is refused with 504.
    /// Default: 5 s.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The longest line a backend may send, in bytes; a longer one is discarded and answered
    /// with an `error` event. Default: 1 MiB.
    pub fn max_line_size(mut self, bytes: usize) -> Self {
        self.max_line_size = bytes.max(256);
        self
    }

    /// The capacity of each backend's write queue, in events. When it is full, clients whose
    /// events go to that backend wait (their reading pauses): backpressure, nothing dropped.
    /// Default: 1024.
    pub fn backend_queue(mut self, events: usize) -> Self {
        self.backend_queue = events.max(1);
        self
    }

    /// Requires every backend to send
    /// `{"request_id":"auth","action":"auth","params":{"token":"TOKEN"}}` as its first line.
    /// Required when the backend address is not loopback. Default: none.
    pub fn backend_token(mut self, token: impl Into<String>) -> Self {
        self.backend_token = Some(token.into());
        self
    }

    /// How often every backend is sent a `heartbeat` event. Default: 15 s (as PyStrands).
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// A backend that reads nothing of what it is sent (heartbeats included) for this long is
    /// dropped and its clients move to another backend; so is one that does not send its
    /// token within it. Default: 45 s.
    pub fn backend_timeout(mut self, timeout: Duration) -> Self {
        self.backend_timeout = timeout.max(Duration::from_millis(10));
        self
    }

    /// The path prefix WebSocket clients connect under; other paths get 404. Default: `/ws/`.
    pub fn path_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = prefix.into();
        self
    }

    /// Turns on HTTP publish (`POST /publish` on the WebSocket port) for requests with
    /// `Authorization: Bearer TOKEN`. Default: off.
    pub fn publish_token(mut self, token: impl Into<String>) -> Self {
        self.publish_token = Some(token.into());
        self
    }
}

/// Why a gateway could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The backend port would listen beyond loopback without authentication.
    #[error(
        "the backend address {0} is not loopback: set a backend token (`--backend-token`) so \
         that only your backends can connect"
    )]
    UnauthenticatedBackendPort(SocketAddr),
    /// The backend port could not be bound.
    #[error("cannot listen for backends on {addr}: {source}")]
    BindBackend {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The WebSocket server failed to start or serve.
    #[error(transparent)]
    Server(#[from] crate::error::Error),
}

/// Compares two tokens in time independent of where they differ.
pub(crate) fn same_token(given: &str, expected: &str) -> bool {
    let (given, expected) = (given.as_bytes(), expected.as_bytes());
    let mut difference = given.len() ^ expected.len();
    for (index, byte) in expected.iter().enumerate() {
        difference |= usize::from(byte ^ given.get(index).copied().unwrap_or(0));
    }
    difference == 0
}
