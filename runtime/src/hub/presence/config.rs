//! The presence settings of a server: each connection's meta, and who may watch a room.

use crate::connection::Connection;
use std::sync::Arc;

type MetaFn = dyn Fn(&Connection) -> serde_json::Value + Send + Sync;
type AccessFn = dyn Fn(&Connection, &str) -> bool + Send + Sync;

/// The presence settings, for [`Server::presence`](crate::Server::presence): turns on
/// presence diffs and the built-in `PresenceWatch` stream (see `docs/PROTOCOL.md`,
/// "Presence").
///
/// ```
/// use exws::{PresenceAccess, PresenceConfig, Server};
/// use serde_json::json;
///
/// let server = Server::new().presence(
///     PresenceConfig::new()
///         // Each connection's meta, from its handshake (after authentication).
///         .meta(|connection| json!({ "device": connection.metadata("device") }))
///         .access(PresenceAccess::members()),
/// );
/// ```
#[derive(Clone)]
pub struct PresenceConfig {
    meta: Option<Arc<MetaFn>>,
    access: PresenceAccess,
    max_meta_bytes: usize,
}

impl Default for PresenceConfig {
    fn default() -> Self {
        PresenceConfig::new()
    }
}

impl PresenceConfig {
    /// Defaults: no meta (`null`), watches for the room's own members
    /// ([`PresenceAccess::members`]), metas of at most 4 KiB.
    pub fn new() -> Self {
        PresenceConfig {
            meta: None,
            access: PresenceAccess::members(),
            max_meta_bytes: 4096,
        }
    }

    /// How a connection's presence meta is made: called once per connection when it opens
    /// (after the authenticator, so it may read [`Connection::user`],
    /// [`Connection::user_id`] and [`Connection::metadata`] set at the handshake). The meta
    /// then stays the connection's for its life, in every room. `null` means none.
    pub fn meta<F>(mut self, meta: F) -> Self
    where
        F: Fn(&Connection) -> serde_json::Value + Send + Sync + 'static,
    {
        self.meta = Some(Arc::new(meta));
        self
    }

    /// Who may open the built-in `PresenceWatch` of a room (default
    /// [`PresenceAccess::members`]). A refused watch is answered with `Error`
    /// (`unauthorized`).
    pub fn access(mut self, access: PresenceAccess) -> Self {
        self.access = access;
        self
    }

    /// The largest meta, as JSON, in bytes (default 4096): a larger one is logged and
    /// replaced by `null`, so a meta never grows every watcher's frames without bound.
    pub fn max_meta_bytes(mut self, bytes: usize) -> Self {
        self.max_meta_bytes = bytes;
        self
    }

    /// The meta of `connection`, if it has one within the limit.
    pub(crate) fn meta_of(&self, connection: &Connection) -> Option<serde_json::Value> {
        let meta = (self.meta.as_ref()?)(connection);
        if meta.is_null() {
            return None;
        }
        let size = serde_json::to_string(&meta).map_or(usize::MAX, |text| text.len());
        if size > self.max_meta_bytes {
            tracing::warn!(
                id = %connection.id(),
                size,
                max = self.max_meta_bytes,
                "a presence meta is over PresenceConfig::max_meta_bytes: the connection has none"
            );
            return None;
        }
        Some(meta)
    }

    pub(crate) fn allows(&self, connection: &Connection, room: &str, member: bool) -> bool {
        match &self.access.0 {
            Access::Members => member,
            Access::Anyone => true,
            Access::Custom(allow) => allow(connection, room),
        }
    }

    /// Whether a watch lasts only while its connection is in the room.
    pub(crate) fn members_only(&self) -> bool {
        matches!(self.access.0, Access::Members)
    }
}

impl std::fmt::Debug for PresenceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresenceConfig")
            .field("meta", &self.meta.is_some())
            .field("access", &self.access)
            .field("max_meta_bytes", &self.max_meta_bytes)
            .finish()
    }
}

/// Who may watch a room's presence with the built-in `PresenceWatch`.
#[derive(Clone)]
pub struct PresenceAccess(Access);

#[derive(Clone)]
enum Access {
    Members,
    Anyone,
    Custom(Arc<AccessFn>),
}

impl PresenceAccess {
    /// Connections that are in the room when they open the watch; the watch ends
    /// (`StreamEnd`) at the first change after its connection left the room. The default.
    pub fn members() -> Self {
        PresenceAccess(Access::Members)
    }

    /// Every connection, in the room or not.
    pub fn anyone() -> Self {
        PresenceAccess(Access::Anyone)
    }

    /// Connections for which `allow(connection, room)` holds when they open the watch.
    pub fn custom<F>(allow: F) -> Self
    where
        F: Fn(&Connection, &str) -> bool + Send + Sync + 'static,
    {
        PresenceAccess(Access::Custom(Arc::new(allow)))
    }
}

impl std::fmt::Debug for PresenceAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Access::Members => "PresenceAccess::members()",
            Access::Anyone => "PresenceAccess::anyone()",
            Access::Custom(_) => "PresenceAccess::custom(..)",
        })
    }
}
