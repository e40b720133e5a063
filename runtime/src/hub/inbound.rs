//! What an adapter uses to deliver messages from other processes.

use super::local::LocalHub;
use crate::adapter::Target;
use crate::{ConnectionId, UserId};
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Delivers messages from other processes to this process's connections, and tells an
/// adapter what this process holds (to restore its backend's view after a reconnection).
#[derive(Clone)]
pub struct Inbound {
    local: Arc<LocalHub>,
}

impl Inbound {
    pub(crate) fn new(local: Arc<LocalHub>) -> Self {
        Inbound { local }
    }

    /// Queues an encoded envelope on every local connection `target` names, but those in
    /// `except`. Returns how many connections got it.
    pub fn deliver(&self, target: &Target, except: &[ConnectionId], text: &Utf8Bytes) -> usize {
        self.local.deliver(target, except, text)
    }

    /// The ids of this process's open connections.
    pub fn connections(&self) -> Vec<ConnectionId> {
        self.local.connection_ids()
    }

    /// The ids of this process's open connections, each with its user if it has one.
    pub fn connections_with_users(&self) -> Vec<(ConnectionId, Option<UserId>)> {
        let ids = self.local.connection_ids();
        let users = self.local.user_ids(&ids);
        ids.into_iter().zip(users).collect()
    }

    /// Whether `room` has members on this process.
    pub fn has_members(&self, room: &str) -> bool {
        self.local.has_room(room)
    }

    /// Every room with members on this process, with those members.
    pub fn memberships(&self) -> Vec<(String, Vec<ConnectionId>)> {
        self.local.memberships()
    }
}

impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbound").finish_non_exhaustive()
    }
}
