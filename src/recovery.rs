//! The recovery example's messages (`examples/recovery.rs`): rooms, a user's own messages and a
//! room subscription, for clients that drop and come back.

use serde::{Deserialize, Serialize};

/// Join a room: `Joined` answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Join {
    /// The room.
    pub room: String,
}

/// The answer to `Join`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Joined {
    /// The room joined.
    pub room: String,
}

/// Say something in a room: its members get `Said`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Say {
    /// The room.
    pub room: String,
    /// The text.
    pub text: String,
}

/// A message of a room (or of a user's own channel, `room` then being empty).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Said {
    /// The room it was said in (empty for a message to the user).
    pub room: String,
    /// The text.
    pub text: String,
}

/// Send a user a message: each of its connections gets `Said` with an empty room.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tell {
    /// The user.
    pub user: String,
    /// The text.
    pub text: String,
}

/// Subscribe to a room's messages as a stream (send it with an `Id`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Watch {
    /// The room.
    pub room: String,
}
