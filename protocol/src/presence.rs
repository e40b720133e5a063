//! Presence on the wire: who is in a room, and the changes a watcher receives.
//!
//! A client opens a watch with a stream request of `Type` [`PRESENCE_WATCH`] (`Data`
//! [`PresenceWatch`]); the server answers with one [`PresenceState`] item, then a
//! [`PresenceDiff`] item per change, each carrying the request's `Id` (see `docs/PROTOCOL.md`,
//! "Presence"). [`Presences`] applies them, as both the Rust client and tests do.
//!
//! A room's presence lists **entries**: one per user (every connection the user has in the
//! room, each with its [`PresenceMeta`]), and one per connection without a user. Diffs list
//! the metas that joined and left; an entry left with no meta is gone: a user leaves when its
//! last connection leaves.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `Type` of the request that opens a presence watch (a stream).
pub const PRESENCE_WATCH: &str = "PresenceWatch";
/// The `Type` of a watch's first item: the room's whole presence.
pub const PRESENCE_STATE: &str = "PresenceState";
/// The `Type` of a watch's next items: who joined and who left.
pub const PRESENCE_DIFF: &str = "PresenceDiff";

/// `Data` of a [`PRESENCE_WATCH`] request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceWatch {
    /// The room to watch.
    pub room: String,
}

/// One connection in a room's presence: its id and the meta the server gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresenceMeta {
    /// The connection's id.
    pub connection: String,
    /// What the server's presence settings say about the connection (`null` without).
    #[serde(default)]
    pub meta: serde_json::Value,
}

/// One entry of a room's presence: a user with each of its connections in the room, or one
/// connection without a user (then `user` is `null` and `metas` holds that connection).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresenceEntry {
    /// The user's id; `null` for a connection without a user.
    pub user: Option<String>,
    /// The user's connections in the room, sorted by connection id.
    pub metas: Vec<PresenceMeta>,
}

impl PresenceEntry {
    /// What identifies the entry: its user, or its one connection when it has no user.
    pub fn key(&self) -> PresenceKey {
        match &self.user {
            Some(user) => PresenceKey::User(user.clone()),
            None => PresenceKey::Connection(
                self.metas
                    .first()
                    .map(|meta| meta.connection.clone())
                    .unwrap_or_default(),
            ),
        }
    }
}

/// What identifies a presence entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PresenceKey {
    /// A user (with one or more connections).
    User(String),
    /// A connection without a user.
    Connection(String),
}

/// A watch's first item: the room's presence when the watch opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresenceState {
    /// The room.
    pub room: String,
    /// Its entries, sorted by user (entries without a user by connection id, after them).
    pub presences: Vec<PresenceEntry>,
}

/// A change of a room's presence: metas that joined and metas that left, grouped by entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresenceDiff {
    /// The room.
    pub room: String,
    /// Connections that joined, by entry.
    #[serde(default)]
    pub joins: Vec<PresenceEntry>,
    /// Connections that left, by entry.
    #[serde(default)]
    pub leaves: Vec<PresenceEntry>,
}

/// A room's presence as a watcher keeps it: a [`PresenceState`], then every
/// [`PresenceDiff`] applied in order.
///
/// Applying is idempotent: a join of a connection already present replaces its meta, a leave
/// of a connection not present changes nothing (a watch may report a change that its state
/// already holds).
///
/// ```
/// use exws_protocol::presence::{PresenceDiff, PresenceEntry, PresenceMeta, Presences};
///
/// let tab = |connection: &str| PresenceMeta { connection: connection.into(), meta: serde_json::Value::Null };
/// let ada = |metas| PresenceEntry { user: Some("ada".into()), metas };
/// let mut presences = Presences::default();
/// presences.apply_diff(&PresenceDiff { room: "r".into(), joins: vec![ada(vec![tab("c1"), tab("c2")])], leaves: vec![] });
/// assert_eq!(presences.entries()[0].metas.len(), 2);
/// let change = presences.apply_diff(&PresenceDiff { room: "r".into(), joins: vec![], leaves: vec![ada(vec![tab("c1")])] });
/// assert!(change.left.is_empty(), "ada still has a tab");
/// let change = presences.apply_diff(&PresenceDiff { room: "r".into(), joins: vec![], leaves: vec![ada(vec![tab("c2")])] });
/// assert_eq!(change.left.len(), 1, "ada's last tab left");
/// assert!(presences.entries().is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Presences {
    entries: BTreeMap<PresenceKey, PresenceEntry>,
}

/// What applying a diff changed for whole entries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PresenceChange {
    /// Entries that were not present and now are (a user's first connection joined).
    pub joined: Vec<PresenceKey>,
    /// Entries that were present and now are not (a user's last connection left).
    pub left: Vec<PresenceKey>,
}

