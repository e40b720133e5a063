//! Server options and their defaults.

use std::time::Duration;

/// How the messages of one connection are processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Processing {
    /// One message after another: replies leave in the order the requests came in. The default.
    #[default]
    Sequential,
    /// Up to `max_in_flight` messages of a connection handled at once; replies leave as
    /// handlers finish, so clients correlate them by `Id`.
    Concurrent {
        /// The most messages of one connection being handled at the same time (at least 1).
        max_in_flight: usize,
    },
}

/// What happens when a client reads slower than the server sends it hub messages, and its
/// outbound queue is full. Replies to the client's own requests never drop: they wait, which
/// slows down reading that client's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SlowConsumerPolicy {
    /// Close the connection with 1008 and the reason "slow consumer". The default.
    #[default]
    Disconnect,
    /// Drop the newest hub messages for that client and count them
    /// ([`Connection::dropped_messages`](crate::Connection::dropped_messages) and the
    /// `exws_queue_drops_total` metric).
    DropNewest,
}

/// Server-side pings, and how long a client may stay silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// Time between pings.
    pub interval: Duration,
    /// A connection that sent nothing (no pong, no message) for this long is closed with 1008.
    pub timeout: Duration,
}

/// A per-connection token bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Messages per second, sustained.
    pub per_second: f64,
    /// Messages that may arrive at once.
    pub burst: u32,
}

/// Every server option, with defaults safe for the public internet.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub max_message_size: usize,
    pub processing: Processing,
    pub outbound_queue: usize,
    pub handshake_timeout: Duration,
    pub max_handshake_size: usize,
    pub close_timeout: Duration,
    pub shutdown_timeout: Duration,
    pub handler_grace: Duration,
    pub max_streams: usize,
    pub read_buffer_size: usize,
    /// `None`: any `Origin`; `Some`: only these (exact, ASCII case-insensitive).
    pub allowed_origins: Option<Vec<String>>,
    pub max_rooms_per_connection: usize,
    pub max_call_recipients: usize,
    /// Room history, when on ([`Server::history`](crate::Server::history)).
    pub history: Option<crate::history::HistoryLimits>,
    /// The recovery window, when recovery is on.
    pub recovery: Option<Duration>,
    pub outbound_queue_bytes: usize,
    pub slow_consumer: SlowConsumerPolicy,
    pub heartbeat: Option<Heartbeat>,
    pub max_connections: usize,
    pub rate_limit: Option<RateLimit>,
    pub write_buffer_size: usize,
    pub static_files: super::StaticFiles,
    pub trusted_proxies: crate::handshake::TrustedProxies,
    /// Subprotocols the server speaks, in its own order (the client's preference decides).
    pub protocols: Vec<String>,
    /// Where text frames that no handler claims go (the gateway); `None`: `unknown_type`.
    pub fallback: Option<super::extension::Fallback>,
    /// Who answers plain HTTP `POST` requests (the gateway's publish); `None`: 405.
    pub post_handler: Option<super::extension::PostHandler>,
    /// Presence diffs and the built-in `PresenceWatch` ([`Server::presence`](crate::Server::presence)).
    pub presence: Option<crate::hub::PresenceConfig>,
    /// Serve `GET /health` ([`Server::serve_health`](crate::Server::serve_health)).
    pub serve_health: bool,
    /// Serve `GET /metrics` ([`Server::serve_metrics`](crate::Server::serve_metrics)).
    #[cfg(feature = "prometheus")]
    pub serve_metrics: bool,
    /// What the contract says beyond the handlers (feature `schema`).
    #[cfg(feature = "schema")]
    pub contract: crate::contract::Declared,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_message_size: 1 << 20,
            processing: Processing::Sequential,
            outbound_queue: 1024,
            handshake_timeout: Duration::from_secs(10),
            max_handshake_size: 16 * 1024,
            close_timeout: Duration::from_secs(2),
            shutdown_timeout: Duration::from_secs(30),
            handler_grace: Duration::from_secs(5),
            max_streams: 64,
            read_buffer_size: 2 * 1024,
            allowed_origins: None,
            max_rooms_per_connection: 128,
            max_call_recipients: 10_000,
            history: None,
            recovery: None,
            outbound_queue_bytes: 512 * 1024,
            slow_consumer: SlowConsumerPolicy::Disconnect,
            heartbeat: Some(Heartbeat {
                interval: Duration::from_secs(30),
                timeout: Duration::from_secs(60),
            }),
            max_connections: 10_000,
            rate_limit: None,
            write_buffer_size: 32 * 1024,
            static_files: super::StaticFiles::default(),
            trusted_proxies: crate::handshake::TrustedProxies::default(),
            protocols: Vec::new(),
            fallback: None,
            post_handler: None,
            presence: None,
            serve_health: false,
            #[cfg(feature = "prometheus")]
            serve_metrics: false,
            #[cfg(feature = "schema")]
            contract: crate::contract::Declared::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every default of README.md's "Server options" table (and the option docs), so that a
    /// changed default cannot go unnoticed by the documentation.
    #[test]
    fn the_defaults_are_the_documented_ones() {
        let config = Config::default();
        assert_eq!(config.max_message_size, 1024 * 1024, "1 MiB");
        assert_eq!(config.processing, Processing::Sequential);
        assert_eq!(config.outbound_queue, 1024);
        assert_eq!(config.outbound_queue_bytes, 512 * 1024, "512 KiB");
        assert_eq!(config.slow_consumer, SlowConsumerPolicy::Disconnect);
        assert_eq!(
            config.heartbeat,
            Some(Heartbeat {
                interval: Duration::from_secs(30),
                timeout: Duration::from_secs(60),
            })
        );
        assert_eq!(config.max_connections, 10_000);
        assert_eq!(config.rate_limit, None);
        assert_eq!(config.max_rooms_per_connection, 128);
        assert_eq!(config.handshake_timeout, Duration::from_secs(10));
        assert_eq!(config.max_handshake_size, 16 * 1024, "16 KiB");
        assert_eq!(config.read_buffer_size, 2 * 1024, "2 KiB");
        assert_eq!(config.close_timeout, Duration::from_secs(2));
        assert_eq!(config.shutdown_timeout, Duration::from_secs(30));
        assert_eq!(config.handler_grace, Duration::from_secs(5));
        assert_eq!(config.allowed_origins, None, "any origin");
        assert_eq!(config.max_streams, 64);
        assert!(config.protocols.is_empty());
    }
}
