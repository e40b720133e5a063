//! The stored record of a recoverable session: what a resume restores.

use super::state::SubscriptionRecord;
use crate::adapter::Position;
use crate::auth::UserId;
use crate::connection::ConnectionId;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A session as stored through the adapter (JSON), under [`SessionRecord::key`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionRecord {
    /// The connection id the session keeps.
    pub id: ConnectionId,
    /// Its user, if it has one: a resume must be admitted as the same user.
    pub user: Option<UserId>,
    /// Its application rooms, and the user's room, each with the position it was joined at.
    pub rooms: Vec<RoomRecord>,
    /// Its room subscriptions, each with the position it started at.
    pub subscriptions: Vec<StoredSubscription>,
    /// The connection's metadata.
    #[serde(default)]
    pub metadata: HashMap<String, String>,
}

/// A room of a session and where it was joined.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RoomRecord {
    pub room: String,
    pub epoch: String,
    pub seq: u64,
}

/// A room subscription of a session and where it started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredSubscription {
    #[serde(flatten)]
    pub subscription: SubscriptionRecord,
    pub epoch: String,
    pub seq: u64,
}

impl RoomRecord {
    pub(crate) fn new(room: String, position: &Position) -> Self {
        RoomRecord {
            room,
            epoch: position.epoch.to_string(),
            seq: position.seq,
        }
    }

    pub(crate) fn position(&self) -> Position {
        Position::new(self.epoch.as_str(), self.seq)
    }
}

impl SessionRecord {
    /// The key a session is stored under: its connection id and its token.
    pub(crate) fn key(id: &ConnectionId, token: &str) -> String {
        format!("{id}:{token}")
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        // Strings, numbers and maps of strings always serialize.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

/// A room of a session, joined at `position`.
pub(crate) fn record_room(room: String, position: &Position) -> RoomRecord {
    RoomRecord::new(room, position)
}

/// A room subscription of a session, started at `position`.
pub(crate) fn record_subscription(
    subscription: SubscriptionRecord,
    position: &Position,
) -> StoredSubscription {
    StoredSubscription {
        subscription,
        epoch: position.epoch.to_string(),
        seq: position.seq,
    }
}
