//! Watching a room's presence: its state, then its diffs, as one stream.

use super::{watchers_room, Hub, HubError};
use crate::connection::{Connection, ConnectionId};
use crate::context::Context;
use crate::hub::{RoomEnvelope, RoomSubscription};
use crate::protocol::{encode, ErrorCode, ReplyTo};
use crate::stream::{IntoStreamItem, Raw, StreamItem};
use exws_protocol::presence::{PresenceState, PresenceWatch, PRESENCE_STATE, PRESENCE_WATCH};
use futures_util::{Stream, StreamExt};
use std::pin::Pin;
use std::task::Poll;

/// A room's presence as a stream, for a handler to return (or the built-in `PresenceWatch`):
/// first a `PresenceState` (the whole presence when the watch opened), then a
/// `PresenceDiff` per change (`joins`, `leaves`), each with the request's `Id`. Made by
/// [`Hub::watch_presence`].
///
/// The watch starts before the state is read, so a change is in the state, in a diff, or in
/// both (applying is idempotent: see `exws_protocol::presence::Presences`). Like a
/// [`RoomSubscription`], it ends when the client cancels it or closes, and falls under the
/// slow consumer policy.
pub struct PresenceSubscription {
    /// The `PresenceState` envelope, until it is sent.
    state: Option<String>,
    diffs: RoomSubscription,
    /// Ends the watch at the first diff after this connection left the room.
    while_member: Option<(Hub, ConnectionId)>,
    room: String,
}

/// One item of a [`PresenceSubscription`]: a `PresenceState` or a `PresenceDiff` envelope.
#[derive(Debug)]
pub struct PresenceItem(Item);

#[derive(Debug)]
enum Item {
    State(String),
    Diff(RoomEnvelope),
}

impl PresenceItem {
    /// The envelope as it is sent, without the watch's `Id`; `None` for the last item of a
    /// watch that fell behind.
    pub fn text(&self) -> Option<&str> {
        match &self.0 {
            Item::State(text) => Some(text),
            Item::Diff(envelope) => envelope.text(),
        }
    }
}

impl Hub {
    /// Watches the presence of `room` for `connection`: returns the stream a handler answers
    /// with (see [`PresenceSubscription`]). Needs [`Server::presence`](crate::Server::presence)
    /// (else [`HubError::PresenceOff`]); whether the connection may watch the room is the
    /// caller's decision (the built-in `PresenceWatch` applies
    /// [`PresenceConfig::access`](super::PresenceConfig::access)).
    pub async fn watch_presence(
        &self,
        connection: &Connection,
        room: &str,
    ) -> Result<PresenceSubscription, HubError> {
        super::super::check_room(room)?;
        if !self.inner.presence.watches() {
            return Err(HubError::PresenceOff);
        }
        // Watching first: a change after this is in a diff.
        let diffs = self.subscribe_to(connection, &watchers_room(room)).await?;
        let presences = self.presence(room).await?;
        let state = PresenceState {
            room: room.to_owned(),
            presences,
        };
        let state = encode(PRESENCE_STATE, &state, None)?;
        Ok(PresenceSubscription {
            state: Some(state),
            diffs,
            while_member: None,
            room: room.to_owned(),
        })
    }
}

impl PresenceSubscription {
    /// The room watched.
    pub fn room(&self) -> &str {
        &self.room
    }
}

impl Stream for PresenceSubscription {
    type Item = PresenceItem;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<PresenceItem>> {
        if let Some(state) = self.state.take() {
            return Poll::Ready(Some(PresenceItem(Item::State(state))));
        }
        match self.diffs.poll_next_unpin(cx) {
            Poll::Ready(Some(diff)) => {
                if let Some((hub, id)) = &self.while_member {
                    if !hub.rooms_of(id).iter().any(|room| *room == self.room) {
                        return Poll::Ready(None);
                    }
                }
                Poll::Ready(Some(PresenceItem(Item::Diff(diff))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl IntoStreamItem<Raw> for PresenceItem {
    fn into_stream_item(self, reply_to: &ReplyTo, name: &'static str) -> StreamItem {
        match self.0 {
            Item::State(text) => StreamItem::Item(crate::stream::with_id(&text, reply_to.id())),
            Item::Diff(envelope) => envelope.into_stream_item(reply_to, name),
        }
    }
}

impl std::fmt::Debug for PresenceSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresenceSubscription")
            .field("room", &self.room)
            .finish_non_exhaustive()
    }
}

/// The built-in `PresenceWatch` (with [`Server::presence`](crate::Server::presence)): checks
/// the request and the access, then runs the watch as a stream of the request's `Id`.
pub(crate) async fn serve_watch(
    data: &str,
    id: Option<&str>,
    context: &Context,
    max_streams: usize,
) {
    let connection = context.connection();
    let hub = context.hub();
    let refuse = |code: ErrorCode, message: String| async move {
        crate::session::send_error(connection, code, message, Some(PRESENCE_WATCH), id).await;
    };
    let Some(id) = id else {
        refuse(
            ErrorCode::InvalidEnvelope,
            "\"PresenceWatch\" opens a stream: send it with an \"Id\", which its items carry"
                .to_owned(),
        )
        .await;
        return;
    };
    let request: PresenceWatch = match serde_json::from_str(data) {
        Ok(request) => request,
        Err(error) => {
            refuse(
                ErrorCode::InvalidData,
                format!("PresenceWatch needs {{\"room\": <string>}}: {error}"),
            )
            .await;
            return;
        }
    };
    if let Err(error) = super::super::check_room(&request.room) {
        refuse(ErrorCode::InvalidData, error.to_string()).await;
        return;
    }
    let Some(config) = hub.inner.presence.config() else {
        return;
    };
    let member = hub.rooms_of(connection.id()).contains(&request.room);
    if !config.allows(connection, &request.room, member) {
        refuse(
            ErrorCode::Unauthorized,
            format!(
                "this connection may not watch the presence of room {:?}{}",
                request.room.chars().take(64).collect::<String>(),
                if config.members_only() {
                    ": join it first"
                } else {
                    ""
                }
            ),
        )
        .await;
        return;
    }
    let mut watch = match hub.watch_presence(connection, &request.room).await {
        Ok(watch) => watch,
        Err(error) => {
            refuse(ErrorCode::HandlerError, error.to_string()).await;
            return;
        }
    };
    if config.members_only() {
        watch.while_member = Some((hub.clone(), connection.id().clone()));
    }
    let reply_to = ReplyTo::new(Some(id));
    let items = watch
        .map(move |item| item.into_stream_item(&reply_to, PRESENCE_WATCH))
        .boxed();
    if let Err(error) = crate::stream::start(connection, id, PRESENCE_WATCH, items, max_streams) {
        let (code, message) = crate::stream::refusal(error);
        crate::session::send_error(connection, code, message, Some(PRESENCE_WATCH), Some(id)).await;
    }
}
