//! The public side of a stream: its options, and the [`ItemStream`] its caller reads.

use super::table::{cancel_frame, lock, Ending, EndingSlot, Registration};
use crate::client::Client;
use crate::envelope::{Envelope, Id};
use crate::error::StreamError;
use futures_util::Stream;
use serde::de::DeserializeOwned;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Options of one stream ([`Client::stream_raw_with`]).
///
/// ```
/// use exws_client::StreamOptions;
/// let options = StreamOptions::new().id("ticks-1").capacity(64);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
pub struct StreamOptions {
    pub(crate) id: Option<Id>,
    pub(crate) capacity: Option<usize>,
}

impl StreamOptions {
    /// Default options: a fresh `Id`, the client's stream capacity.
    pub fn new() -> Self {
        StreamOptions::default()
    }

    /// Uses this `Id` instead of a fresh one. Opening fails with [`StreamError::DuplicateId`]
    /// while a stream or a call of this client still uses it.
    pub fn id(mut self, id: impl Into<Id>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// How many received items may wait for the reader of this stream (at least 1) instead of
    /// the client's [`stream_capacity`](crate::ClientBuilder::stream_capacity).
    pub fn capacity(mut self, items: usize) -> Self {
        self.capacity = Some(items.max(1));
        self
    }
}

/// The items of one stream the server sends in answer to a request, decoded into `T`
/// (`Envelope` for whole envelopes, `serde_json::Value` for any `Data`).
///
/// Created by [`Client::stream`], [`Client::stream_as`] and [`Client::stream_raw`]. It is a
/// [`Stream`] of `Result<T, StreamError>`: read it with `futures_util::StreamExt::next` (or
/// [`next_item`](Self::next_item)).
///
/// - Items arrive in the server's order. After `StreamEnd` the stream yields `None`.
/// - An item whose `Data` does not decode into `T` yields [`StreamError::Decode`] and the
///   stream goes on. The item's `Type` is not checked (a room subscription's items keep their
///   own `Type`s); read [`Envelope`]s to see it.
/// - An `Error` from the server yields [`StreamError::Server`], then `None`.
/// - A lost connection yields [`StreamError::Disconnected`] (after the items already
///   received), then `None`. Streams are not reopened on a reconnection: open a new one.
/// - **Bounded buffering**: the items received and not yet read wait in a queue of this
///   stream, of [`ClientBuilder::stream_capacity`](crate::ClientBuilder::stream_capacity)
///   items (1024 by default, [`StreamOptions::capacity`] per stream). A full queue never
///   blocks the connection (other streams, calls and events go on): when an item finds it
///   full, the client cancels the stream on the server, and the reader gets the queued items,
///   then [`StreamError::Overflow`], then `None`.
/// - **Dropping** a stream that is still open sends `StreamCancel`; the server stops
///   producing and answers `StreamEnd`, which frees the `Id` ([`cancel`](Self::cancel) does
///   the same and waits for that answer). An open stream keeps its connection open, like a
///   [`Client`] clone.
///
/// ```no_run
/// use exws_client::Client;
/// use futures_util::StreamExt;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize)]
/// struct Countdown { from: u32, interval_ms: u64 }
/// #[derive(Deserialize)]
/// struct Tick { n: u32 }
///
/// # async fn demo(client: Client) -> Result<(), exws_client::StreamError> {
/// let mut ticks = client.stream::<_, Tick>(&Countdown { from: 3, interval_ms: 100 }).await?;
/// while let Some(tick) = ticks.next().await {
///     println!("{}", tick?.n); // 3, 2, 1
/// }
/// # Ok(())
/// # }
/// ```
pub struct ItemStream<T> {
    client: Client,
    id: Id,
    token: u64,
    generation: u64,
    receiver: mpsc::Receiver<Envelope>,
    ending: EndingSlot,
    decode: fn(Envelope) -> Result<T, StreamError>,
    /// Whether the request went out (else dropping does not cancel).
    sent: bool,
    /// Whether the stream has yielded its end (`None` from now on).
    finished: bool,
}

impl<T> std::fmt::Debug for ItemStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItemStream")
            .field("id", &self.id)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned> ItemStream<T> {
    pub(crate) fn typed(client: Client, registration: Registration) -> Self {
        ItemStream::new(client, registration, decode_data::<T>)
    }
}

impl ItemStream<Envelope> {
    pub(crate) fn raw(client: Client, registration: Registration) -> Self {
        ItemStream::new(client, registration, Ok)
    }
}

fn decode_data<T: DeserializeOwned>(envelope: Envelope) -> Result<T, StreamError> {
    T::deserialize(&envelope.data).map_err(|source| StreamError::Decode {
        message_type: envelope.message_type,
        data: envelope.data,
        source,
    })
}

impl<T> ItemStream<T> {
    fn new(
        client: Client,
        registration: Registration,
        decode: fn(Envelope) -> Result<T, StreamError>,
    ) -> Self {
        ItemStream {
            client,
            id: registration.id,
            token: registration.token,
            generation: registration.generation,
            receiver: registration.receiver,
            ending: registration.ending,
            decode,
            sent: false,
            finished: false,
        }
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    pub(crate) fn mark_sent(&mut self) {
        self.sent = true;
    }

    /// The `Id` of the request that opened the stream (carried by every item).
    pub fn id(&self) -> &Id {
        &self.id
    }

    /// Whether the stream has ended (it yields `None` from now on).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The next item; `None` once the stream has ended (see the [type docs](Self)).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an item is taken only when the future completes.
    pub async fn next_item(&mut self) -> Option<Result<T, StreamError>> {
        std::future::poll_fn(|cx| self.poll_item(cx)).await
    }

    /// Cancels the stream and waits until the server confirms its end (`StreamEnd`): the
    /// server's producer has stopped then. Items still arriving meanwhile are dropped. `Ok`
    /// too when the stream had already ended; the stream's last error if it failed
    /// meanwhile (an `Error` from the server, the connection lost).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the stream: the cancel goes to the server if it was queued
    /// (else the dropped stream sends it), without waiting for the server's `StreamEnd`.
    pub async fn cancel(mut self) -> Result<(), StreamError> {
        if self.finished {
            return Ok(());
        }
        if let Some(generation) = self.client.streams().mark_cancelled(&self.id, self.token) {
            // A failed enqueue means the connection is gone: the stream then ends with
            // `Disconnected`, read below.
            let _ = self
                .client
                .enqueue_frame(generation, cancel_frame(&self.id))
                .await;
        }
        while let Some(item) = self.next_item().await {
            match item {
                Ok(_) | Err(StreamError::Overflow { .. } | StreamError::Decode { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, StreamError>>> {
        if self.finished {
            return Poll::Ready(None);
        }
        match self.receiver.poll_recv(cx) {
            Poll::Ready(Some(envelope)) => Poll::Ready(Some((self.decode)(envelope))),
            Poll::Ready(None) => {
                self.finished = true;
                match lock(&self.ending).take() {
                    Some(Ending::Failed(error)) => Poll::Ready(Some(Err(error))),
                    Some(Ending::End) | None => Poll::Ready(None),
                }
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Stream for ItemStream<T> {
    type Item = Result<T, StreamError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Every field is `Unpin`: the stream is too.
        self.get_mut().poll_item(cx)
    }
}

impl<T> Drop for ItemStream<T> {
    fn drop(&mut self) {
        let streams = self.client.streams();
        if let Some(generation) = streams.release(&self.id, self.token, self.sent) {
            self.client
                .enqueue_frame_now(generation, cancel_frame(&self.id));
        }
    }
}
