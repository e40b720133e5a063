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
    pub read_buffer_size: usize,
    /// `None`: any `Origin`; `Some`: only these (exact, ASCII case-insensitive).
    pub allowed_origins: Option<Vec<String>>,
    pub max_rooms_per_connection: usize,
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
            read_buffer_size: 8 * 1024,
            allowed_origins: None,
            max_rooms_per_connection: 128,
        }
    }
}
