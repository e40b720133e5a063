//! What engines and the hub say to each other about presence: a connection's presence in a
//! room, and connections an engine removed for a process that is gone.

use crate::auth::UserId;
use crate::connection::ConnectionId;

/// One connection as a room's presence sees it: its user and its presence meta.
#[derive(Debug, Clone, PartialEq)]
pub struct PresenceRecord {
    /// The connection.
    pub connection: ConnectionId,
    /// Its user, if it has one.
    pub user: Option<UserId>,
    /// Its presence meta (`null` when the server gives none).
    pub meta: serde_json::Value,
}

/// A connection of another process that an engine removed from its backend because that
/// process is gone (crashed, killed, cut off for good), with the rooms it was in. Reported
/// through [`Inbound::connections_gone`](super::Inbound::connections_gone) so that the hub
/// tells the rooms' presence watchers.
#[derive(Debug, Clone, PartialEq)]
pub struct GoneConnection {
    /// The connection, its user and its meta.
    pub record: PresenceRecord,
    /// The rooms it was in (the rooms of users included).
    pub rooms: Vec<String>,
}
