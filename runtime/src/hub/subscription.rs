//! A room's messages as a stream: a handler answers "subscribe to room X" with it, and the
//! client gets the room's messages with its request's `Id` until it cancels.

use super::{Hub, HubError};
use crate::connection::Connection;
use crate::connection::OutboundReceiver;
use crate::protocol::{ErrorCode, ReplyTo};
use crate::stream::{IntoStreamItem, Raw, StreamItem};
use futures_util::Stream;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::WaitForCancellationFutureOwned;

/// The messages of one room as a stream, for a handler to return: each arrives at its client
/// with the `Type` it was sent with and the subscribing request's `Id`. Made by
/// [`Hub::subscribe`].
///
/// The subscription is a member of the room of its own (across processes, like any member):
/// the connection itself need not be in the room. Cancelling the stream (the client's
/// `StreamCancel`, the connection closing) leaves the room. Messages sent with
/// `.except(connection)` leave the connection's subscriptions out too. A room sends at its own
/// pace: if the client reads slower and the subscription's queue (the connection's
/// [`outbound_queue`](crate::Server::outbound_queue) limits) fills, the server's
/// [slow consumer policy](crate::Server::slow_consumer) applies: `DropNewest` drops and
/// counts, `Disconnect` ends the subscription with an `Error` (the connection stays open).
///
/// ```
/// use exws::{message, Connection, Hub, HubError, RoomSubscription};
/// # #[derive(serde::Deserialize)] struct Subscribe { room: String }
///
/// /// `sub` = join and listen; the client's `StreamCancel` = leave.
/// #[message]
/// async fn subscribe(request: Subscribe, connection: Connection, hub: Hub)
///     -> Result<RoomSubscription, HubError>
/// {
///     hub.subscribe(&connection, &request.room).await
/// }
/// ```
pub struct RoomSubscription {
    hub: Hub,
    member: Connection,
    /// The connection subscribing, when it is recoverable (its session lists the
    /// subscription).
    parent: Option<Connection>,
    receiver: OutboundReceiver,
    /// Completes when the slow consumer policy ends the subscription: the subscription's own
    /// signal (the connection stays open).
    overflowed: Pin<Box<WaitForCancellationFutureOwned>>,
    room: String,
    /// The end was reported (after an overflow).
    done: bool,
}

/// One message of a [`RoomSubscription`].
#[derive(Debug)]
pub struct RoomEnvelope(Envelope);

#[derive(Debug)]
enum Envelope {
    Message(Utf8Bytes),
    /// The subscription fell behind and was ended by the slow consumer policy.
    Overflow(String),
}

impl RoomEnvelope {
    /// The envelope as it was sent to the room, without the subscription's `Id`; `None` for
    /// the last item of a subscription that fell behind.
    pub fn text(&self) -> Option<&str> {
        match &self.0 {
            Envelope::Message(text) => Some(text.as_str()),
            Envelope::Overflow(_) => None,
        }
    }
}

impl Hub {
    /// Subscribes `connection` to the messages of `room`: returns the stream a handler
    /// answers with (see [`RoomSubscription`]). Counts as a member of the room (member counts
    /// and lists include it) while the stream is open.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe with an adapter, as [`Hub::join`]: dropped midway, the subscription is
    /// never returned and its member leaves this process, but the other processes may count it
    /// until the connection closes.
    pub async fn subscribe(
        &self,
        connection: &Connection,
        room: &str,
    ) -> Result<RoomSubscription, HubError> {
        super::check_room(room)?;
        let subscription = self.subscription(connection, room, None).await?;
        if connection.recover().is_some() {
            if let Some((id, message_type)) = crate::recovery::current_request() {
                let record = crate::recovery::SubscriptionRecord {
                    room: room.to_owned(),
                    id,
                    message_type,
                    member: Some(subscription.member.id().clone()),
                    start: subscription
                        .member
                        .recover()
                        .and_then(|recover| recover.joined_at(room)),
                };
                self.session_subscribed(connection, record).await;
            }
        }
        Ok(subscription)
    }

