//! Presence: who is in a room, across processes, and the changes watchers receive.
//!
//! A room's presence is derived from its membership: every connection in a room (but room
//! subscriptions) is present in it, with its user and its presence meta. The hub keeps the
//! metas of this process's connections; the adapter answers for every process
//! ([`Adapter::presences`](crate::adapter::Adapter::presences)). With
//! [`Server::presence`](crate::Server::presence), every join and leave is also sent to the
//! room's watchers, as a hub message to a room of its own (`watch`).

mod config;
mod inbound;
mod watch;

pub use config::{PresenceAccess, PresenceConfig};
pub use watch::{PresenceItem, PresenceSubscription};

pub(crate) use inbound::HubInbound;
pub(crate) use watch::serve_watch;

use super::{Hub, HubError, Recipients};
use crate::adapter::{PresenceRecord, Target};
use crate::connection::{Connection, ConnectionId};
use exws_protocol::presence::{
    PresenceDiff, PresenceEntry, PresenceKey, PresenceMeta, PRESENCE_DIFF,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

/// The prefix of the rooms of a room's presence watchers (a control character keeps them
/// apart from application rooms).
const WATCHERS_PREFIX: &str = "\u{1}presence:";

/// The room whose members are the presence watchers of `room`.
fn watchers_room(room: &str) -> String {
    format!("{WATCHERS_PREFIX}{room}")
}

/// Whether `id` stands for a room subscription (not a client connection).
fn is_subscription(id: &ConnectionId) -> bool {
    id.owner() != id.as_str()
}

/// The hub's presence state: its settings and the metas of this process's connections.
#[derive(Default)]
pub(crate) struct Tracker {
    /// `None`: presence diffs are off ([`Server::presence`](crate::Server::presence) not
    /// called); listing works all the same.
    config: Option<PresenceConfig>,
    metas: RwLock<HashMap<ConnectionId, serde_json::Value>>,
}

impl Tracker {
    pub(crate) fn new(config: Option<PresenceConfig>) -> Self {
        Tracker {
            config,
            metas: RwLock::default(),
        }
    }

    fn meta(&self, id: &ConnectionId) -> serde_json::Value {
        self.metas
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .get(id)
            .cloned()
            .unwrap_or(serde_json::Value::Null)
    }

    pub(crate) fn meta_if_set(&self, id: &ConnectionId) -> Option<serde_json::Value> {
        self.metas
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .get(id)
            .cloned()
    }

    fn forget(&self, id: &ConnectionId) -> serde_json::Value {
        self.metas
            .write()
            .unwrap_or_else(|poison| poison.into_inner())
            .remove(id)
            .unwrap_or(serde_json::Value::Null)
    }

    pub(crate) fn watches(&self) -> bool {
        self.config.is_some()
    }

    pub(crate) fn config(&self) -> Option<&PresenceConfig> {
        self.config.as_ref()
    }
}

impl Hub {
    /// The presence of `room` across every process: one entry per user (with the meta of each
    /// of its connections in the room: a user with two tabs is one entry with two metas), and
    /// one per connection without a user. Entries are sorted by user, those without a user
    /// last (by connection id); metas by connection id. Room subscriptions
    /// ([`Hub::subscribe`]) are not listed. A connection's meta comes from the server's
    /// [`PresenceConfig::meta`] (`null` without one).
    ///
    /// While the adapter's backend is unavailable this fails with [`HubError::Adapter`].
    ///
    /// ```
    /// use exws::{message, Connection, Hub, HubError};
    /// use exws::protocol::presence::PresenceEntry;
    /// # #[derive(serde::Deserialize)] struct WhoIsHere { room: String }
    ///
    /// #[message(reply = "Here")]
    /// async fn who_is_here(request: WhoIsHere, hub: Hub) -> Result<Vec<PresenceEntry>, HubError> {
    ///     hub.presence(&request.room).await
    /// }
    /// ```
    pub async fn presence(&self, room: &str) -> Result<Vec<PresenceEntry>, HubError> {
        super::check_room(room)?;
        let records = match self.inner.adapter.presences(room).await? {
            Some(records) => records,
            None => self.local_presences(room),
        };
        Ok(entries(records))
    }

    /// The presence of `room` on this process alone.
    fn local_presences(&self, room: &str) -> Vec<PresenceRecord> {
        let members = self.inner.local.members(room);
        let users = self.inner.local.user_ids(&members);
        members
            .into_iter()
            .zip(users)
            .map(|(connection, user)| PresenceRecord {
                meta: self.inner.presence.meta(&connection),
                connection,
                user,
            })
            .collect()
    }

    /// A connection of this process opened: works out its meta and tells the adapter.
    pub(crate) async fn presence_opened(&self, connection: &Connection) {
        let Some(config) = self.inner.presence.config() else {
            return;
        };
        if is_subscription(connection.id()) {
            return;
        }
        let Some(meta) = config.meta_of(connection) else {
            return;
        };
        let id = connection.id();
        self.inner
            .presence
            .metas
            .write()
            .unwrap_or_else(|poison| poison.into_inner())
            .insert(id.clone(), meta.clone());
        if let Err(error) = self.inner.adapter.connection_meta(id, &meta).await {
            tracing::warn!(%error, %id, "the adapter could not record a presence meta");
        }
    }

    /// The presence record of a connection of this process (before it is forgotten).
    fn local_record(&self, id: &ConnectionId) -> PresenceRecord {
        PresenceRecord {
            connection: id.clone(),
            user: self
                .inner
                .local
                .connection(id)
                .and_then(|connection| connection.user_id().cloned()),
            meta: self.inner.presence.meta(id),
        }
    }

    /// `id` (of this process) joined `room`: tells the room's watchers.
    pub(crate) async fn presence_joined(&self, room: &str, id: &ConnectionId) {
        if !self.inner.presence.watches() || is_subscription(id) || !is_watchable(room) {
            return;
        }
        let record = self.local_record(id);
        self.presence_changed(room, vec![record], Vec::new()).await;
    }

    /// `id` (of this process) left `room`: tells the room's watchers.
    pub(crate) async fn presence_left(&self, room: &str, id: &ConnectionId) {
        if !self.inner.presence.watches() || is_subscription(id) || !is_watchable(room) {
            return;
        }
        let record = self.local_record(id);
        self.presence_changed(room, Vec::new(), vec![record]).await;
    }

    /// The record of `id` for the leave diffs of its close, read before the hub forgets it;
    /// `None` when no watcher can care.
    pub(crate) fn presence_closing(&self, id: &ConnectionId) -> Option<PresenceRecord> {
        if is_subscription(id) {
            return None;
        }
        let record = self.local_record(id);
        self.inner.presence.forget(id);
        self.inner.presence.watches().then_some(record)
    }

    /// Sends a diff of `room` to its watchers on every process. Best effort: a diff that
    /// could not reach other processes is logged, never an error of the operation behind it.
    pub(crate) async fn presence_changed(
        &self,
        room: &str,
        joins: Vec<PresenceRecord>,
        leaves: Vec<PresenceRecord>,
    ) {
        if !is_watchable(room) {
            return;
        }
        let diff = PresenceDiff {
            room: room.to_owned(),
            joins: entries(joins),
            leaves: entries(leaves),
        };
        if diff.joins.is_empty() && diff.leaves.is_empty() {
            return;
        }
        let watchers = Recipients::new(self, Target::Room(watchers_room(room)));
        if let Err(error) = watchers.send_as(PRESENCE_DIFF, &diff).await {
            tracing::warn!(%error, room, "a presence diff could not reach every process");
        }
    }
}

/// Whether `room` has a presence (an application's room: not a user's, not a watchers').
fn is_watchable(room: &str) -> bool {
    !room.starts_with('\u{1}')
}

/// Groups records into entries: by user, a connection without a user on its own; sorted.
fn entries(records: Vec<PresenceRecord>) -> Vec<PresenceEntry> {
    let mut by_key: BTreeMap<PresenceKey, PresenceEntry> = BTreeMap::new();
    for record in records {
        if is_subscription(&record.connection) {
            continue;
        }
        let connection = record.connection.as_str().to_owned();
        let user = record.user.map(|user| user.as_str().to_owned());
        let key = match &user {
            Some(user) => PresenceKey::User(user.clone()),
            None => PresenceKey::Connection(connection.clone()),
        };
        let entry = by_key.entry(key).or_insert_with(|| PresenceEntry {
            user,
            metas: Vec::new(),
        });
        if entry.metas.iter().any(|meta| meta.connection == connection) {
            continue;
        }
        entry.metas.push(PresenceMeta {
            connection,
            meta: record.meta,
        });
    }
    by_key
        .into_values()
        .map(|mut entry| {
            entry.metas.sort_by(|a, b| a.connection.cmp(&b.connection));
            entry
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(connection: &str, user: Option<&str>, meta: serde_json::Value) -> PresenceRecord {
        PresenceRecord {
            connection: ConnectionId::from(connection),
            user: user.map(crate::auth::UserId::from),
            meta,
        }
    }

    #[test]
    fn entries_group_by_user_and_leave_subscriptions_out() {
        let grouped = entries(vec![
            record("c3", Some("bob"), json!(3)),
            record("c2", Some("ada"), json!(2)),
            record("c9", None, json!(null)),
            record("c1", Some("ada"), json!(1)),
            record("c1#4", None, json!(null)),
            record("c1", Some("ada"), json!(1)),
        ]);
        let shape: Vec<(Option<&str>, Vec<&str>)> = grouped
            .iter()
            .map(|entry| {
                (
                    entry.user.as_deref(),
                    entry.metas.iter().map(|m| m.connection.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                (Some("ada"), vec!["c1", "c2"]),
                (Some("bob"), vec!["c3"]),
                (None, vec!["c9"]),
            ]
        );
        assert_eq!(grouped[0].metas[1].meta, json!(2));
    }
}