impl Presences {
    /// Replaces everything with `state`.
    pub fn apply_state(&mut self, state: &PresenceState) {
        self.entries.clear();
        for entry in &state.presences {
            self.join(entry);
        }
    }

    /// Applies `diff`: its leaves, then its joins.
    pub fn apply_diff(&mut self, diff: &PresenceDiff) -> PresenceChange {
        let before: Vec<PresenceKey> = self.entries.keys().cloned().collect();
        for entry in &diff.leaves {
            self.leave(entry);
        }
        for entry in &diff.joins {
            self.join(entry);
        }
        PresenceChange {
            joined: self
                .entries
                .keys()
                .filter(|key| !before.contains(key))
                .cloned()
                .collect(),
            left: before
                .into_iter()
                .filter(|key| !self.entries.contains_key(key))
                .collect(),
        }
    }

    /// The entries, sorted by key (users first, by id; then connections without a user).
    pub fn entries(&self) -> Vec<&PresenceEntry> {
        self.entries.values().collect()
    }

    /// The entry of user `id`, if present.
    pub fn user(&self, id: &str) -> Option<&PresenceEntry> {
        self.entries.get(&PresenceKey::User(id.to_owned()))
    }

    /// How many entries are present.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no one is present.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn join(&mut self, entry: &PresenceEntry) {
        if entry.metas.is_empty() {
            return;
        }
        let present = self
            .entries
            .entry(entry.key())
            .or_insert_with(|| PresenceEntry {
                user: entry.user.clone(),
                metas: Vec::new(),
            });
        for meta in &entry.metas {
            present
                .metas
                .retain(|known| known.connection != meta.connection);
            present.metas.push(meta.clone());
        }
        present
            .metas
            .sort_by(|a, b| a.connection.cmp(&b.connection));
    }

    fn leave(&mut self, entry: &PresenceEntry) {
        let key = entry.key();
        let Some(present) = self.entries.get_mut(&key) else {
            return;
        };
        present.metas.retain(|known| {
            !entry
                .metas
                .iter()
                .any(|leaving| leaving.connection == known.connection)
        });
        if present.metas.is_empty() {
            self.entries.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(connection: &str, meta: serde_json::Value) -> PresenceMeta {
        PresenceMeta {
            connection: connection.to_owned(),
            meta,
        }
    }

    #[test]
    fn state_and_diffs_round_trip_as_documented() {
        let diff: PresenceDiff = serde_json::from_value(json!({
            "room": "lobby",
            "joins": [{"user": "ada", "metas": [{"connection": "c1", "meta": {"device": "phone"}}]}],
            "leaves": [{"user": null, "metas": [{"connection": "c9", "meta": null}]}],
        }))
        .expect("a documented diff");
        assert_eq!(diff.joins[0].key(), PresenceKey::User("ada".into()));
        assert_eq!(diff.leaves[0].key(), PresenceKey::Connection("c9".into()));
        let back = serde_json::to_value(&diff).expect("serializes");
        assert_eq!(back["leaves"][0]["user"], serde_json::Value::Null);
    }

    #[test]
    fn a_user_leaves_with_its_last_connection_and_applying_is_idempotent() {
        let mut presences = Presences::default();
        presences.apply_state(&PresenceState {
            room: "r".into(),
            presences: vec![PresenceEntry {
                user: Some("ada".into()),
                metas: vec![meta("c2", json!(2)), meta("c1", json!(1))],
            }],
        });
        let ada = presences.user("ada").expect("ada is here");
        assert_eq!(ada.metas[0].connection, "c1", "metas sorted");
        // A join already known replaces the meta and changes no entry.
        let change = presences.apply_diff(&PresenceDiff {
            room: "r".into(),
            joins: vec![PresenceEntry {
                user: Some("ada".into()),
                metas: vec![meta("c1", json!("new"))],
            }],
            leaves: vec![],
        });
        assert_eq!(change, PresenceChange::default());
        assert_eq!(presences.user("ada").map(|e| e.metas.len()), Some(2));
        let leave = |connection: &str| PresenceDiff {
            room: "r".into(),
            joins: vec![],
            leaves: vec![PresenceEntry {
                user: Some("ada".into()),
                metas: vec![meta(connection, json!(null))],
            }],
        };
        assert!(presences.apply_diff(&leave("c1")).left.is_empty());
        assert!(presences.apply_diff(&leave("c1")).left.is_empty(), "twice");
        assert_eq!(
            presences.apply_diff(&leave("c2")).left,
            vec![PresenceKey::User("ada".into())]
        );
        assert!(presences.is_empty());
    }
}
