//! The Redis subscription: receives other processes' messages, follows this process's rooms,
//! and reconnects with backoff when Redis goes away.

use super::calls::{self, Routes};
use super::publisher::{Health, Publisher};
use crate::adapter::wire;
use crate::adapter::AdapterError;
use crate::adapter::Inbound;
use crate::adapter::Target;
use crate::connection::ConnectionId;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, PubSubSink, PubSubStream};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Utf8Bytes;

pub(super) fn everyone_channel(prefix: &str) -> String {
    format!("{prefix}:msg:all")
}

pub(super) fn room_channel(prefix: &str, room: &str) -> String {
    format!("{prefix}:msg:room:{room}")
}

pub(super) fn node_channel(prefix: &str, node: &str) -> String {
    format!("{prefix}:msg:node:{node}")
}

pub(super) struct SubscriberConfig {
    pub client: redis::Client,
    pub commands: ConnectionManager,
    pub inbound: Arc<dyn Inbound>,
    pub node: String,
    pub prefix: String,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    pub command_timeout: Duration,
    /// Told when the subscription is lost and when it is back.
    pub health: Arc<Health>,
    /// Sends the answers to calls from other processes.
    pub publisher: Publisher,
    /// Where answers to this process's calls go.
    pub routes: Arc<Routes>,
}

/// A request to bring the subscription of one room in line with its local members.
struct Reconcile {
    room: String,
    done: oneshot::Sender<()>,
}

/// The most reconcile requests waiting for the subscription task; a join or leave past it
/// waits for room.
const MAX_PENDING_RECONCILES: usize = 1024;

/// The handle to the subscription task.
pub(super) struct Subscriber {
    requests: mpsc::Sender<Reconcile>,
    command_timeout: Duration,
}

impl Subscriber {
    /// Connects and subscribes (failing if Redis is unreachable now), then runs the
    /// subscription in the background.
    pub(super) async fn start(config: SubscriberConfig) -> Result<Self, AdapterError> {
        let connection = connect(&config).await.map_err(|error| {
            AdapterError::Unavailable(format!("cannot subscribe on Redis: {error}"))
        })?;
        let (requests, queue) = mpsc::channel(MAX_PENDING_RECONCILES);
        let command_timeout = config.command_timeout;
        tokio::spawn(run(config, connection, queue));
        Ok(Subscriber {
            requests,
            command_timeout,
        })
    }

    /// Subscribes to `room` if it has members here, unsubscribes otherwise; returns once done
    /// (at once while Redis is away: reconnection restores every room).
    pub(super) async fn reconcile(&self, room: &str) {
        let (done, finished) = oneshot::channel();
        let request = Reconcile {
            room: room.to_owned(),
            done,
        };
        // Bounded: requests queued behind a stuck one are answered when the task gives up on
        // Redis and reconnects; a caller never waits much longer than that.
        let _ = tokio::time::timeout(self.command_timeout * 3, async {
            if self.requests.send(request).await.is_ok() {
                let _ = finished.await;
            }
        })
        .await;
    }
}

/// Connects and subscribes to the process's own channels, within a few command timeouts.
async fn connect(config: &SubscriberConfig) -> redis::RedisResult<(PubSubSink, PubSubStream)> {
    let deadline = config.command_timeout * 3;
    match tokio::time::timeout(deadline, connect_now(config)).await {
        Ok(result) => result,
        Err(_) => Err(redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "Redis did not answer in time",
        ))),
    }
}

async fn connect_now(config: &SubscriberConfig) -> redis::RedisResult<(PubSubSink, PubSubStream)> {
    let pubsub = config.client.get_async_pubsub().await?;
    let (mut sink, stream) = pubsub.split();
    sink.subscribe(everyone_channel(&config.prefix)).await?;
    sink.subscribe(node_channel(&config.prefix, &config.node))
        .await?;
    Ok((sink, stream))
}

async fn run(
    config: SubscriberConfig,
    connection: (PubSubSink, PubSubStream),
    mut requests: mpsc::Receiver<Reconcile>,
) {
    let mut connection = Some(connection);
    let mut backoff = config.reconnect_min;
    loop {
        if let Some((mut sink, mut stream)) = connection.take() {
            let mut subscribed = HashSet::new();
            let restored = tokio::time::timeout(
                config.command_timeout * 3,
                restore(&config, &mut sink, &mut subscribed),
            )
            .await;
            if matches!(restored, Ok(Ok(()))) {
                backoff = config.reconnect_min;
                config.health.set(true);
                if !serve(
                    &config,
                    &mut sink,
                    &mut stream,
                    &mut subscribed,
                    &mut requests,
                )
                .await
                {
                    return;
                }
            }
            config.health.set(false);
            tracing::warn!("lost the Redis subscription: serving local connections, reconnecting");
        }
        if !wait(jittered(backoff), &mut requests).await {
            return;
        }
        backoff = (backoff * 2).min(config.reconnect_max);
        match connect(&config).await {
            Ok(fresh) => {
                tracing::info!("reconnected to Redis");
                connection = Some(fresh);
            }
            Err(error) => tracing::debug!(%error, "reconnecting to Redis failed"),
        }
    }
}

