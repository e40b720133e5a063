//! The handle to one client connection.

mod call;
mod id;
mod queue;

pub use call::{CallError, DEFAULT_CALL_TIMEOUT, MAX_PENDING_CALLS};
pub(crate) use call::{ANSWER, ANSWER_ERROR};
#[cfg(any(feature = "redis", feature = "nats"))]
pub(crate) use id::process_prefix;
pub use id::ConnectionId;
pub(crate) use queue::{Offer, OutboundQueue, OutboundReceiver, QueueLimits};

use crate::auth::UserId;
use crate::handshake::HandshakeRequest;
use crate::protocol::{encode, message_type_name, CloseCode};
use crate::server::SlowConsumerPolicy;
use crate::session::DisconnectReason;
use crate::stream::StreamTable;
use serde::Serialize;
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;

/// A handle to one client connection: its id, a way to send it messages and to close it.
///
/// Cheap to clone; usable from any task, also after the connection closed (sends then fail
/// with [`SendError::Closed`]). Take it as a handler argument:
///
/// ```
/// use exws::{message, Connection};
/// # #[derive(serde::Deserialize)] struct Subscribe {}
/// #[derive(serde::Serialize)]
/// struct Tick { n: u32 }
///
/// #[message]
/// async fn subscribe(_request: Subscribe, connection: Connection) {
///     tokio::spawn(async move {
///         for n in 0..3 {
///             if connection.send(&Tick { n }).await.is_err() {
///                 break; // the client went away
///             }
///         }
///     });
/// }
/// ```
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

struct Inner {
    id: ConnectionId,
    user_id: Option<UserId>,
    remote_addr: SocketAddr,
    outbound: OutboundQueue,
    /// Messages dropped by the `DropNewest` slow consumer policy.
    dropped: AtomicU64,
    /// Why the connection closes: the first reason asked for, by anyone
    /// ([`Connection::close_because`]). Set means closed or closing.
    reason: OnceLock<DisconnectReason>,
    /// Cancelled once `reason` is set: wakes the task that owns the connection (and whoever
    /// waits in [`Connection::closed`]).
    closed: CancellationToken,
    /// What a full queue under the `Disconnect` slow consumer policy does.
    on_overflow: OnOverflow,
    user: Option<Arc<dyn Any + Send + Sync>>,
    metadata: RwLock<HashMap<String, String>>,
    request: Arc<HandshakeRequest>,
    /// The connection's open streams.
    streams: StreamTable,
    /// The server's calls waiting for this client's answers.
    calls: call::PendingCalls,
    /// Set when the client asked for connection recovery (and for its room subscriptions).
    recover: Option<Arc<crate::recovery::Recover>>,
}

/// Why a message could not be sent to a connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The connection is closed or closing; the message was not queued.
    #[error("the connection is closed")]
    Closed,
    /// The message could not be serialized to JSON.
    #[error("the message could not be serialized to JSON: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// The longest close reason a close frame carries, in bytes (125 less the code's two).
const MAX_CLOSE_REASON: usize = 123;

/// Why [`Connection::close_with`] refused a close.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloseError {
    /// The code is one no endpoint may send (0-999, 1004-1006, 1015, 1016-2999, 5000 and up).
    #[error(
        "close code {0} may not be sent: use 1000 (normal), 1001, 1008 (policy), 1011, or an \
         application code from 3000 to 4999"
    )]
    Code(u16),
    /// The reason is longer than the 123 bytes a close frame can carry.
    #[error("a close reason of {0} bytes is too long: a close frame carries at most 123 bytes")]
    ReasonTooLong(usize),
}

/// What a full outbound queue under the `Disconnect` slow consumer policy ends.
enum OnOverflow {
    /// A client connection: it closes with [`DisconnectReason::SlowConsumer`].
    Close,
    /// A room subscription: the queue stops taking messages and this signal fires; the
    /// subscription ends, its connection stays open.
    EndSubscription(CancellationToken),
}

/// What the session needs to set a connection up.
pub(crate) struct ConnectionParts {
    pub id: ConnectionId,
    pub user_id: Option<UserId>,
    pub remote_addr: SocketAddr,
    pub outbound: OutboundQueue,
    pub user: Option<Arc<dyn Any + Send + Sync>>,
    pub metadata: HashMap<String, String>,
    pub request: Arc<HandshakeRequest>,
    /// The recovery state, for a client that asked for recovery.
    pub recover: Option<Arc<crate::recovery::Recover>>,
}

impl Connection {
    pub(crate) fn new(parts: ConnectionParts) -> Self {
        Connection::with_overflow(parts, OnOverflow::Close)
    }

    fn with_overflow(parts: ConnectionParts, on_overflow: OnOverflow) -> Self {
        Connection {
            inner: Arc::new(Inner {
                id: parts.id,
                user_id: parts.user_id,
                remote_addr: parts.remote_addr,
                outbound: parts.outbound,
                dropped: AtomicU64::new(0),
                reason: OnceLock::new(),
                closed: CancellationToken::new(),
                on_overflow,
                user: parts.user,
                metadata: RwLock::new(parts.metadata),
                request: parts.request,
                streams: StreamTable::default(),
                calls: call::PendingCalls::default(),
                recover: parts.recover,
            }),
        }
    }