    /// [`subscribe`](Hub::subscribe) to any room, the hub's own included (its name is not
    /// checked).
    pub(crate) async fn subscribe_to(
        &self,
        connection: &Connection,
        room: &str,
    ) -> Result<RoomSubscription, HubError> {
        self.subscription(connection, room, None).await
    }

    /// A resumed subscription of `connection` to `room`: it replays from `start`, and holds
    /// its live messages back (up to `hold`) until its replay is done.
    pub(crate) async fn subscription_from(
        &self,
        connection: &Connection,
        room: &str,
        start: crate::adapter::Position,
        hold: usize,
    ) -> Result<RoomSubscription, HubError> {
        super::check_room(room)?;
        self.subscription(connection, room, Some((start, hold)))
            .await
    }

    /// A subscription of `connection` to `room`, joined (resumed: from a start position, with
    /// a hold).
    async fn subscription(
        &self,
        connection: &Connection,
        room: &str,
        resumed: Option<(crate::adapter::Position, usize)>,
    ) -> Result<RoomSubscription, HubError> {
        let hold = resumed.as_ref().map(|(_, hold)| *hold);
        let (member, receiver, overflowed) = connection.subscription_member(hold);
        if let (Some(recover), Some((start, _))) = (member.recover(), resumed) {
            recover.joined(room, start);
        }
        self.register(&member).await;
        let overflowed = Box::pin(overflowed.cancelled_owned());
        let subscription = RoomSubscription {
            hub: self.clone(),
            member,
            parent: connection.recover().map(|_| connection.clone()),
            receiver,
            overflowed,
            room: room.to_owned(),
            done: false,
        };
        self.join_unchecked(subscription.member.id(), room).await?;
        Ok(subscription)
    }
}

impl RoomSubscription {
    /// The room subscribed to.
    pub fn room(&self) -> &str {
        &self.room
    }

    /// The member of the hub that stands for the subscription.
    pub(crate) fn member(&self) -> &Connection {
        &self.member
    }
}

impl Stream for RoomSubscription {
    type Item = RoomEnvelope;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<RoomEnvelope>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Some(text) = self.receiver.try_recv() {
            return Poll::Ready(Some(RoomEnvelope(Envelope::Message(text))));
        }
        let overflowed = self.overflowed.as_mut().poll(cx).is_ready();
        if overflowed {
            self.done = true;
            let message = format!(
                "the subscription to room {:?} fell behind the room's messages and was ended: \
                 read faster, or subscribe again",
                self.room
            );
            return Poll::Ready(Some(RoomEnvelope(Envelope::Overflow(message))));
        }
        // Woken by the next message, or by the overflow signal.
        match self.receiver.poll_recv(cx) {
            Poll::Ready(Some(text)) => Poll::Ready(Some(RoomEnvelope(Envelope::Message(text)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for RoomSubscription {
    fn drop(&mut self) {
        self.member.stop_queueing();
        let id = self.member.id().clone();
        // Cancelled while its connection is open: out of the session too. (Ended by the
        // connection's close: the session keeps it.)
        let parent = self.parent.take().filter(|parent| !parent.is_closed());
        if let Some(recover) = parent.as_ref().and_then(|parent| parent.recover()) {
            recover.remove_subscription(&id);
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let hub = self.hub.clone();
                runtime.spawn(async move {
                    hub.unregister(&id).await;
                    if let Some(parent) = parent {
                        hub.save_session_of(&parent).await;
                    }
                });
            }
            Err(_) => self.hub.forget_here(&id),
        }
    }
}

impl IntoStreamItem<Raw> for RoomEnvelope {
    fn into_stream_item(self, reply_to: &ReplyTo, _name: &'static str) -> StreamItem {
        match self.0 {
            Envelope::Message(text) => {
                StreamItem::Item(crate::stream::with_id(text.as_str(), reply_to.id()))
            }
            Envelope::Overflow(message) => StreamItem::Failed {
                code: ErrorCode::HandlerError,
                message,
            },
        }
    }
}

impl std::fmt::Debug for RoomSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomSubscription")
            .field("room", &self.room)
            .field("member", self.member.id())
            .finish_non_exhaustive()
    }
}
