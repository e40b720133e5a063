//! Limits, timeouts and how a connection's messages are processed.

use crate::server::builder::Server;
use crate::server::config::{Heartbeat, Processing, RateLimit, SlowConsumerPolicy};
use std::time::Duration;

impl Server {
    /// The largest message (and frame) a client may send, in bytes. Default: 1 MiB. A larger
    /// one is answered with `message_too_large` and the connection is closed with 1009.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        if bytes < 64 {
            self.reject(
                "max_message_size",
                format!("{bytes} bytes is too small; use at least 64"),
            );
        }
        self.config.max_message_size = bytes;
        self
    }

    /// Handles each connection's messages one after another (the default): replies leave in
    /// request order.
    pub fn sequential(mut self) -> Self {
        self.config.processing = Processing::Sequential;
        self
    }

    /// Handles up to `max_in_flight` messages of each connection at once. Replies leave as
    /// handlers finish; clients match them by `Id`.
    pub fn concurrent(mut self, max_in_flight: usize) -> Self {
        if max_in_flight == 0 {
            self.reject("concurrent", "max_in_flight must be at least 1".to_owned());
        }
        self.config.processing = Processing::Concurrent { max_in_flight };
        self
    }

    /// The capacity of each connection's outbound queue, in messages. Default: 1024. A handler
    /// replying to a full queue waits for it, which slows down reading that client's requests.
    pub fn outbound_queue(mut self, messages: usize) -> Self {
        if messages == 0 {
            self.reject(
                "outbound_queue",
                "the queue needs room for at least 1 message".to_owned(),
            );
        }
        self.config.outbound_queue = messages;
        self
    }

    /// The most bytes queued for one connection and not yet written. Default: 512 KiB. With
    /// the message bound of [`outbound_queue`](Server::outbound_queue), this caps what a client
    /// that stops reading can make the server hold.
    pub fn outbound_queue_bytes(mut self, bytes: usize) -> Self {
        if bytes < 1024 {
            self.reject(
                "outbound_queue_bytes",
                format!("{bytes} bytes is too small; use at least 1024"),
            );
        }
        self.config.outbound_queue_bytes = bytes;
        self
    }

    /// What to do with a client whose outbound queue is full when a hub message (room,
    /// broadcast, direct) arrives for it. Default: [`SlowConsumerPolicy::Disconnect`].
    pub fn slow_consumer(mut self, policy: SlowConsumerPolicy) -> Self {
        self.config.slow_consumer = policy;
        self
    }

    /// How long a connection may take to complete the WebSocket upgrade. Default: 10 s.
    ///
    /// One policy for every transport: the time runs from the moment the transport has the
    /// connection (the accepted TCP connection for the standalone server and
    /// [`Endpoint::serve_connection`](crate::Endpoint::serve_connection), the TLS handshake
    /// included; the request's arrival for the axum route, whose HTTP server reads the request
    /// itself). A request not read by then is dropped without an answer; an authenticator
    /// still running then is cancelled and the client gets `503` with `Retry-After: 1`.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        if timeout.is_zero() {
            self.reject(
                "handshake_timeout",
                "a zero timeout refuses every upgrade; use a positive duration".to_owned(),
            );
        }
        self.config.handshake_timeout = timeout;
        self
    }

    /// The largest HTTP upgrade request head (request line and headers). Default: 16 KiB;
    /// larger gets `431`.
    pub fn max_handshake_size(mut self, bytes: usize) -> Self {
        if bytes < 256 {
            self.reject(
                "max_handshake_size",
                format!("{bytes} bytes cannot hold an upgrade request; use at least 256"),
            );
        }
        self.config.max_handshake_size = bytes;
        self
    }

    /// How long the server waits for a client to answer its close frame before it drops the
    /// TCP connection. Default: 2 s.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.config.close_timeout = timeout;
        self
    }

    /// At shutdown, how long in-flight handlers may run before they are cancelled and their
    /// connections closed. The whole shutdown takes at most this plus the
    /// [close timeout](Server::close_timeout) (then what is left is dropped, and the
    /// connections' disconnect hooks still run). Default: 30 s.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown_timeout = timeout;
        self
    }

    /// When a connection closes for any other reason than shutdown (the client closed, the
    /// application called [`Connection::close`](crate::Connection::close), a heartbeat
    /// timeout, a slow consumer...), how long its running handlers may go on before they are
    /// cancelled: their futures are dropped, so they stop at their next `.await`. Replies they
    /// send meanwhile are written before the close frame. Default: 5 s.
    pub fn handler_grace(mut self, grace: Duration) -> Self {
        self.config.handler_grace = grace;
        self
    }

    /// The most streams (subscriptions) one connection may hold open at once; a stream request
    /// past it is answered with `too_many_streams`. Default: 64.
    pub fn max_streams(mut self, streams: usize) -> Self {
        if streams == 0 {
            self.reject("max_streams", "use at least 1".to_owned());
        }
        self.config.max_streams = streams;
        self
    }

    /// The most rooms one connection may be in at once. Default: 128. Joining more answers
    /// [`HubError::TooManyRooms`](crate::HubError::TooManyRooms).
    pub fn max_rooms_per_connection(mut self, rooms: usize) -> Self {
        if rooms == 0 {
            self.reject(
                "max_rooms_per_connection",
                "allow at least 1 room".to_owned(),
            );
        }
        self.config.max_rooms_per_connection = rooms;
        self
    }

    /// The size of each connection's read buffer, in bytes. Default: 2 KiB, held by every
    /// connection once it has read (6.25 KiB per idle connection in all, against 8.1 KiB with
    /// 4 KiB: see BENCHMARKS.md). Larger buffers read large messages in fewer system calls.
    pub fn read_buffer_size(mut self, bytes: usize) -> Self {
        if bytes < 256 {
            self.reject(
                "read_buffer_size",
                format!("{bytes} bytes is too small; use at least 256"),
            );
        }
        self.config.read_buffer_size = bytes;
        self
    }

    /// Pings every `interval` and closes with 1008 a connection that sent nothing (no pong, no
    /// message) for `timeout`. Default: 30 s and 60 s.
    pub fn heartbeat(mut self, interval: Duration, timeout: Duration) -> Self {
        if interval.is_zero() || timeout < interval {
            self.reject(
                "heartbeat",
                "the interval must be positive and the timeout at least the interval".to_owned(),
            );
        }
        self.config.heartbeat = Some(Heartbeat { interval, timeout });
        self
    }

    /// Turns server pings and the silence timeout off.
    pub fn without_heartbeat(mut self) -> Self {
        self.config.heartbeat = None;
        self
    }

    /// The most connections open (or upgrading) at once; beyond it, upgrades are answered
    /// with 503. Default: 10,000. Each connection holds a file descriptor: keep this under the
    /// process's descriptor limit.
    pub fn max_connections(mut self, connections: usize) -> Self {
        if connections == 0 {
            self.reject("max_connections", "allow at least 1 connection".to_owned());
        }
        self.config.max_connections = connections;
        self
    }

    /// Limits each connection to `per_second` messages with bursts of `burst`; excess messages
    /// are answered with `rate_limited`, and a client that goes on sending past the limit (more
    /// than `burst` refused messages in a row) is closed with 1008. Default: no limit, so that
    /// bulk clients and benchmarks are not throttled.
    pub fn rate_limit(mut self, per_second: f64, burst: u32) -> Self {
        if !(per_second > 0.0 && per_second.is_finite()) || burst == 0 {
            self.reject(
                "rate_limit",
                "use a positive rate and a burst of at least 1".to_owned(),
            );
        }
        self.config.rate_limit = Some(RateLimit { per_second, burst });
        self
    }

    /// The most connections one [room call](crate::hub::Recipients::call) may call (and so
    /// the most answers it gathers). Default: 10 000. A call to more answers
    /// [`HubError::TooManyCallees`](crate::HubError::TooManyCallees) and calls nobody.
    pub fn max_call_recipients(mut self, recipients: usize) -> Self {
        if recipients == 0 {
            self.reject(
                "max_call_recipients",
                "allow at least 1 recipient".to_owned(),
            );
        }
        self.config.max_call_recipients = recipients;
        self
    }
}
