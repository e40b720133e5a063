//! The adapter value: its shared state, and the [`Adapter`] implementation that forwards each
//! hub call to its operation (`operations`) or to the start-up (`connect`).

use super::config::NatsAdapterConfig;
use super::jetstream::JetStream;
use super::publisher::Publisher;
use super::replies::Replies;
use super::subjects::{is_plain, Subjects};
use super::subscriber::Subscriber;
use crate::adapter::{Adapter, AdapterError, Inbound, Outgoing};
use crate::auth::UserId;
use crate::connection::ConnectionId;
use async_nats::connection::State;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use tokio::sync::oneshot;

/// Carries hub messages between the processes connected to the same NATS (feature `nats`),
/// with the shared view of connections and rooms in a JetStream stream.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use exws::adapter::NatsAdapter;
///
/// exws::Server::new()
///     .adapter(NatsAdapter::new("nats://127.0.0.1:4222")?)
///     .listen("0.0.0.0:8765")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct NatsAdapter {
    inner: Arc<Inner>,
}

/// The adapter's state, shared by its clones and its tasks.
pub(super) struct Inner {
    pub(super) config: NatsAdapterConfig,
    pub(super) subjects: Subjects,
    pub(super) node: String,
    pub(super) client: OnceLock<async_nats::Client>,
    pub(super) jetstream: OnceLock<JetStream>,
    pub(super) publisher: OnceLock<Publisher>,
    pub(super) subscriber: OnceLock<Subscriber>,
    pub(super) replies: OnceLock<Replies>,
    /// The sequence number of this process's next message.
    pub(super) seq: AtomicU64,
    /// Dropped with the adapter, which ends its background tasks.
    pub(super) stop: OnceLock<oneshot::Sender<()>>,
}

impl NatsAdapter {
    /// An adapter for the NATS at `url`, with default settings.
    pub fn new(url: impl Into<String>) -> Result<Self, AdapterError> {
        NatsAdapter::with_config(NatsAdapterConfig::new(url))
    }

    /// An adapter with the given settings. Fails only on settings that cannot work (an empty
    /// URL, a prefix that is not a subject token); the connection is made at
    /// [`Server::bind`](crate::Server::bind).
    pub fn with_config(config: NatsAdapterConfig) -> Result<Self, AdapterError> {
        if config.url.trim().is_empty() {
            return Err(AdapterError::Unavailable(
                "the NATS URL is empty: give one such as nats://127.0.0.1:4222".to_owned(),
            ));
        }
        if !is_plain(&config.prefix) {
            return Err(AdapterError::Unavailable(format!(
                "the NATS subject prefix {:?} must be ASCII letters, digits, `-` and `_` only",
                config.prefix
            )));
        }
        Ok(NatsAdapter {
            inner: Arc::new(Inner {
                subjects: Subjects::new(&config.prefix),
                config,
                node: next_node_id(),
                client: OnceLock::new(),
                jetstream: OnceLock::new(),
                publisher: OnceLock::new(),
                subscriber: OnceLock::new(),
                replies: OnceLock::new(),
                seq: AtomicU64::new(1),
                stop: OnceLock::new(),
            }),
        })
    }

    /// This adapter's node id: this process's random id prefix and an instance number.
    pub fn node_id(&self) -> &str {
        &self.inner.node
    }
}

impl Inner {
    pub(super) fn jetstream(&self) -> Result<&JetStream, AdapterError> {
        self.jetstream.get().ok_or_else(not_started)
    }

    pub(super) fn publisher(&self) -> Result<&Publisher, AdapterError> {
        self.publisher.get().ok_or_else(not_started)
    }

    pub(super) fn replies(&self) -> Result<&Replies, AdapterError> {
        self.replies.get().ok_or_else(not_started)
    }

    pub(super) async fn reconcile(&self, room: &str) {
        if let Some(subscriber) = self.subscriber.get() {
            subscriber.reconcile(room).await;
        }
    }

    pub(super) fn reachable(&self) -> bool {
        self.client
            .get()
            .is_none_or(|client| client.connection_state() == State::Connected)
    }
}

fn not_started() -> AdapterError {
    AdapterError::Unavailable("the NATS adapter has not started".to_owned())
}

/// A node id per adapter: the process's random prefix and a counter, so that two servers in
/// one process (each with its own adapter) are two nodes. A plain subject token.
fn next_node_id() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let instance = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{instance}", crate::connection::process_prefix())
}

impl Adapter for NatsAdapter {
    fn name(&self) -> &'static str {
        "nats"
    }

    fn reachable(&self) -> bool {
        self.inner.reachable()
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
}

impl std::fmt::Debug for NatsAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsAdapter")
            .field("prefix", &self.inner.config.prefix)
            .field("node", &self.inner.node)
            .finish_non_exhaustive()
    }
}