    /// The connection's id, unique among the connections of this server (and, with a shared
    /// backend, of every process).
    pub fn id(&self) -> &ConnectionId {
        &self.inner.id
    }

    /// The user this connection belongs to, if the authenticator said
    /// ([`Admission::with_user_id`](crate::auth::Admission::with_user_id)).
    pub fn user_id(&self) -> Option<&UserId> {
        self.inner.user_id.as_ref()
    }

    /// The address of the peer (as a [trusted proxy](crate::Server::trusted_proxies) reported
    /// it, behind one).
    pub fn remote_addr(&self) -> SocketAddr {
        self.inner.remote_addr
    }

    /// The HTTP upgrade request the connection started with: its path, query, headers
    /// (cookies, `User-Agent`...), remote address and chosen subprotocol.
    pub fn handshake(&self) -> &HandshakeRequest {
        &self.inner.request
    }

    /// Sends `message` with the `Type` named after its Rust type (the last path segment, no
    /// generics). Waits while the connection's outbound queue is full.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropped while it waits for room in the queue, the message is not sent; once
    /// it has returned `Ok`, the message is queued and goes out.
    pub async fn send<T: Serialize + ?Sized>(&self, message: &T) -> Result<(), SendError> {
        self.send_as(message_type_name::<T>(), message).await
    }

    /// Sends `data` with an explicit `Type`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`send`](Connection::send).
    pub async fn send_as<T: Serialize + ?Sized>(
        &self,
        message_type: &str,
        data: &T,
    ) -> Result<(), SendError> {
        let text = encode(message_type, data, None)?;
        self.send_encoded(Utf8Bytes::from(text)).await
    }

    /// Queues an already encoded envelope.
    pub(crate) async fn send_encoded(&self, text: Utf8Bytes) -> Result<(), SendError> {
        if self.is_closed() {
            return Err(SendError::Closed);
        }
        self.send_reply(text).await
    }

    /// Queues the reply (or error) to a message being handled: it goes out before the close
    /// frame even when the connection is closing.
    pub(crate) async fn send_reply(&self, text: Utf8Bytes) -> Result<(), SendError> {
        if self.inner.outbound.push(text).await {
            Ok(())
        } else {
            Err(SendError::Closed)
        }
    }

