//! The chat example's messages (`examples/chat.rs`): the same structs for servers and clients.
//! Who is in a room is exws's presence (the built-in `PresenceWatch`), not a message of its own.

use serde::{Deserialize, Serialize};

/// Sent by the server to each connection when it opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Welcome {
    /// The connection's id: what others use to send it direct messages.
    pub id: String,
}

/// Join a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct JoinRoom {
    /// The room.
    pub room: String,
}

/// The answer to [`JoinRoom`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Joined {
    /// The room.
    pub room: String,
    /// The room's member count after joining, across every server process.
    pub members: usize,
}

/// Leave a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LeaveRoom {
    /// The room.
    pub room: String,
}

/// The answer to [`LeaveRoom`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Left {
    /// The room.
    pub room: String,
}

/// Send a text to every other member of a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SendToRoom {
    /// The room.
    pub room: String,
    /// The text.
    pub text: String,
}

/// A text sent to a room, as its other members receive it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RoomMessage {
    /// The room.
    pub room: String,
    /// The sender's connection id.
    pub from: String,
    /// The text.
    pub text: String,
}

/// Send a text to one connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DirectMessage {
    /// The receiving connection's id.
    pub to: String,
    /// The text.
    pub text: String,
}

/// A direct message, as its receiver gets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Direct {
    /// The sender's connection id.
    pub from: String,
    /// The text.
    pub text: String,
}

/// Send a text to every connection, the sender included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Broadcast {
    /// The text.
    pub text: String,
}

/// A broadcast, as every connection receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Broadcasted {
    /// The sender's connection id.
    pub from: String,
    /// The text.
    pub text: String,
}
