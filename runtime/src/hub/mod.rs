//! The hub: rooms, broadcasts and direct messages, from handlers or from anywhere.

mod history;
mod local;
mod presence;
mod recipients;
mod sessions;
mod subscription;

pub(crate) use presence::serve_watch;
pub use presence::{PresenceAccess, PresenceConfig, PresenceItem, PresenceSubscription};
pub use recipients::Recipients;
pub use subscription::{RoomEnvelope, RoomSubscription};

use crate::adapter::{Adapter, AdapterError, Target};
use crate::auth::UserId;
use crate::connection::{Connection, ConnectionId};
use crate::context::Context;
use crate::extract::{FromContext, Rejection};
pub(crate) use local::user_room;
use local::{JoinRefused, LocalHub};
use std::sync::Arc;

/// Rooms, broadcasts and direct messages.
///
/// Take it as a handler argument, or from the server with
/// [`BoundServer::hub`](crate::BoundServer::hub) to send from any task (e.g. a background job
/// pushing progress). Cheap to clone. A message to many connections is serialized once and
/// shared. With a shared [adapter](crate::adapter) (Redis), rooms, counts and deliveries span
/// every process.
///
/// ```
/// use exws::{message, Connection, Hub};
/// # #[derive(serde::Deserialize)] struct SendToRoom { room: String, text: String }
/// #[derive(serde::Serialize)]
/// struct RoomMessage { room: String, from: String, text: String }
///
/// #[message]
/// async fn send_to_room(request: SendToRoom, connection: Connection, hub: Hub) -> Result<(), exws::HubError> {
///     let message = RoomMessage {
///         room: request.room.clone(),
///         from: connection.id().to_string(),
///         text: request.text,
///     };
///     hub.room(&request.room).except(connection.id()).send(&message).await
/// }
/// ```
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

struct HubInner {
    local: Arc<LocalHub>,
    adapter: Arc<dyn Adapter>,
    max_rooms_per_connection: usize,
    presence: presence::Tracker,
    max_call_recipients: usize,
    /// Room history, when on: its limits.
    history: Option<crate::history::HistoryLimits>,
    /// Connection recovery, when on: its window.
    recovery: Option<std::time::Duration>,
    /// History and sessions kept here when the adapter keeps none.
    memory: crate::history::Memory,
}

