//! [`ClientBuilder`]: how to connect, and the limits of the connection.

use crate::client::Client;
use crate::connection::ConnectConfig;
use crate::error::ConnectError;
use crate::events::Events;
use crate::reconnect::ReconnectPolicy;
use std::time::Duration;

/// Configures and opens a [`Client`].
///
/// ```no_run
/// use exws_client::{ClientBuilder, ReconnectPolicy};
/// use std::time::Duration;
///
/// # async fn demo() -> Result<(), exws_client::ConnectError> {
/// let client = ClientBuilder::new("ws://127.0.0.1:8765")
///     .header("Authorization", "tma query_id=...")
///     .call_timeout(Duration::from_secs(5))
///     .reconnect_policy(ReconnectPolicy::default().max_delay(Duration::from_secs(10)))
///     .max_message_size(1 << 20)
///     .connect()
///     .await?;
/// # let _ = client;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    pub(crate) connect: ConnectConfig,
    pub(crate) call_timeout: Duration,
    pub(crate) outbound_capacity: usize,
    pub(crate) event_capacity: usize,
    pub(crate) stream_capacity: usize,
}

impl ClientBuilder {
    /// Default call timeout: 30 s.
    pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default connect timeout (per attempt): 10 s.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default largest incoming message (and frame): 16 MiB.
    pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 << 20;
    /// Default number of outgoing frames queued before senders wait: 256.
    pub const DEFAULT_OUTBOUND_CAPACITY: usize = 256;
    /// Default number of envelopes buffered per event receiver: 1024.
    pub const DEFAULT_EVENT_CAPACITY: usize = 1024;
    /// Default number of received items buffered per open stream: 1024.
    pub const DEFAULT_STREAM_CAPACITY: usize = 1024;

    /// A builder for the server at `url` (`ws://host:port/path`, or `wss://` with the `tls`
    /// feature, on by default).
    pub fn new(url: impl Into<String>) -> Self {
        ClientBuilder {
            connect: ConnectConfig {
                url: url.into(),
                headers: Vec::new(),
                connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
                max_message_size: Self::DEFAULT_MAX_MESSAGE_SIZE,
                reconnect: ReconnectPolicy::default(),
                recover: false,
                root_certificates: Vec::new(),
            },
            call_timeout: Self::DEFAULT_CALL_TIMEOUT,
            outbound_capacity: Self::DEFAULT_OUTBOUND_CAPACITY,
            event_capacity: Self::DEFAULT_EVENT_CAPACITY,
            stream_capacity: Self::DEFAULT_STREAM_CAPACITY,
        }
    }

    /// Adds a header to the upgrade request (e.g. `Authorization: tma <initData>`); sent again
    /// on every reconnection. Invalid names or values fail [`connect`](Self::connect) with
    /// [`ConnectError::InvalidHeader`].
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.connect.headers.push((name.into(), value.into()));
        self
    }

    /// Trusts one more root certificate (DER X.509) for `wss://` URLs, beside Mozilla's
    /// public roots: for a server with a private CA or a self-signed certificate. An invalid
    /// certificate fails [`connect`](Self::connect) with [`ConnectError::InvalidCertificate`].
    /// Feature `tls` (on by default).
    #[cfg(feature = "tls")]
    pub fn add_root_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.connect.root_certificates.push(der.into());
        self
    }

    /// How long [`Client::call`] waits for a reply (default 30 s).
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// How long one connection attempt may take, TCP and handshake (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect.connect_timeout = timeout;
        self
    }

    /// Turns automatic reconnection on (the default policy) or off.
    pub fn reconnect(mut self, enabled: bool) -> Self {
        self.connect.reconnect = if enabled {
            ReconnectPolicy::default()
        } else {
            ReconnectPolicy::disabled()
        };
        self
    }

    /// Asks the server for connection recovery (default off): when the connection is lost
    /// and comes back (to the same server or another of its processes) within the server's
    /// recovery window, the client gets its session back (same connection id, rooms and room
    /// subscriptions) and every room message it missed, in order, before new ones; or a gap.
    /// Each (re)connection is reported by [`Client::recoveries`](crate::Client::recoveries).
    /// The server must have recovery on (`Server::recovery`).
    pub fn recover(mut self, enabled: bool) -> Self {
        self.connect.recover = enabled;
        self
    }

    /// Sets the reconnection policy (backoff delays, attempt limit).
    pub fn reconnect_policy(mut self, policy: ReconnectPolicy) -> Self {
        self.connect.reconnect = policy;
        self
    }

    /// The largest incoming message (and frame) accepted, in bytes (default 16 MiB). A larger
    /// one breaks the connection (which is then reconnected, if enabled).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.connect.max_message_size = bytes;
        self
    }

    /// How many outgoing frames may be queued before `send` and `call` wait (default 256,
    /// at least 1).
    pub fn outbound_capacity(mut self, frames: usize) -> Self {
        self.outbound_capacity = frames.max(1);
        self
    }

    /// How many envelopes each [`Events`] or [`Subscription`](crate::Subscription) buffers
    /// before it lags (default 1024, at least 1).
    pub fn event_capacity(mut self, envelopes: usize) -> Self {
        self.event_capacity = envelopes.max(1);
        self
    }

    /// How many received items each open stream buffers for its reader (default 1024, at
    /// least 1). A stream whose reader lets that many wait is cancelled and ends with
    /// [`StreamError::Overflow`](crate::StreamError::Overflow); the connection never waits
    /// for a slow stream reader.
    pub fn stream_capacity(mut self, items: usize) -> Self {
        self.stream_capacity = items.max(1);
        self
    }

    /// Opens the connection. Fails if the first connection attempt fails (no retry then);
    /// reconnection only applies to connections lost later.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropped midway, the connection being opened is closed and nothing is left
    /// running.
    pub async fn connect(self) -> Result<Client, ConnectError> {
        Client::open(self).await.map(|(client, _)| client)
    }

    /// Like [`connect`](Self::connect), also returning an [`Events`] receiver that already
    /// existed when the connection opened, so that no message the server sends right after
    /// the handshake (a greeting, say) can be missed.
    pub async fn connect_with_events(self) -> Result<(Client, Events), ConnectError> {
        Client::open(self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_setters() {
        let builder = ClientBuilder::new("ws://h:1")
            .header("A", "b")
            .call_timeout(Duration::from_secs(3))
            .reconnect(false)
            .max_message_size(10)
            .outbound_capacity(0)
            .event_capacity(0)
            .stream_capacity(0);
        assert_eq!(builder.connect.url, "ws://h:1");
        assert_eq!(builder.connect.headers, vec![("A".into(), "b".into())]);
        assert_eq!(builder.call_timeout, Duration::from_secs(3));
        assert!(!builder.connect.reconnect.is_enabled());
        assert_eq!(builder.connect.max_message_size, 10);
        assert_eq!(builder.outbound_capacity, 1);
        assert_eq!(builder.event_capacity, 1);
        assert_eq!(builder.stream_capacity, 1);
        let builder = ClientBuilder::new("ws://h:1");
        assert_eq!(builder.call_timeout, ClientBuilder::DEFAULT_CALL_TIMEOUT);
        assert!(builder.connect.reconnect.is_enabled());
    }
}
