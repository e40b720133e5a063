//! Incoming envelopes: the stream of all of them, and typed subscriptions per `Type`.

use crate::envelope::Envelope;
use crate::error::RecvError;
use futures_util::Stream;
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;

/// Every envelope the client receives — replies to calls, `Error`s, server-initiated messages —
/// across reconnections, in arrival order.
///
/// Created by [`Client::events`](crate::Client::events); it only sees envelopes that arrive
/// after it was created. Backed by a bounded [`tokio::sync::broadcast`] channel (see
/// [`ClientBuilder::event_capacity`](crate::ClientBuilder::event_capacity)): a receiver that
/// falls behind gets [`RecvError::Lagged`] and then goes on with the newest envelopes. It ends
/// (`None`) once every clone of the [`Client`](crate::Client) is dropped and the connection task
/// has stopped; to notice a closed connection while holding a client, watch
/// [`Client::state`](crate::Client::state) or await [`Client::closed`](crate::Client::closed).
#[derive(Debug)]
pub struct Events {
    receiver: broadcast::Receiver<Envelope>,
}

impl Events {
    pub(crate) fn new(receiver: broadcast::Receiver<Envelope>) -> Self {
        Events { receiver }
    }

    /// The next envelope; `None` once the client is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an envelope is taken only when the future completes.
    pub async fn recv(&mut self) -> Option<Result<Envelope, RecvError>> {
        match self.receiver.recv().await {
            Ok(envelope) => Some(Ok(envelope)),
            Err(broadcast::error::RecvError::Lagged(skipped)) => {
                Some(Err(RecvError::Lagged(skipped)))
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// The next envelope if one is already there; `None` if there is none (yet) or the client
    /// is gone.
    pub fn try_recv(&mut self) -> Option<Result<Envelope, RecvError>> {
        match self.receiver.try_recv() {
            Ok(envelope) => Some(Ok(envelope)),
            Err(broadcast::error::TryRecvError::Lagged(skipped)) => {
                Some(Err(RecvError::Lagged(skipped)))
            }
            Err(_) => None,
        }
    }

    /// Turns this into a [`Stream`].
    pub fn into_stream(self) -> impl Stream<Item = Result<Envelope, RecvError>> + Send + Unpin {
        Box::pin(futures_util::stream::unfold(
            self,
            |mut events| async move {
                let item = events.recv().await?;
                Some((item, events))
            },
        ))
    }
}

/// The envelopes of one `Type`, decoded into `T`, across reconnections.
///
/// Created by [`Client::subscribe`](crate::Client::subscribe) (`Type` = the name of `T`),
/// [`Client::subscribe_as`](crate::Client::subscribe_as) (an explicit `Type`) or
/// [`Client::subscribe_raw`](crate::Client::subscribe_raw) (whole [`Envelope`]s). An envelope
/// whose `Data` does not decode is reported as [`RecvError::Decode`] and the subscription goes
/// on. Every subscription has its own buffer in the client's broadcast channel, which holds
/// envelopes of every `Type`: [`RecvError::Lagged`] counts all of those skipped.
pub struct Subscription<T> {
    receiver: broadcast::Receiver<Envelope>,
    message_type: String,
    decode: fn(Envelope) -> Result<T, RecvError>,
}

impl<T> std::fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("message_type", &self.message_type)
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned> Subscription<T> {
    pub(crate) fn typed(receiver: broadcast::Receiver<Envelope>, message_type: String) -> Self {
        Subscription {
            receiver,
            message_type,
            decode: decode_data::<T>,
        }
    }
}

impl Subscription<Envelope> {
    pub(crate) fn raw(receiver: broadcast::Receiver<Envelope>, message_type: String) -> Self {
        Subscription {
            receiver,
            message_type,
            decode: Ok,
        }
    }
}

fn decode_data<T: DeserializeOwned>(envelope: Envelope) -> Result<T, RecvError> {
    match T::deserialize(&envelope.data) {
        Ok(value) => Ok(value),
        Err(source) => Err(RecvError::Decode {
            envelope: Box::new(envelope),
            source,
        }),
    }
}

impl<T> Subscription<T> {
    /// The `Type` this subscription receives.
    pub fn message_type(&self) -> &str {
        &self.message_type
    }

    /// The next envelope of this `Type`, decoded; `None` once the client is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: envelopes of other `Type`s it skipped are gone for this subscription either
    /// way; one of its `Type` is taken only when the future completes.
    pub async fn recv(&mut self) -> Option<Result<T, RecvError>> {
        loop {
            match self.receiver.recv().await {
                Ok(envelope) if envelope.message_type == self.message_type => {
                    return Some((self.decode)(envelope));
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    return Some(Err(RecvError::Lagged(skipped)));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Turns this into a [`Stream`].
    pub fn into_stream(self) -> impl Stream<Item = Result<T, RecvError>> + Send + Unpin
    where
        T: Send + 'static,
    {
        Box::pin(futures_util::stream::unfold(
            self,
            |mut subscription| async move {
                let item = subscription.recv().await?;
                Some((item, subscription))
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Joined {
        room: String,
    }

    #[tokio::test]
    async fn subscriptions_filter_by_type_and_report_bad_data() {
        let (sender, _) = broadcast::channel(16);
        let mut joined = Subscription::<Joined>::typed(sender.subscribe(), "Joined".into());
        let mut raw = Subscription::raw(sender.subscribe(), "Other".into());
        let mut all = Events::new(sender.subscribe());
        sender
            .send(Envelope::new("Other", json!(1)).with_id(4))
            .unwrap();
        sender
            .send(Envelope::new("Joined", json!({"room": "a"})))
            .unwrap();
        sender.send(Envelope::new("Joined", json!(5))).unwrap();
        assert_eq!(
            joined.recv().await.unwrap().unwrap(),
            Joined { room: "a".into() }
        );
        assert!(matches!(
            joined.recv().await,
            Some(Err(RecvError::Decode { .. }))
        ));
        assert_eq!(raw.recv().await.unwrap().unwrap().id, Some(4.into()));
        assert_eq!(all.try_recv().unwrap().unwrap().message_type, "Other");
        assert_eq!(all.try_recv().unwrap().unwrap().message_type, "Joined");
        assert_eq!(all.try_recv().unwrap().unwrap().message_type, "Joined");
        assert!(all.try_recv().is_none());
        drop(sender);
        assert!(joined.recv().await.is_none());
        assert!(all.recv().await.is_none());
    }

    #[tokio::test]
    async fn lagging_is_reported() {
        let (sender, _) = broadcast::channel(2);
        let mut events = Events::new(sender.subscribe());
        for n in 0..5 {
            sender.send(Envelope::new("N", json!(n))).unwrap();
        }
        assert!(matches!(
            events.recv().await,
            Some(Err(RecvError::Lagged(3)))
        ));
        assert_eq!(events.recv().await.unwrap().unwrap().data, json!(3));
    }

    #[tokio::test]
    async fn streams_yield_the_same_items() {
        use futures_util::StreamExt;
        let (sender, _) = broadcast::channel(4);
        let stream = Subscription::<i32>::typed(sender.subscribe(), "N".into()).into_stream();
        sender.send(Envelope::new("N", json!(7))).unwrap();
        drop(sender);
        let items: Vec<i32> = stream.map(|item| item.unwrap()).collect().await;
        assert_eq!(items, vec![7]);
    }
}