/// Subscribes to every room with members here and writes this process's connections and
/// memberships back (a restarted Redis lost them).
async fn restore(
    config: &SubscriberConfig,
    sink: &mut PubSubSink,
    subscribed: &mut HashSet<String>,
) -> redis::RedisResult<()> {
    let memberships = config.inbound.memberships();
    for (room, _) in &memberships {
        sink.subscribe(room_channel(&config.prefix, room)).await?;
        subscribed.insert(room.clone());
    }
    let connections = config.inbound.connections_with_users();
    if connections.is_empty() && memberships.is_empty() {
        return Ok(());
    }
    let mut pipe = redis::pipe();
    for (id, user) in &connections {
        pipe.cmd("HSET")
            .arg(super::keys::conns(&config.prefix))
            .arg(id.as_str())
            .arg(&config.node)
            .ignore();
        if let Some(user) = user {
            pipe.cmd("HSET")
                .arg(super::keys::conn_users(&config.prefix))
                .arg(id.as_str())
                .arg(user.as_str())
                .ignore();
        }
        if let Some(meta) = config.inbound.presence_meta(id) {
            pipe.cmd("HSET")
                .arg(super::keys::conn_metas(&config.prefix))
                .arg(id.as_str())
                .arg(meta.to_string())
                .ignore();
        }
    }
    let mut rooms_of: HashMap<&ConnectionId, Vec<&str>> = HashMap::new();
    for (room, members) in &memberships {
        for member in members {
            rooms_of.entry(member).or_default().push(room);
        }
        let members: Vec<&str> = members.iter().map(ConnectionId::as_str).collect();
        pipe.cmd("SADD")
            .arg(super::keys::room(&config.prefix, room))
            .arg(members)
            .ignore();
    }
    for (member, rooms) in rooms_of {
        pipe.cmd("SADD")
            .arg(super::keys::conn_rooms(&config.prefix, member))
            .arg(rooms)
            .ignore();
    }
    let mut commands = config.commands.clone();
    pipe.query_async::<()>(&mut commands).await
}

/// Delivers messages and follows rooms until the subscription breaks (`true`) or the adapter
/// is gone (`false`).
async fn serve(
    config: &SubscriberConfig,
    sink: &mut PubSubSink,
    stream: &mut PubSubStream,
    subscribed: &mut HashSet<String>,
    requests: &mut mpsc::Receiver<Reconcile>,
) -> bool {
    let everyone = everyone_channel(&config.prefix);
    let rooms = room_channel(&config.prefix, "");
    let node = node_channel(&config.prefix, &config.node);
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else { return true };
                let channel = message.get_channel_name();
                let target = if channel == everyone {
                    Some(Target::Everyone)
                } else if channel == node {
                    None
                } else if let Some(room) = channel.strip_prefix(&rooms) {
                    Some(Target::Room(room.to_owned()))
                } else {
                    continue;
                };
                deliver(config, target, message.get_payload_bytes());
            }
            request = requests.recv() => {
                let Some(request) = request else { return false };
                let result = tokio::time::timeout(
                    config.command_timeout,
                    reconcile(config, sink, subscribed, &request.room),
                )
                .await;
                let _ = request.done.send(());
                if !matches!(result, Ok(Ok(()))) {
                    // Redis did not answer in time: start over on a fresh connection, which
                    // subscribes to every room with members here.
                    return true;
                }
            }
        }
    }
}

/// Delivers one message from another process; `target` is `None` for a direct message.
fn deliver(config: &SubscriberConfig, target: Option<Target>, payload: &[u8]) {
    let Some(payload) = wire::decode(payload) else {
        tracing::debug!("ignored a malformed message on a Redis channel");
        return;
    };
    if let (Some(Target::Room(room)), Some(position)) = (&target, &payload.position) {
        // A recorded room message reaches every process, its publisher included, in the
        // order of its positions.
        let text = Utf8Bytes::from(payload.text.to_owned());
        config
            .inbound
            .deliver_recorded(room, &payload.except, &text, position);
        return;
    }
    if payload.node == config.node {
        return;
    }
    if let Some(answer) = payload.answer {
        // Answers come on this process's own channel only.
        if target.is_none() {
            config.routes.route(answer, payload.text);
        }
        return;
    }
    let target = match (target, payload.to) {
        (Some(target), _) => target,
        (None, Some(to)) => Target::Connection(to),
        (None, None) => return,
    };
    if let Some(call) = payload.call {
        calls::received(
            config,
            payload.node,
            target,
            payload.except,
            call,
            payload.text,
        );
        return;
    }
    let text = Utf8Bytes::from(payload.text.to_owned());
    config.inbound.deliver(&target, &payload.except, &text);
}

async fn reconcile(
    config: &SubscriberConfig,
    sink: &mut PubSubSink,
    subscribed: &mut HashSet<String>,
    room: &str,
) -> redis::RedisResult<()> {
    let wanted = config.inbound.has_members(room);
    if wanted && !subscribed.contains(room) {
        sink.subscribe(room_channel(&config.prefix, room)).await?;
        subscribed.insert(room.to_owned());
    } else if !wanted && subscribed.remove(room) {
        sink.unsubscribe(room_channel(&config.prefix, room)).await?;
    }
    Ok(())
}

/// Sleeps `delay`, answering reconcile requests at once meanwhile; `false` if the adapter is
/// gone.
async fn wait(delay: Duration, requests: &mut mpsc::Receiver<Reconcile>) -> bool {
    let sleep = tokio::time::sleep(delay);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            () = &mut sleep => return true,
            request = requests.recv() => match request {
                Some(request) => {
                    let _ = request.done.send(());
                }
                None => return false,
            },
        }
    }
}

/// Full jitter: a random delay between half and all of `delay`.
fn jittered(delay: Duration) -> Duration {
    delay.mul_f64(0.5 + fastrand::f64() / 2.0)
}
