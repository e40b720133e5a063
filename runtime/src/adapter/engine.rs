//! The engine side of the adapter contract.

use super::{AdapterError, Inbound, Outgoing};
use crate::auth::UserId;
use crate::connection::ConnectionId;
use futures_util::future::BoxFuture;
use std::sync::Arc;

/// The transport of hub messages between processes, and the shared view of rooms and
/// connections: the contract an engine implements to put exws on a backend.
///
/// The hub calls it after it has updated and delivered to its own process, so an engine deals
/// with the other processes only. Its methods fall in four groups:
///
/// - **lifecycle**: [`start`](Adapter::start);
/// - **membership**, told as it happens on this process:
///   [`connection_opened`](Adapter::connection_opened),
///   [`connection_closed`](Adapter::connection_closed), [`room_joined`](Adapter::room_joined),
///   [`room_left`](Adapter::room_left);
/// - **delivery** to the other processes: [`publish`](Adapter::publish);
/// - **queries** across every process: [`room_members`](Adapter::room_members),
///   [`user_ids`](Adapter::user_ids).
///
/// A query that returns `Ok(None)` means "this engine does not know": the hub then answers
/// from this process alone, which is the whole answer for a single process ([`InProcess`]).
/// Further capabilities join as groups of their own with such defaults, so an engine that
/// does not offer one keeps compiling and the hub falls back.
///
/// What every engine guarantees:
/// - an `Err` never undoes what the hub did on this process; the engine repairs its backend's
///   view itself once the backend is back (by [`Inbound::memberships`] and
///   [`Inbound::connections_with_users`]);
/// - no method blocks the calling task on a slow receiver: delivery is queued or dropped by
///   the receiving process's slow consumer policy;
/// - messages published by one process to one target arrive at each other process in the
///   order they were published.
///
/// [`InProcess`]: super::InProcess
pub trait Adapter: Send + Sync + 'static {
    /// Starts the engine, once, at [`Server::bind`](crate::Server::bind), before any
    /// connection is admitted. `inbound` is this process: the engine delivers messages from
    /// other processes through it, and keeps it for as long as it runs.
    ///
    /// An `Err` fails the server's start-up (the backend is unreachable, say so and how to
    /// fix it); after a successful start the engine reconnects by itself.
    fn start(&self, inbound: Arc<dyn Inbound>) -> BoxFuture<'_, Result<(), AdapterError>>;

    /// A connection opened on this process, belonging to `user` if the authenticator said.
    /// From now on it may be named by [`Target::Connection`](super::Target::Connection) on
    /// any process. (The hub also puts a user's connections in a room of their own, through
    /// [`room_joined`](Adapter::room_joined), so that messages to the user reach them.)
    fn connection_opened<'a>(
        &'a self,
        id: &'a ConnectionId,
        user: Option<&'a UserId>,
    ) -> BoxFuture<'a, Result<(), AdapterError>>;

    /// A connection of this process closed; `rooms` are the rooms it was still in. The engine
    /// forgets the connection and every membership of it, including any it failed to record
    /// a leave for earlier.
    fn connection_closed<'a>(
        &'a self,
        id: &'a ConnectionId,
        rooms: &'a [String],
    ) -> BoxFuture<'a, Result<(), AdapterError>>;

    /// `id` joined `room`; `first_here` when it is the room's first member on this process.
    /// When this returns, every message published to the room afterwards, by any process,
    /// reaches this process. Returns the room's member count across every process, if the
    /// engine knows it.
    fn room_joined<'a>(
        &'a self,
        room: &'a str,
        id: &'a ConnectionId,
        first_here: bool,
    ) -> BoxFuture<'a, Result<Option<usize>, AdapterError>>;

    /// `id` left `room`; `last_here` when no member of the room is left on this process (the
    /// engine may stop receiving the room's messages).
    fn room_left<'a>(
        &'a self,
        room: &'a str,
        id: &'a ConnectionId,
        last_here: bool,
    ) -> BoxFuture<'a, Result<(), AdapterError>>;

    /// Sends to the other processes (the hub has delivered on this one already). For
    /// [`Target::Connection`](super::Target::Connection), returns whether a process holds that
    /// connection; for the other targets, `true` once the message is on its way.
    fn publish(&self, message: Outgoing) -> BoxFuture<'_, Result<bool, AdapterError>>;

    /// The room's members across every process, in any order, if the engine knows them.
    fn room_members<'a>(
        &'a self,
        room: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<ConnectionId>>, AdapterError>>;

    /// The users of connections `ids` across every process, in the same order (`None` for a
    /// connection without a user), if the engine knows them. By default it does not, and the
    /// hub answers from this process's connections.
    fn user_ids<'a>(
        &'a self,
        ids: &'a [ConnectionId],
    ) -> BoxFuture<'a, Result<Option<Vec<Option<UserId>>>, AdapterError>> {
        let _ = ids;
        Box::pin(async { Ok(None) })
    }

    // ---- health ----

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