/// Why a hub operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    /// No process holds a connection with this id (it never existed or has closed).
    #[error("no connection {0} (it never existed or has closed)")]
    UnknownConnection(ConnectionId),
    /// No process holds a connection of this user (none is open).
    #[error("user {0} has no open connection")]
    UnknownUser(UserId),
    /// The connection is already in as many rooms as the server allows.
    #[error("the connection is already in {0} rooms, the most the server allows; leave one first")]
    TooManyRooms(usize),
    /// A [call](Recipients::call) names more connections than the server allows
    /// ([`Server::max_call_recipients`](crate::Server::max_call_recipients)); nobody was
    /// called. Call a smaller room, or raise the limit.
    #[error("the call names {recipients} connections, more than the {max} the server allows; call a smaller room or raise Server::max_call_recipients")]
    TooManyCallees {
        /// How many connections the call named.
        recipients: usize,
        /// The server's limit.
        max: usize,
    },
    /// The room name is empty, longer than 256 bytes, or holds control characters.
    #[error("invalid room name {0:?}: use 1 to 256 bytes without control characters")]
    InvalidRoom(String),
    /// The message could not be serialized to JSON.
    #[error("the message could not be serialized to JSON: {0}")]
    Serialize(#[from] serde_json::Error),
    /// Presence watches need [`Server::presence`](crate::Server::presence).
    #[error("presence watches are off on this server: turn them on with Server::presence")]
    PresenceOff,
    /// Room history is off on this server.
    #[error("room history is off: turn it on with `Server::history` or `Server::recovery`")]
    HistoryOff,
    /// The adapter's backend is unavailable; local delivery happened, remote did not.
    #[error(transparent)]
    Adapter(#[from] AdapterError),
}

impl Hub {
    pub(crate) fn new(
        adapter: Arc<dyn Adapter>,
        max_rooms_per_connection: usize,
        presence: Option<PresenceConfig>,
        max_call_recipients: usize,
        history: Option<crate::history::HistoryLimits>,
        recovery: Option<std::time::Duration>,
    ) -> Self {
        Hub {
            inner: Arc::new(HubInner {
                local: Arc::new(LocalHub::default()),
                adapter,
                max_rooms_per_connection,
                presence: presence::Tracker::new(presence),
                max_call_recipients,
                history,
                recovery,
                memory: crate::history::Memory::default(),
            }),
        }
    }

    /// The most connections one [`Recipients::call`] may call.
    pub(crate) fn max_call_recipients(&self) -> usize {
        self.inner.max_call_recipients
    }

    /// Starts the adapter.
    pub(crate) async fn start(&self) -> Result<(), AdapterError> {
        let inbound = presence::HubInbound {
            local: self.inner.local.clone(),
            hub: Arc::downgrade(&self.inner),
        };
        self.inner.adapter.start(Arc::new(inbound)).await?;
        if let Some(window) = self.inner.recovery {
            sessions::keep_alive(self, window);
        }
        Ok(())
    }

    /// Whether the built-in `PresenceWatch` is on ([`Server::presence`](crate::Server::presence)).
    pub(crate) fn watches_presence(&self) -> bool {
        self.inner.presence.watches()
    }

    /// A connection opened: it can now be addressed, and through its user if it has one.
    pub(crate) async fn register(&self, connection: &Connection) {
        let id = connection.id();
        let user_id = connection.user_id();
        self.inner.local.add(connection.clone());
        if let Err(error) = self.inner.adapter.connection_opened(id, user_id).await {
            tracing::warn!(%error, %id, "the adapter could not record a new connection");
        }
        self.presence_opened(connection).await;
        if let Some(user_id) = user_id {
            // A user is a room of its connections: its messages reach every process that
            // holds one, and every process's view heals like a room's.
            let room = user_room(user_id);
            if let Ok(joined) = self.inner.local.join(id, &room, usize::MAX) {
                if let Err(error) = self
                    .inner
                    .adapter
                    .room_joined(&room, id, joined.first_here)
                    .await
                {
                    tracing::warn!(%error, %id, "the adapter could not record a user's connection");
                }
                self.joined_recoverable(connection, &room).await;
            }
        }
    }

    /// A connection closed: out of every room and unreachable.
    pub(crate) async fn unregister(&self, id: &ConnectionId) {
        let record = self.presence_closing(id);
        let rooms = self.inner.local.remove(id);
        let names: Vec<String> = rooms.into_iter().map(|(room, _)| room).collect();
        if let Err(error) = self.inner.adapter.connection_closed(id, &names).await {
            tracing::warn!(%error, %id, "the adapter could not record a closed connection");
        }
        if let Some(record) = record {
            for room in &names {
                self.presence_changed(room, Vec::new(), vec![record.clone()])
                    .await;
            }
        }
    }

    /// Forgets a connection on this process only, at once (no runtime is left to tell the
    /// adapter; other processes sweep its entries).
    pub(crate) fn forget_here(&self, id: &ConnectionId) {
        self.inner.local.remove(id);
    }

    /// Puts the connection `id` (of this process) in `room`, creating the room if needed.
    /// Returns the room's member count after joining, across every process (on this process
    /// only while the adapter's backend is unavailable).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe with an adapter: the connection joins on this process at the first poll;
    /// dropped while the adapter records the join, the other processes may not count it.
    /// [`leave`](Hub::leave) puts it right; so does the connection closing.
    pub async fn join(&self, id: &ConnectionId, room: &str) -> Result<usize, HubError> {
        check_room(room)?;
        self.join_unchecked(id, room).await
    }

    /// [`join`](Hub::join) any room, the hub's own included (its name is not checked).
    pub(crate) async fn join_unchecked(
        &self,
        id: &ConnectionId,
        room: &str,
    ) -> Result<usize, HubError> {
        let joined = self
            .inner
            .local
            .join(id, room, self.inner.max_rooms_per_connection)
            .map_err(|refused| match refused {
                JoinRefused::UnknownConnection => HubError::UnknownConnection(id.clone()),
                JoinRefused::TooManyRooms => {
                    HubError::TooManyRooms(self.inner.max_rooms_per_connection)
                }
            })?;
        let recorded = self
            .inner
            .adapter
            .room_joined(room, id, joined.first_here)
            .await;
        let Some(connection) = self.inner.local.connection(id) else {
            // The connection closed while the adapter recorded the join (a join from another
            // task racing the close): its cleanup may have run before the join landed, so
            // take the join back.
            let last_here = !self.inner.local.has_room(room);
            if let Err(error) = self.inner.adapter.room_left(room, id, last_here).await {
                tracing::warn!(%error, room, "the adapter could not take back a join");
            }
            return Err(HubError::UnknownConnection(id.clone()));
        };
        if joined.newly {
            self.presence_joined(room, id).await;
        }
        if connection.recover().is_some() {
            self.joined_recoverable(&connection, room).await;
            self.save_session_of(&connection).await;
        }
        match recorded {
            Ok(Some(everywhere)) => Ok(everywhere),
            Ok(None) => Ok(joined.members_here),
            Err(error) => {
                tracing::warn!(%error, room, "the adapter could not record a join: the count is local");
                Ok(joined.members_here)
            }
        }
    }

    /// Takes the connection `id` out of `room`. Returns whether it was in it. A room without
    /// members no longer exists. Succeeds while the adapter's backend is unavailable.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe with an adapter: the connection leaves on this process at the first
    /// poll; dropped while the adapter records the leave, the other processes may still count
    /// it until the connection closes.
    pub async fn leave(&self, id: &ConnectionId, room: &str) -> Result<bool, HubError> {
        check_room(room)?;
        let Some(last_here) = self.inner.local.leave(id, room) else {
            return Ok(false);
        };
        // Only a recoverable connection's session records its rooms (none without recovery).
        let recoverable = self
            .inner
            .recovery
            .and_then(|_| self.inner.local.connection(id));
        if let Some(connection) = recoverable {
            if let Some(recover) = connection.recover() {
                recover.left(room);
                self.save_session_of(&connection).await;
            }
        }
        if let Err(error) = self.inner.adapter.room_left(room, id, last_here).await {
            // The leave happened here; the backend learns it when it comes back (a restored
            // process writes its memberships again).
            tracing::warn!(%error, room, "the adapter could not record a leave");
        }
        self.presence_left(room, id).await;
        Ok(true)
    }

    /// Closes the connection `id` wherever it is open, because its session was resumed on a
    /// new connection. Returns whether it is still open somewhere (closing).
    pub(crate) async fn close_resumed(&self, id: &ConnectionId) -> bool {
        if let Some(connection) = self.inner.local.connection(id) {
            connection.close_because(crate::session::DisconnectReason::Resumed);
            return true;
        }
        let takeover = crate::adapter::Outgoing {
            target: Target::Connection(id.clone()),
            except: Vec::new(),
            text: crate::recovery::TAKEOVER.into(),
        };
        match self.inner.adapter.publish(takeover).await {
            Ok(reached) => reached,
            Err(error) => {
                tracing::warn!(%error, %id, "could not reach a resumed session's old connection");
                false
            }
        }
    }

    /// The rooms the connection `id` (of this process) is in, sorted.
    pub fn rooms_of(&self, id: &ConnectionId) -> Vec<String> {
        self.inner.local.rooms_of(id)
    }

    /// The members of `room` across every process, sorted.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn members(&self, room: &str) -> Result<Vec<ConnectionId>, HubError> {
        match self.inner.adapter.room_members(room).await? {
            Some(mut members) => {
                members.sort();
                Ok(members)
            }
            None => Ok(self.inner.local.members(room)),
        }
    }

    /// The users with a connection in `room`, across every process, sorted and each once
    /// (a user with two connections in the room is listed once; connections without a user
    /// are not listed: [`members`](Hub::members) has every connection).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn member_users(&self, room: &str) -> Result<Vec<UserId>, HubError> {
        let members = self.members(room).await?;
        let users = match self.inner.adapter.user_ids(&members).await? {
            Some(users) => users,
            None => self.inner.local.user_ids(&members),
        };
        let mut users: Vec<UserId> = users.into_iter().flatten().collect();
        users.sort();
        users.dedup();
        Ok(users)
    }

    /// The open connections of user `id`, across every process, sorted.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads.
    pub async fn user_connections(&self, id: &UserId) -> Result<Vec<ConnectionId>, HubError> {
        self.members(&user_room(id)).await
    }

    /// The connection `id`, if it is on this process.
    pub fn local_connection(&self, id: &ConnectionId) -> Option<Connection> {
        self.inner.local.connection(id)
    }

    /// The ids of this process's open connections.
    pub fn local_connection_ids(&self) -> Vec<ConnectionId> {
        self.inner.local.connection_ids()
    }

    /// How many connections are open on this process.
    pub fn local_connection_count(&self) -> usize {
        self.inner.local.connection_count()
    }

    /// How many rooms have members on this process.
    pub fn local_room_count(&self) -> usize {
        self.inner.local.room_count()
    }

    /// Messages to one connection, wherever it is.
    pub fn to(&self, id: &ConnectionId) -> Recipients<'_> {
        Recipients::new(self, Target::Connection(id.clone()))
    }

    /// Messages to every connection of user `id` (two tabs, a phone and a laptop...), wherever
    /// they are. Sending fails with [`HubError::UnknownUser`] when the user has no open
    /// connection.
    pub fn user(&self, id: &UserId) -> Recipients<'_> {
        Recipients::for_user(self, id.clone())
    }

    /// Messages to every member of `room`.
    pub fn room(&self, room: &str) -> Recipients<'_> {
        Recipients::new(self, Target::Room(room.to_owned()))
    }

    /// Messages to every connection.
    pub fn everyone(&self) -> Recipients<'_> {
        Recipients::new(self, Target::Everyone)
    }

    pub(crate) fn local(&self) -> &LocalHub {
        &self.inner.local
    }

    pub(crate) fn adapter(&self) -> &dyn Adapter {
        &*self.inner.adapter
    }
}

pub(crate) fn check_room(room: &str) -> Result<(), HubError> {
    if room.is_empty() || room.len() > 256 || room.chars().any(char::is_control) {
        return Err(HubError::InvalidRoom(room.chars().take(64).collect()));
    }
    Ok(())
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("connections", &self.local_connection_count())
            .field("rooms", &self.local_room_count())
            .finish()
    }
}

impl FromContext for Hub {
    async fn from_context(context: &Context) -> Result<Self, Rejection> {
        Ok(context.hub().clone())
    }
}
