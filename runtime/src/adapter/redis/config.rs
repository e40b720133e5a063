//! The settings of the Redis adapter: where Redis is, and the limits and timings of the
//! adapter's work with it.

use std::time::Duration;

/// The longest [`RedisAdapterConfig::sweep_interval`].
const MAX_SWEEP_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// Settings of the [`RedisAdapter`](super::RedisAdapter).
#[derive(Debug, Clone)]
pub struct RedisAdapterConfig {
    pub(super) url: String,
    pub(super) prefix: String,
    pub(super) reconnect_min: Duration,
    pub(super) reconnect_max: Duration,
    pub(super) command_timeout: Duration,
    pub(super) publish_queue: usize,
    pub(super) publish_queue_bytes: usize,
    pub(super) sweep_interval: Duration,
}

impl RedisAdapterConfig {
    /// Settings for the Redis at `url` (e.g. `redis://127.0.0.1:6379/`), with defaults: key
    /// prefix `exws`, reconnection backoff from 100 ms to 5 s, command timeout 1 s, publish
    /// queue of 10,000 messages and 16 MiB, a sweep for gone processes every 30 s.
    pub fn new(url: impl Into<String>) -> Self {
        RedisAdapterConfig {
            url: url.into(),
            prefix: "exws".to_owned(),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(5),
            command_timeout: Duration::from_secs(1),
            publish_queue: 10_000,
            publish_queue_bytes: 16 << 20,
            sweep_interval: Duration::from_secs(30),
        }
    }

    /// How often this process looks for connections that processes which are gone (crashed,
    /// killed, cut off from Redis) left in Redis, and removes them with their memberships, so
    /// that member counts and lists heal (default 30 s, at least 100 ms; each sweep is jittered
    /// by ±25 %). A process counts as gone when it has no subscription on Redis: one that
    /// reconnects later writes its connections back. A sweep reads the connection hash
    /// (`HSCAN`, one round trip per 1,000 connections); at most a day.
    pub fn sweep_interval(mut self, interval: Duration) -> Self {
        self.sweep_interval = interval.clamp(Duration::from_millis(100), MAX_SWEEP_INTERVAL);
        self
    }

    /// How many messages may wait to be published on Redis. Publishes are pipelined: a send
    /// returns once its message is queued, and the queue goes out in batches, in order. When
    /// the queue is full a sender waits for room; while Redis is unreachable nothing is queued
    /// (the send fails with [`AdapterError::Unavailable`](crate::adapter::AdapterError::Unavailable) at once, and a retry cannot
    /// duplicate it).
    pub fn publish_queue(mut self, messages: usize) -> Self {
        self.publish_queue = messages.max(1);
        self
    }

    /// How many bytes of messages may wait to be published on Redis (default 16 MiB), with
    /// [`publish_queue`](RedisAdapterConfig::publish_queue) the other bound: a sender waits
    /// until both have room. A message larger than the budget waits for an empty queue.
    pub fn publish_queue_bytes(mut self, bytes: usize) -> Self {
        self.publish_queue_bytes = bytes.max(1);
        self
    }

    /// The prefix of every key and channel: deployments sharing one Redis use different ones.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The reconnection backoff: first delay and largest delay (doubling, with jitter).
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.reconnect_min = min;
        self.reconnect_max = max.max(min);
        self
    }

    /// How long one Redis command may take before it counts as failed.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }
}
