//! The Redis adapter: several server processes sharing one Redis act as one server.
//!
//! What lives in Redis (under a key prefix, `exws` by default):
//! - `{prefix}:conns`, a hash from connection id to the id of the process holding it;
//! - `{prefix}:connusers`, a hash from connection id to the user it belongs to (connections
//!   admitted with a user id); a user's connections are also the members of a room of the
//!   user's own, so that messages to the user reach every process holding one;
//! - `{prefix}:room:{room}`, a set of the room's members across processes (for counts and
//!   member lists);
//! - `{prefix}:connrooms:{id}`, a set of the rooms a connection is in (for cleaning up after a
//!   process that is gone);
//! - the pub/sub channels `{prefix}:msg:all` (broadcasts), `{prefix}:msg:room:{room}` (room
//!   messages; a process subscribes only while it has members in the room) and
//!   `{prefix}:msg:node:{node}` (direct messages to that process's connections).
//!
//! If Redis goes away, each process goes on serving its own connections (local rooms,
//! broadcasts and direct messages keep working) and reconnects with exponential backoff. On
//! reconnection it subscribes again and writes back its connections and memberships (a
//! restarted Redis has lost them). Lost meanwhile: messages between processes (pub/sub does
//! not queue), so other processes' members miss what was sent during the outage; direct
//! messages to other processes fail with an error; member counts are this process's only.
//! Room messages and broadcasts are published through a bounded queue that one task sends to
//! Redis as pipelines (see [`RedisAdapterConfig::publish_queue`]).
//! A process that crashes (or is killed, or cut off from Redis for good) cannot remove its own
//! entries: the other processes do once Redis has dropped its subscription (at once when its
//! host closes the socket, as for a killed process; after Redis's `tcp-keepalive` detects a
//! dead peer, a few minutes by default, when the host itself is gone), at their next sweep
//! ([`RedisAdapterConfig::sweep_interval`], 30 s by default). Until then member counts and lists
//! include its connections. A leave or close that fails while Redis is unreachable is repaired
//! the same way: the close of the connection removes every membership Redis has for it, and a
//! process's sweep removes its own connections that closed meanwhile.

mod keys;
mod publisher;
mod scripts;
mod subscriber;
mod sweeper;
mod wire;

use super::{Adapter, AdapterError, Outgoing, Target};
use crate::hub::Inbound;
use crate::{ConnectionId, UserId};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use publisher::{Health, PublishLimits, Publisher};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use scripts::{Owner, Scripts};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use subscriber::{Subscriber, SubscriberConfig};
use sweeper::SweeperConfig;
use tokio::sync::oneshot;

/// The longest [`RedisAdapterConfig::sweep_interval`].
const MAX_SWEEP_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// Settings of the [`RedisAdapter`].
#[derive(Debug, Clone)]
pub struct RedisAdapterConfig {
    url: String,
    prefix: String,
    reconnect_min: Duration,
    reconnect_max: Duration,
    command_timeout: Duration,
    publish_queue: usize,
    publish_queue_bytes: usize,
    sweep_interval: Duration,
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
    /// (the send fails with [`AdapterError::Unavailable`] at once, and a retry cannot
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

/// Carries hub messages between the processes connected to the same Redis (feature `redis`).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use exws::adapter::RedisAdapter;
///
/// exws::Server::new()
///     .adapter(RedisAdapter::new("redis://127.0.0.1:6379/")?)
///     .listen("0.0.0.0:8765")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisAdapter {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    config: RedisAdapterConfig,
    node: String,
    commands: OnceLock<ConnectionManager>,
    subscriber: OnceLock<Subscriber>,
    publisher: OnceLock<Publisher>,
    /// Dropped with the adapter, which ends the sweeping task.
    sweeper: OnceLock<oneshot::Sender<()>>,
    scripts: Scripts,
    health: Arc<Health>,
}

