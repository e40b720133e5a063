//! The adapter value: its shared state, and the [`Adapter`] implementation that forwards each
//! hub call to its operation (`operations`) or to the start-up (`connect`).

use super::calls::Routes;
use super::config::RedisAdapterConfig;
use super::keys;
use super::publisher::{Health, Publisher};
use super::scripts::Scripts;
use super::subscriber::Subscriber;
use crate::adapter::{
    Adapter, AdapterError, AnswerSender, CallRequest, HistoryLimits, HistoryPage, HistoryQuery,
    Inbound, Outgoing, Position, PresenceRecord,
};
use crate::auth::UserId;
use crate::connection::ConnectionId;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use redis::aio::ConnectionManager;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::oneshot;

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

/// The adapter's state, shared by its clones and its tasks.
pub(super) struct Inner {
    pub(super) client: redis::Client,
    pub(super) config: RedisAdapterConfig,
    pub(super) node: String,
    pub(super) commands: OnceLock<ConnectionManager>,
    pub(super) subscriber: OnceLock<Subscriber>,
    pub(super) publisher: OnceLock<Publisher>,
    pub(super) recorder: OnceLock<super::recorder::Recorder>,
    /// Dropped with the adapter, which ends the sweeping task.
    pub(super) sweeper: OnceLock<oneshot::Sender<()>>,
    pub(super) scripts: Scripts,
    pub(super) history_scripts: super::history::HistoryScripts,
    pub(super) health: Arc<Health>,
    /// This process, once started (for reports of gone connections).
    pub(super) inbound: OnceLock<Arc<dyn Inbound>>,
    /// This process's calls that wait for answers from other processes.
    pub(super) routes: Arc<Routes>,
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
                recorder: OnceLock::new(),
                sweeper: OnceLock::new(),
                scripts: Scripts::new(),
                history_scripts: super::history::HistoryScripts::new(),
                health: Health::new(),
                inbound: OnceLock::new(),
                routes: Arc::new(Routes::default()),
            }),
        })
    }

    /// This adapter's node id in Redis: this process's random id prefix and an instance number.
    pub fn node_id(&self) -> &str {
        &self.inner.node
    }
}

impl Inner {
    pub(super) fn conns_key(&self) -> String {
        keys::conns(&self.config.prefix)
    }

    pub(super) fn room_key(&self, room: &str) -> String {
        keys::room(&self.config.prefix, room)
    }

    pub(super) fn conn_rooms_key(&self, id: &ConnectionId) -> String {
        keys::conn_rooms(&self.config.prefix, id)
    }

    pub(super) fn commands(&self) -> Result<ConnectionManager, AdapterError> {
        self.commands.get().cloned().ok_or_else(|| {
            AdapterError::Unavailable("the Redis adapter has not started".to_owned())
        })
    }

    pub(super) fn publisher(&self) -> Result<&Publisher, AdapterError> {
        self.publisher.get().ok_or_else(|| {
            AdapterError::Unavailable("the Redis adapter has not started".to_owned())
        })
    }

    pub(super) async fn reconcile(&self, room: &str) {
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

impl Adapter for RedisAdapter {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn reachable(&self) -> bool {
        self.inner.health.reachable()
    }

    fn start(&self, inbound: Arc<dyn Inbound>) -> BoxFuture<'_, Result<(), AdapterError>> {
        self.inner.start(inbound).boxed()
    }

    fn connection_opened<'a>(
        &'a self,
        id: &'a ConnectionId,
        user: Option<&'a UserId>,
    ) -> BoxFuture<'a, Result<(), AdapterError>> {
        self.inner.connection_opened(id, user).boxed()
    }

    fn user_ids<'a>(
        &'a self,
        ids: &'a [ConnectionId],
    ) -> BoxFuture<'a, Result<Option<Vec<Option<UserId>>>, AdapterError>> {
        self.inner.user_ids(ids).boxed()
    }

    fn connection_closed<'a>(
        &'a self,
        id: &'a ConnectionId,
        rooms: &'a [String],
    ) -> BoxFuture<'a, Result<(), AdapterError>> {
        self.inner.connection_closed(id, rooms).boxed()
    }

    fn room_joined<'a>(
        &'a self,
        room: &'a str,
        id: &'a ConnectionId,
        first_here: bool,
    ) -> BoxFuture<'a, Result<Option<usize>, AdapterError>> {
        self.inner.room_joined(room, id, first_here).boxed()
    }

    fn room_left<'a>(
        &'a self,
        room: &'a str,
        id: &'a ConnectionId,
        last_here: bool,
    ) -> BoxFuture<'a, Result<(), AdapterError>> {
        self.inner.room_left(room, id, last_here).boxed()
    }

    fn publish(&self, message: Outgoing) -> BoxFuture<'_, Result<bool, AdapterError>> {
        self.inner.publish(message).boxed()
    }

    fn room_members<'a>(
        &'a self,
        room: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<ConnectionId>>, AdapterError>> {
        self.inner.room_members(room).boxed()
    }

    // ---- presence ----

    fn connection_meta<'a>(
        &'a self,
        id: &'a ConnectionId,
        meta: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<(), AdapterError>> {
        self.inner.connection_meta(id, meta).boxed()
    }

    fn presences<'a>(
        &'a self,
        room: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<PresenceRecord>>, AdapterError>> {
        self.inner.presences(room).boxed()
    }

    fn call(
        &self,
        call: CallRequest,
        answers: AnswerSender,
    ) -> BoxFuture<'_, Result<bool, AdapterError>> {
        self.inner.call(call, answers).boxed()
    }

    // ---- history and recovery ----

    fn publish_recorded<'a>(
        &'a self,
        message: Outgoing,
        limits: &'a HistoryLimits,
    ) -> BoxFuture<'a, Result<bool, AdapterError>> {
        self.inner.publish_recorded(message, limits).boxed()
    }

    fn history_position<'a>(
        &'a self,
        room: &'a str,
        limits: &'a HistoryLimits,
    ) -> BoxFuture<'a, Result<Option<Position>, AdapterError>> {
        self.inner.history_position(room, limits).boxed()
    }

    fn history_read<'a>(
        &'a self,
        room: &'a str,
        query: HistoryQuery,
        limits: &'a HistoryLimits,
    ) -> BoxFuture<'a, Result<Option<HistoryPage>, AdapterError>> {
        self.inner.history_read(room, query, limits).boxed()
    }

    fn session_store<'a>(
        &'a self,
        key: &'a str,
        record: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, AdapterError>> {
        self.inner.session_store(key, record, ttl).boxed()
    }

    fn session_touch<'a>(
        &'a self,
        keys: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, AdapterError>> {
        self.inner.session_touch(keys, ttl).boxed()
    }

    fn session_take<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, AdapterError>> {
        self.inner.session_take(key).boxed()
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
