//! What the adapter does on NATS for each hub operation: recording connections and
//! memberships in the state stream, publishing messages, reading members and users.

use super::adapter::Inner;
use super::gone;
use crate::adapter::wire;
use crate::adapter::{AdapterError, Outgoing, Target};
use crate::auth::UserId;
use crate::connection::ConnectionId;
use bytes::Bytes;
use std::sync::atomic::Ordering;

impl Inner {
    pub(super) async fn connection_opened(
        &self,
        id: &ConnectionId,
        user: Option<&UserId>,
    ) -> Result<(), AdapterError> {
        let jetstream = self.jetstream()?;
        let conn = jetstream.put(self.subjects.conn(&self.node, id), Bytes::new());
        match user {
            Some(user) => {
                let user = jetstream.put(
                    self.subjects.user(id),
                    Bytes::from(user.as_str().as_bytes().to_vec()),
                );
                let (conn, user) = futures_util::future::join(conn, user).await;
                conn.and(user)
            }
            None => conn.await,
        }
    }

    pub(super) async fn user_ids(
        &self,
        ids: &[ConnectionId],
    ) -> Result<Option<Vec<Option<UserId>>>, AdapterError> {
        let jetstream = self.jetstream()?;
        let mut users = Vec::with_capacity(ids.len());
        for batch in ids.chunks(256) {
            let subjects: Vec<String> = batch.iter().map(|id| self.subjects.user(id)).collect();
            let gets = subjects.iter().map(|subject| jetstream.get(subject));
            for user in futures_util::future::join_all(gets).await {
                users.push(
                    user?.and_then(|user| String::from_utf8(user.to_vec()).ok().map(UserId::from)),
                );
            }
        }
        Ok(Some(users))
    }

    pub(super) async fn connection_closed(
        &self,
        id: &ConnectionId,
        rooms: &[String],
    ) -> Result<(), AdapterError> {
        for room in rooms {
            self.reconcile(room).await;
        }
        let jetstream = self.jetstream()?;
        let owners = jetstream.subjects(&self.subjects.conn_any_node(id)).await?;
        let elsewhere = owners.names.iter().any(|subject| {
            self.subjects
                .parse_conn(subject)
                .is_some_and(|(node, _)| node != self.node)
        });
        if elsewhere {
            // An id the application chose, open on another process by now: it only leaves
            // the rooms it was in here.
            for room in rooms {
                jetstream
                    .purge(&self.subjects.member(room, id), None)
                    .await?;
            }
            return Ok(());
        }
        // Every membership the stream has for it, those a failed leave left behind included.
        jetstream
            .purge(&self.subjects.memberships(id), None)
            .await?;
        jetstream.purge(&self.subjects.user(id), None).await?;
        jetstream
            .purge(&self.subjects.conn(&self.node, id), None)
            .await
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
        let jetstream = self.jetstream()?;
        jetstream
            .put(self.subjects.member(room, id), Bytes::new())
            .await?;
        Ok(Some(jetstream.count(&self.subjects.members(room)).await?))
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
        self.jetstream()?
            .purge(&self.subjects.member(room, id), None)
            .await
    }

    pub(super) async fn publish(&self, message: Outgoing) -> Result<bool, AdapterError> {
        let publisher = self.publisher()?;
        let text = message.text.as_str();
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let id = match &message.target {
            Target::Everyone | Target::Room(_) => {
                let subject = match &message.target {
                    Target::Room(room) => self.subjects.room(room),
                    _ => self.subjects.everyone(),
                };
                let payload = wire::encode(&self.node, seq, &message.except, None, text);
                publisher
                    .publish(subject, Bytes::from(payload), None)
                    .await?;
                return Ok(true);
            }
            Target::Connection(id) => id,
        };
        let jetstream = self.jetstream()?;
        let owners = jetstream.subjects(&self.subjects.conn_any_node(id)).await?;
        let Some(node) = owners
            .names
            .iter()
            .find_map(|subject| self.subjects.parse_conn(subject))
            .map(|(node, _)| node)
        else {
            return Ok(false);
        };
        let payload = wire::encode(&self.node, seq, &message.except, Some(id), text);
        let awaited = self.replies()?.expect();
        publisher
            .publish(
                self.subjects.node(&node),
                Bytes::from(payload),
                Some(awaited.subject.clone()),
            )
            .await?;
        let timeout = self.config.command_timeout * 3;
        let answer = match tokio::time::timeout(timeout, &mut { awaited }.answer).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => {
                return Err(AdapterError::Unavailable(
                    "the NATS answers stopped".to_owned(),
                ))
            }
            Err(_) => {
                return Err(AdapterError::Unavailable(format!(
                    "the process holding connection {id} did not answer within {timeout:?}"
                )))
            }
        };
        if answer.status == Some(async_nats::StatusCode::NO_RESPONDERS) {
            // Nobody listens for that process any more: it is gone, and so is this
            // connection (removed with its memberships, as a sweep would).
            let before = owners.last_seq + 1;
            if let Err(error) = gone::forget(jetstream, &self.subjects, &node, id, before).await {
                tracing::debug!(%error, "removing a gone process's connection failed");
            }
            return Ok(false);
        }
        Ok(answer.payload.as_ref() == b"1")
    }

    pub(super) async fn room_members(
        &self,
        room: &str,
    ) -> Result<Option<Vec<ConnectionId>>, AdapterError> {
        let listed = self
            .jetstream()?
            .subjects(&self.subjects.members(room))
            .await?;
        Ok(Some(
            listed
                .names
                .iter()
                .filter_map(|subject| self.subjects.parse_member(subject))
                .collect(),
        ))
    }
}