impl RedisAdapter {
    /// An adapter for the Redis at `url`, with default settings.
    pub fn new(url: impl Into<String>) -> Result<Self, AdapterError> {
        RedisAdapter::with_config(RedisAdapterConfig::new(url))
    }

    /// An adapter with the given settings. Fails only on an invalid URL; the connection is made
    /// at [`Server::bind`](crate::Server::bind).
    pub fn with_config(config: RedisAdapterConfig) -> Result<Self, AdapterError> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|error| AdapterError::Unavailable(format!("invalid Redis URL: {error}")))?;
        Ok(RedisAdapter {
            inner: Arc::new(Inner {
                client,
                config,
                node: next_node_id(),
                commands: OnceLock::new(),
                subscriber: OnceLock::new(),
                publisher: OnceLock::new(),
                sweeper: OnceLock::new(),
                scripts: Scripts::new(),
                health: Health::new(),
            }),
        })
    }

    /// This adapter's node id in Redis: this process's random id prefix and an instance number.
    pub fn node_id(&self) -> &str {
        &self.inner.node
    }
}

impl Inner {
    fn conns_key(&self) -> String {
        keys::conns(&self.config.prefix)
    }

    fn room_key(&self, room: &str) -> String {
        keys::room(&self.config.prefix, room)
    }

    fn conn_rooms_key(&self, id: &ConnectionId) -> String {
        keys::conn_rooms(&self.config.prefix, id)
    }

    fn commands(&self) -> Result<ConnectionManager, AdapterError> {
        self.commands.get().cloned().ok_or_else(|| {
            AdapterError::Unavailable("the Redis adapter has not started".to_owned())
        })
    }

    fn publisher(&self) -> Result<&Publisher, AdapterError> {
        self.publisher.get().ok_or_else(|| {
            AdapterError::Unavailable("the Redis adapter has not started".to_owned())
        })
    }

    async fn reconcile(&self, room: &str) {
        if let Some(subscriber) = self.subscriber.get() {
            subscriber.reconcile(room).await;
        }
    }
}

/// A node id per adapter: the process's random prefix and a counter, so that two servers in
/// one process (each with its own adapter) are two nodes.
fn next_node_id() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let instance = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}.{instance}", crate::connection::process_prefix())
}

/// `url` without its password, for messages: `redis://user:***@host:6379/`.
fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let (user_info, host) = rest.split_at(at);
    match user_info.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{host}"),
        None => url.to_owned(),
    }
}

fn unavailable(error: redis::RedisError) -> AdapterError {
    AdapterError::Unavailable(error.to_string())
}

impl Adapter for RedisAdapter {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn reachable(&self) -> bool {
        self.inner.health.reachable()
    }

