//! Adapters carry hub messages between server processes.
//!
//! The [`Hub`](crate::Hub) delivers to this process's connections itself; its adapter tells
//! the other processes. [`InProcess`] (the default) has no other processes to tell.
//! [`RedisAdapter`] (feature `redis`) makes every process connected to the same Redis act as
//! one server: broadcasts, room messages and direct messages reach the right connections
//! wherever they are, and room member counts are global.

mod in_process;
#[cfg(feature = "redis")]
mod redis;

#[cfg(feature = "redis")]
pub use self::redis::{RedisAdapter, RedisAdapterConfig};
pub use in_process::InProcess;

use crate::hub::Inbound;
use crate::{ConnectionId, UserId};
use futures_util::future::BoxFuture;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Who a hub message is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every connection.
    Everyone,
    /// Every member of the room.
    Room(String),
    /// One connection.
    Connection(ConnectionId),
}

/// A message for connections on other processes: encoded once, shared by every receiver.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Who it is for.
    pub target: Target,
    /// Connections that must not receive it (e.g. the sender).
    pub except: Vec<ConnectionId>,
    /// The encoded envelope.
    pub text: Utf8Bytes,
}

/// Why an adapter operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The backend (e.g. Redis) cannot be reached right now; the adapter keeps reconnecting.
    #[error("the hub backend is unavailable: {0}")]
    Unavailable(String),
}

/// The transport of hub messages between processes, and the shared view of rooms and
/// connections. Implement it to put exws on another backend; the hub calls it after it has
/// updated and delivered to its own process.
pub trait Adapter: Send + Sync + 'static {
    /// Starts the adapter once, at [`Server::bind`](crate::Server::bind). `inbound` delivers
    /// messages from other processes to this process's connections; keep it.
    fn start(&self, inbound: Inbound) -> BoxFuture<'_, Result<(), AdapterError>>;

    /// A connection opened on this process, belonging to `user` if the authenticator said.
    /// (The hub also puts a user's connections in a room of their own, through
    /// [`room_joined`](Adapter::room_joined), so that messages to the user reach them.)
    fn connection_opened<'a>(
        &'a self,
        id: &'a ConnectionId,
        user: Option<&'a UserId>,
    ) -> BoxFuture<'a, Result<(), AdapterError>>;

    /// A connection of this process closed; `rooms` are the rooms it was still in.
    fn connection_closed<'a>(
        &'a self,
        id: &'a ConnectionId,
        rooms: &'a [String],
    ) -> BoxFuture<'a, Result<(), AdapterError>>;

    /// `id` joined `room`; `first_here` when it is the room's first member on this process.
    /// Returns the room's member count across every process, if the adapter knows it.
    fn room_joined<'a>(
        &'a self,
        room: &'a str,
        id: &'a ConnectionId,
        first_here: bool,
    ) -> BoxFuture<'a, Result<Option<usize>, AdapterError>>;

    /// `id` left `room`; `last_here` when no member of the room is left on this process.
    fn room_left<'a>(
        &'a self,
        room: &'a str,
        id: &'a ConnectionId,
        last_here: bool,
    ) -> BoxFuture<'a, Result<(), AdapterError>>;

    /// Sends to the other processes. For [`Target::Connection`], returns whether a process
    /// holds that connection.
    fn publish(&self, message: Outgoing) -> BoxFuture<'_, Result<bool, AdapterError>>;

    /// The room's members across every process, if the adapter knows them.
    fn room_members<'a>(
        &'a self,
        room: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<ConnectionId>>, AdapterError>>;

    /// The users of connections `ids` across every process, in the same order (`None` for a
    /// connection without a user), if the adapter knows them. By default it does not, and the
    /// hub answers from this process's connections.
    fn user_ids<'a>(
        &'a self,
        ids: &'a [ConnectionId],
    ) -> BoxFuture<'a, Result<Option<Vec<Option<UserId>>>, AdapterError>> {
        let _ = ids;
        Box::pin(async { Ok(None) })
    }

    /// The adapter's name in the [health report](crate::HealthReport): `in_process`, `redis`.
    /// By default `custom`.
    fn name(&self) -> &'static str {
        "custom"
    }

    /// Whether the backend is reachable, as far as the adapter knows now (without a round
    /// trip): `GET /health` answers 503 while it is not. By default always.
    fn reachable(&self) -> bool {
        true
    }
}
