//! A stream fed from elsewhere: a sender any task may hold, and the stream a handler returns.

use futures_util::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// A bounded channel whose receiving end is a stream a handler can return: the
/// [`StreamSender`] goes to a background job, the [`ItemStream`] is the handler's reply. The
/// stream ends when every sender is dropped; once the client cancels (or goes away), sends
/// fail with [`StreamClosed`]. `capacity` items (at least 1) may wait between the two.
///
/// ```
/// # #[derive(serde::Serialize)] struct Progress { percent: u8 }
/// let (sender, items) = exws::stream::channel::<Progress>(16);
/// # drop((sender, items));
/// ```
pub fn channel<T>(capacity: usize) -> (StreamSender<T>, ItemStream<T>) {
    let (sender, receiver) = mpsc::channel(capacity.max(1));
    (StreamSender { sender }, ItemStream { receiver })
}

/// The sending side of a [`channel`]: clone it freely; the stream ends when the last clone is
/// dropped.
#[derive(Debug)]
pub struct StreamSender<T> {
    sender: mpsc::Sender<T>,
}

impl<T> Clone for StreamSender<T> {
    fn clone(&self) -> Self {
        StreamSender {
            sender: self.sender.clone(),
        }
    }
}

/// The stream was cancelled or its connection closed: nobody reads any more items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the stream has ended (cancelled by the client, or its connection closed): stop producing")]
pub struct StreamClosed;

impl<T> StreamSender<T> {
    /// Sends one item, waiting while `capacity` items already wait (the client reads slower
    /// than the items come). Fails once the stream has ended.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropped while it waits for room, the item is not sent (and is dropped with
    /// the future).
    pub async fn send(&self, item: T) -> Result<(), StreamClosed> {
        self.sender.send(item).await.map_err(|_| StreamClosed)
    }

    /// Waits until the stream has ended: the producer can stop then.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn closed(&self) {
        self.sender.closed().await;
    }

    /// Whether the stream has ended.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

/// The receiving side of a [`channel`]: return it from a handler.
#[derive(Debug)]
pub struct ItemStream<T> {
    receiver: mpsc::Receiver<T>,
}

impl<T> Stream for ItemStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.receiver.poll_recv(cx)
    }
}
