//! The engine side of the adapter contract.

use super::{
    AdapterError, AnswerSender, CallRequest, HistoryLimits, HistoryPage, HistoryQuery, Inbound,
    Outgoing, Position, PresenceRecord,
};
use crate::auth::UserId;
use crate::connection::ConnectionId;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

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
///   [`user_ids`](Adapter::user_ids);
/// - **calls** to connections on other processes, their answers routed back:
///   [`call`](Adapter::call);
/// - **health**: [`name`](Adapter::name), [`reachable`](Adapter::reachable);
/// - **presence** (a group of its own, with defaults):
///   [`connection_meta`](Adapter::connection_meta), [`presences`](Adapter::presences);
/// - **history and recovery** (optional, see the last block):
///   [`publish_recorded`](Adapter::publish_recorded),
///   [`history_position`](Adapter::history_position), [`history_read`](Adapter::history_read),
///   [`session_store`](Adapter::session_store), [`session_touch`](Adapter::session_touch),
///   [`session_take`](Adapter::session_take).
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
///   order they were published;
/// - an engine that removes the connections of a process that is gone reports each removed
///   connection once, on one process, through [`Inbound::connections_gone`] (the hub then
///   tells the rooms' presence watchers that they left).
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

    // ---- calls ----

    /// Carries a server call ([`Recipients::call`](crate::hub::Recipients::call)) to the
    /// connections `call.target` names on the other processes (this process calls its own):
    /// each of those processes calls its connections through
    /// [`Inbound::call`](super::Inbound::call), and the engine routes every answer back here,
    /// into `answers`, as it comes. The engine stops routing once `answers` is closed (the
    /// gathering has what it waited for, or its time is up); it never blocks its own
    /// delivery on a full `answers` (it drops the answer: the gathering reports that callee
    /// as timed out).
    ///
    /// Returns `Ok(true)` once the call is on its way, `Ok(false)` when the engine does not
    /// carry calls (the default): the hub then calls this process's connections only.
    fn call(
        &self,
        call: CallRequest,
        answers: AnswerSender,
    ) -> BoxFuture<'_, Result<bool, AdapterError>> {
        let _ = (call, answers);
        Box::pin(async { Ok(false) })
    }

    // ---- health ----

    /// The adapter's name in the [health report](crate::HealthReport): `in_process`, `redis`, `nats`.
    /// By default `custom`.
    fn name(&self) -> &'static str {
        "custom"
    }

    /// Whether the backend is reachable, as far as the adapter knows now (without a round
    /// trip): `GET /health` answers 503 while it is not. By default always.
    fn reachable(&self) -> bool {
        true
    }

    // ---- presence ----

    /// The presence meta of connection `id` of this process (told once, after
    /// [`connection_opened`](Adapter::connection_opened), when the server gives it one that is
    /// not `null`). The engine keeps it with the connection, forgets it when the connection
    /// closes or is removed, and returns it from [`presences`](Adapter::presences). By default
    /// the engine keeps nothing, and other processes see `null`.
    fn connection_meta<'a>(
        &'a self,
        id: &'a ConnectionId,
        meta: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<(), AdapterError>> {
        let _ = (id, meta);
        Box::pin(async { Ok(()) })
    }

    /// The presence of `room` across every process: each member with its user and meta, in
    /// any order, if the engine knows it. By default it does not, and the hub answers from
    /// this process's members.
    fn presences<'a>(
        &'a self,
        room: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<PresenceRecord>>, AdapterError>> {
        let _ = room;
        Box::pin(async { Ok(None) })
    }

    // ---- history and recovery ----
    //
    // Optional: an engine that returns `Ok(None)` / `Ok(false)` leaves them to the hub, which
    // keeps history and sessions in this process's memory (the whole answer for one process).

    /// Appends `message` (whose target is a room) to the room's history, within `limits`, and
    /// delivers it to every process, **this one included**, through
    /// [`Inbound::deliver_recorded`] with its position. Every process receives a room's
    /// recorded messages in the order of their positions, and the messages one process
    /// records in the order it recorded them. Returns `true` once the message is on its way
    /// (an engine may record and deliver it after returning, as `publish` does), or `false`
    /// if the engine keeps no history (the hub then records and delivers it itself, and calls
    /// [`publish`](Adapter::publish) for the other processes).
    fn publish_recorded<'a>(
        &'a self,
        message: Outgoing,
        limits: &'a HistoryLimits,
    ) -> BoxFuture<'a, Result<bool, AdapterError>> {
        let _ = (message, limits);
        Box::pin(async { Ok(false) })
    }

    /// The room's current position (its epoch, and the sequence number of its newest
    /// message), creating the room's epoch if it has none yet, so that a later loss of the
    /// history is seen as a change of epoch. `Ok(None)`: no history here.
    fn history_position<'a>(
        &'a self,
        room: &'a str,
        limits: &'a HistoryLimits,
    ) -> BoxFuture<'a, Result<Option<Position>, AdapterError>> {
        let _ = (room, limits);
        Box::pin(async { Ok(None) })
    }

    /// Reads the room's history (messages older than `limits.max_age` are not returned).
    /// `Ok(None)`: no history here.
    fn history_read<'a>(
        &'a self,
        room: &'a str,
        query: HistoryQuery,
        limits: &'a HistoryLimits,
    ) -> BoxFuture<'a, Result<Option<HistoryPage>, AdapterError>> {
        let _ = (room, query, limits);
        Box::pin(async { Ok(None) })
    }

    /// Stores (or replaces) the record of a recoverable session under `key`, for `ttl`; any
    /// process may [`take`](Adapter::session_take) it. Returns `false` if the engine stores no
    /// sessions (the hub keeps them in this process).
    fn session_store<'a>(
        &'a self,
        key: &'a str,
        record: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, AdapterError>> {
        let _ = (key, record, ttl);
        Box::pin(async { Ok(false) })
    }

    /// Extends the life of the stored records `keys` to `ttl` from now (a record not stored
    /// is not created). Returns `false` if the engine stores no sessions.
    fn session_touch<'a>(
        &'a self,
        keys: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, AdapterError>> {
        let _ = (keys, ttl);
        Box::pin(async { Ok(false) })
    }

    /// Takes the record stored under `key`, atomically: of two processes taking it at once,
    /// one gets it. `Ok(None)` if there is none (never stored, expired, taken, or the engine
    /// stores no sessions).
    fn session_take<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, AdapterError>> {
        let _ = key;
        Box::pin(async { Ok(None) })
    }
}
