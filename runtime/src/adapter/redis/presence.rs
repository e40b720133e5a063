//! Presence in Redis: each connection's meta beside its user, a room's presence read from its
//! members, and reports of the connections a removal took away.

use super::adapter::Inner;
use super::keys;
use super::operations::unavailable;
use crate::adapter::{AdapterError, GoneConnection, PresenceRecord};
use crate::auth::UserId;
use crate::connection::ConnectionId;

impl Inner {
    pub(super) async fn connection_meta(
        &self,
        id: &ConnectionId,
        meta: &serde_json::Value,
    ) -> Result<(), AdapterError> {
        let mut commands = self.commands()?;
        redis::cmd("HSET")
            .arg(keys::conn_metas(&self.config.prefix))
            .arg(id.as_str())
            .arg(meta.to_string())
            .query_async::<()>(&mut commands)
            .await
            .map_err(unavailable)
    }

    /// The room's members (room subscriptions left out), with their users and metas: one
    /// `SMEMBERS`, then both hashes read in one pipeline.
    pub(super) async fn presences(
        &self,
        room: &str,
    ) -> Result<Option<Vec<PresenceRecord>>, AdapterError> {
        let mut commands = self.commands()?;
        let members: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.room_key(room))
            .query_async(&mut commands)
            .await
            .map_err(unavailable)?;
        let members: Vec<ConnectionId> = members
            .into_iter()
            .map(ConnectionId::from)
            .filter(|id| id.owner() == id.as_str())
            .collect();
        if members.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let ids: Vec<&str> = members.iter().map(ConnectionId::as_str).collect();
        let (users, metas): (Vec<Option<String>>, Vec<Option<String>>) = redis::pipe()
            .cmd("HMGET")
            .arg(keys::conn_users(&self.config.prefix))
            .arg(&ids)
            .cmd("HMGET")
            .arg(keys::conn_metas(&self.config.prefix))
            .arg(&ids)
            .query_async(&mut commands)
            .await
            .map_err(unavailable)?;
        Ok(Some(
            members
                .into_iter()
                .zip(users.into_iter().zip(metas))
                .map(|(connection, (user, meta))| PresenceRecord {
                    connection,
                    user: user.map(UserId::from),
                    // A meta another writer left unreadable counts as none.
                    meta: meta
                        .and_then(|meta| serde_json::from_str(&meta).ok())
                        .unwrap_or(serde_json::Value::Null),
                })
                .collect(),
        ))
    }

    /// Tells this process's hub about connections a removal took away.
    pub(super) fn report_gone(&self, gone: Vec<GoneConnection>) {
        if gone.is_empty() {
            return;
        }
        if let Some(inbound) = self.inbound.get() {
            inbound.connections_gone(gone);
        }
    }
}
