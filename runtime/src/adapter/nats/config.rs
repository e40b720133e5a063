//! The settings of the NATS adapter: where NATS is, and the limits and timings of the adapter's
//! work with it.

use std::time::Duration;

/// The longest [`NatsAdapterConfig::sweep_interval`].
const MAX_SWEEP_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// Settings of the [`NatsAdapter`](super::NatsAdapter).
#[derive(Debug, Clone)]
pub struct NatsAdapterConfig {
    pub(super) url: String,
    pub(super) prefix: String,
    pub(super) replicas: usize,
    pub(super) reconnect_min: Duration,
    pub(super) reconnect_max: Duration,
    pub(super) command_timeout: Duration,
    pub(super) publish_queue: usize,
    pub(super) publish_queue_bytes: usize,
    pub(super) sweep_interval: Duration,
}

impl NatsAdapterConfig {
    /// Settings for the NATS at `url` (e.g. `nats://127.0.0.1:4222`; several servers of a
    /// cluster separated by commas), with defaults: subject prefix `exws`, one stream replica,
    /// reconnection backoff from 100 ms to 5 s, command timeout 1 s (the ping interval is five of
    /// them),
    /// publish queue of 10,000 messages and 16 MiB, a sweep for gone processes every 30 s.
    /// The server must run JetStream (`nats-server -js`).
    pub fn new(url: impl Into<String>) -> Self {
        NatsAdapterConfig {
            url: url.into(),
            prefix: "exws".to_owned(),
            replicas: 1,
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
            command_timeout: Duration::from_secs(1),
            publish_queue: 10_000,
            publish_queue_bytes: 16 << 20,
            sweep_interval: Duration::from_secs(30),
        }
    }

    /// The prefix of every subject, and of the state stream's name (`{prefix}-state`):
    /// deployments sharing one NATS use different ones. ASCII letters, digits, `-` and `_`
    /// only (checked by [`NatsAdapter::with_config`](super::NatsAdapter::with_config)).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How many replicas the state stream has in a JetStream cluster (default 1, at most 5).
    pub fn replicas(mut self, replicas: usize) -> Self {
        self.replicas = replicas.clamp(1, 5);
        self
    }

    /// How often this process looks for connections that processes which are gone (crashed,
    /// killed, cut off from NATS) left in the state stream, and removes them with their
    /// memberships (default 30 s, at least 100 ms, at most a day; each sweep is jittered by
    /// ±25 %). A process counts as gone when NATS answers "no responders" on its subject. A
    /// sweep reads the stream's connection subjects and asks each other process once.
    pub fn sweep_interval(mut self, interval: Duration) -> Self {
        self.sweep_interval = interval.clamp(Duration::from_millis(100), MAX_SWEEP_INTERVAL);
        self
    }

    /// How many messages may wait to be published on NATS (default 10,000). A send returns
    /// once its message is queued; one task hands the queue to NATS in batches, in order, and
    /// waits for the server to have read each batch (one round trip) before it takes the
    /// next. When the queue is full a sender waits for room; while NATS is
    /// unreachable nothing is queued (the send fails with
    /// [`AdapterError::Unavailable`](crate::adapter::AdapterError::Unavailable) at once, and a
    /// retry cannot duplicate it).
    pub fn publish_queue(mut self, messages: usize) -> Self {
        self.publish_queue = messages.max(1);
        self
    }

    /// How many bytes of messages may wait to be published (default 16 MiB), with
    /// [`publish_queue`](NatsAdapterConfig::publish_queue) the other bound: a sender waits
    /// until both have room. A message larger than the budget waits for an empty queue.
    pub fn publish_queue_bytes(mut self, bytes: usize) -> Self {
        self.publish_queue_bytes = bytes.max(1);
        self
    }

    /// The reconnection backoff: first delay and largest delay (doubling, with jitter).
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.reconnect_min = min;
        self.reconnect_max = max.max(min);
        self
    }

    /// How long one request to NATS may take before it counts as failed (default 1 s). The
    /// client pings every five of them, and takes a server that leaves two pings unanswered
    /// for gone (reconnecting), so a frozen server is noticed within 10 to 15 timeouts.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout.max(Duration::from_millis(10));
        self
    }
}
