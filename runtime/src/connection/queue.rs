//! A connection's outbound queue, bounded in messages and in bytes.

use crate::server::SlowConsumerPolicy;
use std::sync::Arc;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// One item of the queue.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// An encoded envelope, holding its share of the byte budget until written.
    Text(Utf8Bytes, OwnedSemaphorePermit),
    /// A heartbeat ping.
    Ping,
    /// Send a close frame after what is queued, then stop writing.
    Close(crate::CloseCode, String),
    /// Flush what is queued (and the close reply tungstenite may owe), then stop writing.
    Finish,
}

/// What happened to a message offered without waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    Queued,
    /// The queue is full: the slow consumer policy applies.
    Full,
    Closed,
}

/// The sending side of a connection's outbound queue.
#[derive(Debug)]
pub(crate) struct OutboundQueue {
    sender: mpsc::Sender<Outbound>,
    bytes: Arc<Semaphore>,
    max_bytes: u32,
    pub(crate) policy: SlowConsumerPolicy,
}

/// The limits of one queue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueueLimits {
    pub messages: usize,
    pub bytes: usize,
    pub policy: SlowConsumerPolicy,
}

impl OutboundQueue {
    pub(crate) fn new(limits: QueueLimits) -> (Self, mpsc::Receiver<Outbound>) {
        let max_bytes = u32::try_from(limits.bytes).unwrap_or(u32::MAX);
        let (sender, receiver) = mpsc::channel(limits.messages);
        let queue = OutboundQueue {
            sender,
            bytes: Arc::new(Semaphore::new(max_bytes as usize)),
            max_bytes,
            policy: limits.policy,
        };
        (queue, receiver)
    }

    /// The permits a message of `len` bytes holds: a message larger than the whole budget
    /// takes all of it, so it waits for an empty queue rather than forever.
    fn cost(&self, len: usize) -> u32 {
        u32::try_from(len).unwrap_or(u32::MAX).min(self.max_bytes)
    }

    /// Queues `text`, waiting for room (backpressure). `false` if the connection is closed.
    pub(crate) async fn push(&self, text: Utf8Bytes) -> bool {
        let cost = self.cost(text.len());
        let Ok(permit) = self.bytes.clone().acquire_many_owned(cost).await else {
            return false;
        };
        self.sender.send(Outbound::Text(text, permit)).await.is_ok()
    }

    /// Queues `text` if there is room now.
    pub(crate) fn offer(&self, text: Utf8Bytes) -> Offer {
        let cost = self.cost(text.len());
        let permit = match self.bytes.clone().try_acquire_many_owned(cost) {
            Ok(permit) => permit,
            Err(tokio::sync::TryAcquireError::NoPermits) => return Offer::Full,
            Err(tokio::sync::TryAcquireError::Closed) => return Offer::Closed,
        };
        match self.sender.try_send(Outbound::Text(text, permit)) {
            Ok(()) => Offer::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => Offer::Full,
            Err(mpsc::error::TrySendError::Closed(_)) => Offer::Closed,
        }
    }

    /// Queues a control item, waiting for room. `false` if the writer is gone.
    pub(crate) async fn push_control(&self, item: Outbound) -> bool {
        self.sender.send(item).await.is_ok()
    }

    /// Queues a ping if there is room (a full queue means the client is not reading anyway).
    pub(crate) fn offer_ping(&self) -> bool {
        self.sender.try_send(Outbound::Ping).is_ok()
    }

    /// Stops accepting messages: senders waiting for room fail at once.
    pub(crate) fn close(&self) {
        self.bytes.close();
    }

    /// Bytes queued and not yet written.
    pub(crate) fn queued_bytes(&self) -> usize {
        (self.max_bytes as usize).saturating_sub(self.bytes.available_permits())
    }
}
