//! One hub message on its way to other processes, and who it is for.

use crate::connection::ConnectionId;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Who a hub message is for.
///
/// A message to a user is a message to the room of the user's connections (the hub keeps
/// every connection of a user in a room of the user's own), so engines see rooms,
/// broadcasts and single connections only.
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
    /// Connections that must not receive it (e.g. the sender). A connection left out also
    /// leaves out its room subscriptions.
    pub except: Vec<ConnectionId>,
    /// The encoded envelope, exactly as each receiver gets it.
    pub text: Utf8Bytes,
}