    fn start(&self, inbound: Inbound) -> BoxFuture<'_, Result<(), AdapterError>> {
        async move {
            let inner = &self.inner;
            let manager_config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(inner.config.command_timeout))
                .set_response_timeout(Some(inner.config.command_timeout))
                .set_number_of_retries(1)
                .set_max_delay(inner.config.reconnect_max);
            let commands = inner
                .client
                .get_connection_manager_with_config(manager_config)
                .await
                .map_err(|error| {
                    AdapterError::Unavailable(format!(
                        "cannot connect to Redis at {}: {error} (is redis-server running there? \
                         start it, or fix the URL)",
                        shown_url(&inner.config.url)
                    ))
                })?;
            let _ = inner.commands.set(commands.clone());
            let _ = inner.publisher.set(Publisher::start(
                commands.clone(),
                PublishLimits {
                    messages: inner.config.publish_queue,
                    bytes: inner.config.publish_queue_bytes,
                },
                inner.health.clone(),
            ));
            let subscriber = Subscriber::start(SubscriberConfig {
                client: inner.client.clone(),
                commands: commands.clone(),
                inbound: inbound.clone(),
                node: inner.node.clone(),
                prefix: inner.config.prefix.clone(),
                reconnect_min: inner.config.reconnect_min,
                reconnect_max: inner.config.reconnect_max,
                command_timeout: inner.config.command_timeout,
                health: inner.health.clone(),
            })
            .await
            .map_err(|AdapterError::Unavailable(reason)| {
                AdapterError::Unavailable(format!(
                    "{reason} (Redis at {})",
                    shown_url(&inner.config.url)
                ))
            })?;
            let _ = inner.subscriber.set(subscriber);
            let _ = inner.sweeper.set(sweeper::start(SweeperConfig {
                commands,
                scripts: inner.scripts.clone(),
                inbound,
                prefix: inner.config.prefix.clone(),
                node: inner.node.clone(),
                interval: inner.config.sweep_interval,
                command_timeout: inner.config.command_timeout,
                health: inner.health.clone(),
            }));
            Ok(())
        }
        .boxed()
    }

    fn connection_opened<'a>(
        &'a self,
        id: &'a ConnectionId,
        user: Option<&'a UserId>,
    ) -> BoxFuture<'a, Result<(), AdapterError>> {
        async move {
            let inner = &self.inner;
            let mut commands = inner.commands()?;
            let mut pipe = redis::pipe();
            pipe.atomic()
                .cmd("HSET")
                .arg(inner.conns_key())
                .arg(id.as_str())
                .arg(&inner.node)
                .ignore();
            if let Some(user) = user {
                pipe.cmd("HSET")
                    .arg(keys::conn_users(&inner.config.prefix))
                    .arg(id.as_str())
                    .arg(user.as_str())
                    .ignore();
            }
            pipe.query_async::<()>(&mut commands)
                .await
                .map_err(unavailable)
        }
        .boxed()
    }

    fn user_ids<'a>(
        &'a self,
        ids: &'a [ConnectionId],
    ) -> BoxFuture<'a, Result<Option<Vec<Option<UserId>>>, AdapterError>> {
        async move {
            if ids.is_empty() {
                return Ok(Some(Vec::new()));
            }
            let inner = &self.inner;
            let mut commands = inner.commands()?;
            let ids: Vec<&str> = ids.iter().map(ConnectionId::as_str).collect();
            let users: Vec<Option<String>> = redis::cmd("HMGET")
                .arg(keys::conn_users(&inner.config.prefix))
                .arg(ids)
                .query_async(&mut commands)
                .await
                .map_err(unavailable)?;
            Ok(Some(
                users
                    .into_iter()
                    .map(|user| user.map(UserId::from))
                    .collect(),
            ))
        }
        .boxed()
    }

    fn connection_closed<'a>(
        &'a self,
        id: &'a ConnectionId,
        rooms: &'a [String],
    ) -> BoxFuture<'a, Result<(), AdapterError>> {
        async move {
            let inner = &self.inner;
            for room in rooms {
                inner.reconcile(room).await;
            }
            let mut commands = inner.commands()?;
            inner
                .scripts
                .remove_closed(
                    &mut commands,
                    &inner.config.prefix,
                    &inner.node,
                    id.as_str(),
                    rooms,
                )
                .await
                .map_err(unavailable)
        }
        .boxed()
    }

    fn room_joined<'a>(
        &'a self,
        room: &'a str,
        id: &'a ConnectionId,
        first_here: bool,
    ) -> BoxFuture<'a, Result<Option<usize>, AdapterError>> {
        async move {
            let inner = &self.inner;
            if first_here {
                // Subscribed before the join is answered: nothing sent after it is missed.
                inner.reconcile(room).await;
            }
            let mut commands = inner.commands()?;
            let key = inner.room_key(room);
            let (count,): (usize,) = redis::pipe()
                .atomic()
                .cmd("SADD")
                .arg(&key)
                .arg(id.as_str())
                .ignore()
                .cmd("SADD")
                .arg(inner.conn_rooms_key(id))
                .arg(room)
                .ignore()
                .cmd("SCARD")
                .arg(&key)
                .query_async(&mut commands)
                .await
                .map_err(unavailable)?;
            Ok(Some(count))
        }
        .boxed()
    }

    fn room_left<'a>(
        &'a self,
        room: &'a str,
        id: &'a ConnectionId,
        last_here: bool,
    ) -> BoxFuture<'a, Result<(), AdapterError>> {
        async move {
            let inner = &self.inner;
            if last_here {
                inner.reconcile(room).await;
            }
            let mut commands = inner.commands()?;
            redis::pipe()
                .cmd("SREM")
                .arg(inner.room_key(room))
                .arg(id.as_str())
                .ignore()
                .cmd("SREM")
                .arg(inner.conn_rooms_key(id))
                .arg(room)
                .ignore()
                .query_async::<()>(&mut commands)
                .await
                .map_err(unavailable)
        }
        .boxed()
    }

    fn publish(&self, message: Outgoing) -> BoxFuture<'_, Result<bool, AdapterError>> {
        async move {
            let inner = &self.inner;
            let publisher = inner.publisher()?;
            let prefix = &inner.config.prefix;
            let text = message.text.as_str();
            let id = match &message.target {
                Target::Everyone | Target::Room(_) => {
                    let channel = match &message.target {
                        Target::Room(room) => subscriber::room_channel(prefix, room),
                        _ => subscriber::everyone_channel(prefix),
                    };
                    let payload = wire::encode(&inner.node, &message.except, None, text);
                    publisher.publish(channel, payload).await?;
                    return Ok(true);
                }
                Target::Connection(id) => id,
            };
            let mut commands = inner.commands()?;
            let node: Option<String> = redis::cmd("HGET")
                .arg(inner.conns_key())
                .arg(id.as_str())
                .query_async(&mut commands)
                .await
                .map_err(unavailable)?;
            let Some(node) = node else { return Ok(false) };
            let payload = wire::encode(&inner.node, &message.except, Some(id), text);
            let channel = subscriber::node_channel(prefix, &node);
            if publisher.publish_counted(channel, payload).await? == 0 {
                // Nobody listens for that process any more: it is gone, and so is this
                // connection (removed with its memberships, as a sweep would).
                let owner = Owner::Gone {
                    channel: &subscriber::node_channel(prefix, &node),
                    node: &node,
                };
                let ids = [id.as_str().to_owned()];
                if let Err(error) = inner
                    .scripts
                    .remove_owned(&mut commands, prefix, owner, &ids)
                    .await
                {
                    tracing::debug!(%error, "removing a gone process's connection failed");
                }
                return Ok(false);
            }
            Ok(true)
        }
        .boxed()
    }

    fn room_members<'a>(
        &'a self,
        room: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<ConnectionId>>, AdapterError>> {
        async move {
            let inner = &self.inner;
            let mut commands = inner.commands()?;
            let members: Vec<String> = redis::cmd("SMEMBERS")
                .arg(inner.room_key(room))
                .query_async(&mut commands)
                .await
                .map_err(unavailable)?;
            Ok(Some(members.into_iter().map(ConnectionId::from).collect()))
        }
        .boxed()
    }
}

impl std::fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("prefix", &self.inner.config.prefix)
            .field("node", &self.inner.node)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::shown_url;

    #[test]
    fn a_shown_url_hides_only_the_password() {
        assert_eq!(
            shown_url("redis://127.0.0.1:6390/"),
            "redis://127.0.0.1:6390/"
        );
        assert_eq!(
            shown_url("redis://ada:s3cr@t@redis.example:6379/0"),
            "redis://ada:***@redis.example:6379/0"
        );
        assert_eq!(shown_url("redis://ada@host/"), "redis://ada@host/");
        assert_eq!(
            shown_url("rediss://:pw@host:6380"),
            "rediss://:***@host:6380"
        );
        assert_eq!(shown_url("not a url"), "not a url");
    }
}
