//! The recipients of one hub message: a target and exclusions.

use super::{Hub, HubError};
use crate::adapter::{Outgoing, Target};
use crate::protocol::{encode, message_type_name};
use crate::{ConnectionId, UserId};
use serde::Serialize;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Who a hub message goes to: made by [`Hub::to`], [`Hub::room`] or [`Hub::everyone`].
#[must_use = "nothing is sent until you call `send`"]
pub struct Recipients<'a> {
    hub: &'a Hub,
    target: Target,
    except: Vec<ConnectionId>,
    /// The user whose connections `target` (their room) names.
    user: Option<UserId>,
}

impl<'a> Recipients<'a> {
    pub(crate) fn new(hub: &'a Hub, target: Target) -> Self {
        Recipients {
            hub,
            target,
            except: Vec::new(),
            user: None,
        }
    }

    pub(crate) fn for_user(hub: &'a Hub, user: UserId) -> Self {
        Recipients {
            hub,
            target: Target::Room(super::local::user_room(&user)),
            except: Vec::new(),
            user: Some(user),
        }
    }

    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    pub(crate) fn hub(&self) -> &'a Hub {
        self.hub
    }

    /// Leaves the connection `id` out (e.g. the sender).
    pub fn except(mut self, id: &ConnectionId) -> Self {
        self.except.push(id.clone());
        self
    }

    /// Sends `message` with the `Type` named after its Rust type.
    pub async fn send<T: Serialize + ?Sized>(self, message: &T) -> Result<(), HubError> {
        self.send_as(message_type_name::<T>(), message).await
    }

    /// Sends `data` with an explicit `Type`. The envelope is serialized once, whatever the
    /// number of receivers. Receivers whose outbound queue is full are handled by the slow
    /// consumer policy; the sender never waits for them.
    ///
    /// Errors: [`HubError::UnknownConnection`] for a direct message to a connection that no
    /// process holds, [`HubError::UnknownUser`] for a message to a user with no connection
    /// (unless [room history](crate::history) is on: the user's history keeps it). A room or broadcast reaches this process's receivers even when the
    /// adapter's backend is down (then [`HubError::Adapter`] says the others missed it).
    pub async fn send_as<T: Serialize + ?Sized>(
        self,
        message_type: &str,
        data: &T,
    ) -> Result<(), HubError> {
        let text = Utf8Bytes::from(encode(message_type, data, None)?);
        self.send_text(text).await
    }

    /// Sends `text` as it is, without an envelope: a text frame the receivers get unchanged
    /// (the gateway relays its backends' messages this way). Same delivery and errors as
    /// [`send_as`](Recipients::send_as).
    pub async fn send_text(self, text: impl Into<Utf8Bytes>) -> Result<(), HubError> {
        let text: Utf8Bytes = text.into();
        let local = self.hub.local();
        if let (Target::Room(room), Some(_)) = (&self.target, self.hub.history_limits()) {
            // Recorded in the room's history, with a position (a user with no open
            // connection gets it too: a recovering client of that user finds it there).
            let room = room.clone();
            self.hub.send_recorded(&room, self.except, text).await?;
            return Ok(());
        }
        let delivered_here = local.deliver(&self.target, &self.except, &text);
        if let Target::Connection(id) = &self.target {
            if delivered_here > 0 || local.connection(id).is_some() {
                return Ok(());
            }
            if self.except.contains(id) {
                return Ok(());
            }
        }
        if let (Some(user), Target::Room(room)) = (&self.user, &self.target) {
            if delivered_here == 0
                && !local.has_room(room)
                && self.hub.members(room).await?.is_empty()
            {
                return Err(HubError::UnknownUser(user.clone()));
            }
        }
        let target = self.target.clone();
        let reached = self
            .hub
            .adapter()
            .publish(Outgoing {
                target: self.target,
                except: self.except,
                text,
            })
            .await?;
        match target {
            Target::Connection(id) if !reached => Err(HubError::UnknownConnection(id)),
            _ => Ok(()),
        }
    }

    /// Calls every recipient on this process at once ([`Connection::call_as`] with `Req`'s
    /// type name) and gathers their answers, each within `timeout`: one entry per connection,
    /// its typed answer or why there is none. Connections on other processes (with an
    /// adapter) are not called.
    ///
    /// ```no_run
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Serialize)]
    /// struct Vote { question: String }
    /// #[derive(Deserialize)]
    /// struct Ballot { yes: bool }
    ///
    /// # async fn run(hub: exws::Hub) {
    /// let answers = hub
    ///     .room("jury")
    ///     .call::<_, Ballot>(&Vote { question: "guilty?".into() }, std::time::Duration::from_secs(10))
    ///     .await;
    /// let yes = answers.iter().filter(|(_, answer)| matches!(answer, Ok(Ballot { yes: true }))).count();
    /// # }
    /// ```
    ///
    /// [`Connection::call_as`]: crate::Connection::call_as
    pub async fn call<Req, Resp>(
        self,
        request: &Req,
        timeout: std::time::Duration,
    ) -> Vec<(ConnectionId, Result<Resp, crate::CallError>)>
    where
        Req: Serialize + ?Sized,
        Resp: serde::de::DeserializeOwned,
    {
        let local = self.hub.local();
        let ids = match &self.target {
            Target::Everyone => local.connection_ids(),
            Target::Room(room) => local.members(room),
            Target::Connection(id) => vec![id.clone()],
        };
        let message_type = message_type_name::<Req>();
        let calls = ids
            .into_iter()
            .filter(|id| !self.except.contains(id))
            .filter_map(|id| local.connection(&id))
            .map(|connection| async move {
                let answer = connection.call_as(message_type, request, timeout).await;
                (connection.id().clone(), answer)
            });
        futures_util::future::join_all(calls).await
    }
}