    /// Queues a hub message without waiting. A full queue (in messages or bytes) means the
    /// client reads slower than the server sends: the slow consumer policy applies. Returns
    /// whether it was queued.
    pub(crate) fn deliver(&self, text: Utf8Bytes) -> bool {
        if self.is_closed() {
            return false;
        }
        match self.inner.outbound.offer(text) {
            Offer::Queued => true,
            Offer::Closed => false,
            Offer::Full => {
                match self.inner.outbound.policy() {
                    SlowConsumerPolicy::Disconnect => match &self.inner.on_overflow {
                        OnOverflow::Close => {
                            tracing::debug!(id = %self.inner.id, "slow consumer: outbound queue full, closing");
                            self.close_because(DisconnectReason::SlowConsumer);
                        }
                        OnOverflow::EndSubscription(overflowed) => {
                            tracing::debug!(id = %self.inner.id, "slow consumer: subscription queue full, ending it");
                            self.inner.outbound.close();
                            overflowed.cancel();
                        }
                    },
                    SlowConsumerPolicy::DropNewest => {
                        self.inner.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
                crate::metrics::queue_drop();
                false
            }
        }
    }

    /// Queues a recorded room message without waiting: with its position (`Pos`) for a
    /// connection that asked for recovery, and only once; as `plain` for the others.
    pub(crate) fn deliver_recorded(
        &self,
        room: &str,
        position: &crate::adapter::Position,
        plain: &Utf8Bytes,
        positioned: &std::cell::OnceCell<Utf8Bytes>,
    ) -> bool {
        match &self.inner.recover {
            None => self.deliver(plain.clone()),
            Some(recover) => recover.deliver(self, room, position, || {
                positioned
                    .get_or_init(|| crate::history::with_position(plain, room, position))
                    .clone()
            }),
        }
    }

    /// The recovery state, if the client asked for recovery.
    pub(crate) fn recover(&self) -> Option<&Arc<crate::recovery::Recover>> {
        self.inner.recover.as_ref()
    }

    /// Every metadata value of the connection.
    pub(crate) fn metadata_all(&self) -> HashMap<String, String> {
        self.inner
            .metadata
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }

    /// How many hub messages the `DropNewest` slow consumer policy dropped for this connection.
    pub fn dropped_messages(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// A member of the hub that stands for a room subscription of this connection: its own id
    /// and queue (with this connection's limits), this connection's handshake, and the signal
    /// that fires when the slow consumer policy ends the subscription (the member is never
    /// closed for it).
    ///
    /// The member of a recoverable connection is recoverable too; `hold` holds its live room
    /// messages back (up to that many) while a resume replays.
    pub(crate) fn subscription_member(
        &self,
        hold: Option<usize>,
    ) -> (Connection, OutboundReceiver, CancellationToken) {
        let (outbound, receiver) = OutboundQueue::new(self.inner.outbound.limits());
        let overflowed = CancellationToken::new();
        let parts = ConnectionParts {
            id: ConnectionId::subscription_of(&self.inner.id),
            user_id: None,
            remote_addr: self.inner.remote_addr,
            outbound,
            user: None,
            metadata: HashMap::new(),
            request: self.inner.request.clone(),
            recover: self
                .inner
                .recover
                .as_ref()
                .map(|_| Arc::new(crate::recovery::Recover::subscription(hold))),
        };
        let member =
            Connection::with_overflow(parts, OnOverflow::EndSubscription(overflowed.clone()));
        (member, receiver, overflowed)
    }

    /// How many streams (subscriptions) are open on this connection.
    pub fn open_streams(&self) -> usize {
        self.inner.streams.len()
    }

    /// Bytes queued for this connection and not yet written to its socket.
    pub fn queued_bytes(&self) -> usize {
        self.inner.outbound.queued_bytes()
    }

    /// Closes the connection normally (1000) once the messages already queued are sent.
    pub fn close(&self) {
        self.close_because(DisconnectReason::ClosedByApplication {
            code: CloseCode::NORMAL,
            reason: String::new(),
        });
    }

    /// Closes the connection with `code` and `reason` once the messages already queued are
    /// sent (and the handlers still running have finished, or their grace period has passed).
    /// The first close wins; later calls do nothing.
    ///
    /// `code` must be one an endpoint may send (RFC 6455 section 7.4): 1000-1003, 1007-1014,
    /// or 3000-4999 for applications; `reason` at most 123 bytes. Anything else is refused
    /// with a [`CloseError`] and the connection stays open.
    pub fn close_with(&self, code: CloseCode, reason: &str) -> Result<(), CloseError> {
        if !code.is_sendable() {
            return Err(CloseError::Code(code.0));
        }
        if reason.len() > MAX_CLOSE_REASON {
            return Err(CloseError::ReasonTooLong(reason.len()));
        }
        self.close_because(DisconnectReason::ClosedByApplication {
            code,
            reason: reason.to_owned(),
        });
        Ok(())
    }

    /// Asks for the connection to close for `reason`: the one way in for every close (the
    /// application, the shutdown, the heartbeat, the slow consumer policy, the rate and size
    /// limits, the client's close, a failure). Records `reason` if it is the first and wakes
    /// the task that owns the connection, which sends the close frame
    /// ([`DisconnectReason::close_frame`]) after the replies already queued. Returns whether
    /// `reason` was the first; later reasons are ignored.
    pub(crate) fn close_because(&self, reason: DisconnectReason) -> bool {
        let first = self.inner.reason.set(reason).is_ok();
        self.inner.closed.cancel();
        first
    }

    /// Why the connection closes, once a close was asked for.
    pub(crate) fn close_reason(&self) -> Option<&DisconnectReason> {
        self.inner.reason.get()
    }

    /// Whether the connection is closed or closing.
    pub fn is_closed(&self) -> bool {
        self.inner.reason.get().is_some()
    }

    /// Waits until the connection is closed or closing.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn closed(&self) {
        self.inner.closed.cancelled().await;
    }

    /// The user the handshake authenticated, if it is of type `U`.
    pub fn user<U: Any + Send + Sync>(&self) -> Option<&U> {
        self.inner.user.as_deref()?.downcast_ref::<U>()
    }

    /// Whether the handshake authenticated a user.
    pub fn is_authenticated(&self) -> bool {
        self.inner.user.is_some()
    }

    /// A metadata value of the connection (set at the handshake or by handlers).
    pub fn metadata(&self, key: &str) -> Option<String> {
        let metadata = self
            .inner
            .metadata
            .read()
            .unwrap_or_else(|poison| poison.into_inner());
        metadata.get(key).cloned()
    }

    /// Sets a metadata value of the connection.
    pub fn set_metadata(&self, key: impl Into<String>, value: impl Into<String>) {
        let mut metadata = self
            .inner
            .metadata
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        metadata.insert(key.into(), value.into());
    }

    /// Stops queueing messages: handles held elsewhere fail their sends from now on, and
    /// senders waiting for room fail at once. The session calls it once it writes its last
    /// frames.
    pub(crate) fn stop_queueing(&self) {
        self.inner.outbound.close();
    }

    /// The connection's open streams.
    pub(crate) fn streams(&self) -> &StreamTable {
        &self.inner.streams
    }

    pub(crate) fn closed_token(&self) -> &CancellationToken {
        &self.inner.closed
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.inner.id)
            .field("remote_addr", &self.inner.remote_addr)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}
