//! What the adapter does in Redis for each hub operation: recording connections and
//! memberships, publishing messages, reading members and users.

use super::adapter::Inner;
use super::scripts::Owner;
use super::{keys, subscriber};
use crate::adapter::wire;
use crate::adapter::{AdapterError, Outgoing, Target};
use crate::auth::UserId;
use crate::connection::ConnectionId;

impl Inner {
    pub(super) async fn connection_opened(
        &self,
        id: &ConnectionId,
        user: Option<&UserId>,
    ) -> Result<(), AdapterError> {
        let mut commands = self.commands()?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HSET")
            .arg(self.conns_key())
            .arg(id.as_str())
            .arg(&self.node)
            .ignore();
        if let Some(user) = user {
            pipe.cmd("HSET")
                .arg(keys::conn_users(&self.config.prefix))
                .arg(id.as_str())
                .arg(user.as_str())
                .ignore();
        }
        pipe.query_async::<()>(&mut commands)
            .await
            .map_err(unavailable)
    }

    pub(super) async fn user_ids(
        &self,
        ids: &[ConnectionId],
    ) -> Result<Option<Vec<Option<UserId>>>, AdapterError> {
        if ids.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let mut commands = self.commands()?;
        let ids: Vec<&str> = ids.iter().map(ConnectionId::as_str).collect();
        let users: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(keys::conn_users(&self.config.prefix))
            .arg(ids)
            .query_async(&mut commands)
            .await
            .map_err(unavailable)?;
        Ok(Some(
            users
                .into_iter()
                .map(|user| user.map(UserId::from))
                .collect(),
        ))
    }

    pub(super) async fn connection_closed(
        &self,
        id: &ConnectionId,
        rooms: &[String],
    ) -> Result<(), AdapterError> {
        for room in rooms {
            self.reconcile(room).await;
        }
        let mut commands = self.commands()?;
        self.scripts
            .remove_closed(
                &mut commands,
                &self.config.prefix,
                &self.node,
                id.as_str(),
                rooms,
            )
            .await
            .map_err(unavailable)
    }

    pub(super) async fn room_joined(
        &self,
        room: &str,
        id: &ConnectionId,
        first_here: bool,
    ) -> Result<Option<usize>, AdapterError> {
        if first_here {
            // Subscribed before the join is answered: nothing sent after it is missed.
            self.reconcile(room).await;
        }
        let mut commands = self.commands()?;
        let key = self.room_key(room);
        let (count,): (usize,) = redis::pipe()
            .atomic()
            .cmd("SADD")
            .arg(&key)
            .arg(id.as_str())
            .ignore()
            .cmd("SADD")
            .arg(self.conn_rooms_key(id))
            .arg(room)
            .ignore()
            .cmd("SCARD")
            .arg(&key)
            .query_async(&mut commands)
            .await
            .map_err(unavailable)?;
        Ok(Some(count))
    }

    pub(super) async fn room_left(
        &self,
        room: &str,
        id: &ConnectionId,
        last_here: bool,
    ) -> Result<(), AdapterError> {
        if last_here {
            self.reconcile(room).await;
        }
        let mut commands = self.commands()?;
        redis::pipe()
            .cmd("SREM")
            .arg(self.room_key(room))
            .arg(id.as_str())
            .ignore()
            .cmd("SREM")
            .arg(self.conn_rooms_key(id))
            .arg(room)
            .ignore()
            .query_async::<()>(&mut commands)
            .await
            .map_err(unavailable)
    }

    pub(super) async fn publish(&self, message: Outgoing) -> Result<bool, AdapterError> {
        let publisher = self.publisher()?;
        let prefix = &self.config.prefix;
        let text = message.text.as_str();
        let id = match &message.target {
            Target::Everyone | Target::Room(_) => {
                let channel = match &message.target {
                    Target::Room(room) => subscriber::room_channel(prefix, room),
                    _ => subscriber::everyone_channel(prefix),
                };
                let payload = wire::encode(&self.node, 0, &message.except, None, text);
                publisher.publish(channel, payload).await?;
                return Ok(true);
            }
            Target::Connection(id) => id,
        };
        let mut commands = self.commands()?;
        let node: Option<String> = redis::cmd("HGET")
            .arg(self.conns_key())
            .arg(id.as_str())
            .query_async(&mut commands)
            .await
            .map_err(unavailable)?;
        let Some(node) = node else { return Ok(false) };
        let payload = wire::encode(&self.node, 0, &message.except, Some(id), text);
        let channel = subscriber::node_channel(prefix, &node);
        if publisher.publish_counted(channel, payload).await? == 0 {
            // Nobody listens for that process any more: it is gone, and so is this
            // connection (removed with its memberships, as a sweep would).
            let owner = Owner::Gone {
                channel: &subscriber::node_channel(prefix, &node),
                node: &node,
            };
            let ids = [id.as_str().to_owned()];
            match self
                .scripts
                .remove_owned(&mut commands, prefix, owner, &ids)
                .await
            {
                Ok(Some(gone)) => self.report_gone(gone),
                Ok(None) => {}
                Err(error) => {
                    tracing::debug!(%error, "removing a gone process's connection failed");
                }
            }
            return Ok(false);
        }
        Ok(true)
    }

    pub(super) async fn room_members(
        &self,
        room: &str,
    ) -> Result<Option<Vec<ConnectionId>>, AdapterError> {
        let mut commands = self.commands()?;
        let members: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.room_key(room))
            .query_async(&mut commands)
            .await
            .map_err(unavailable)?;
        Ok(Some(members.into_iter().map(ConnectionId::from).collect()))
    }
}

/// A failed Redis command, as the hub sees it.
pub(super) fn unavailable(error: redis::RedisError) -> AdapterError {
    AdapterError::Unavailable(error.to_string())
}
