//! The names of the adapter's Redis keys, all under the deployment's prefix (the pub/sub
//! channels are named in `subscriber`).

use crate::connection::ConnectionId;

/// The hash from connection id to the node holding it.
pub(super) fn conns(prefix: &str) -> String {
    format!("{prefix}:conns")
}

/// The set of `room`'s members across processes.
pub(super) fn room(prefix: &str, room: &str) -> String {
    format!("{prefix}:room:{room}")
}

/// The set of rooms connection `id` is in.
pub(super) fn conn_rooms(prefix: &str, id: &ConnectionId) -> String {
    format!("{prefix}:connrooms:{id}")
}

/// The hash from connection id to the id of the user it belongs to (connections with a user).
pub(super) fn conn_users(prefix: &str) -> String {
    format!("{prefix}:connusers")
}

/// The hash from connection id to its presence meta, as JSON (connections with a meta).
pub(super) fn conn_metas(prefix: &str) -> String {
    format!("{prefix}:connmeta")
}
