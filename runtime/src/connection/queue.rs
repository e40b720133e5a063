//! A connection's outbound queue, bounded in messages and in bytes.
//!
//! A `VecDeque` under a mutex rather than a channel: an idle connection's queue holds no
//! allocation at all (it is released when the queue drains), which matters at tens of
//! thousands of connections.

use crate::server::SlowConsumerPolicy;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// What happened to a message offered without waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    Queued,
    /// The queue is full: the slow consumer policy applies.
    Full,
    Closed,
}

/// The limits of one queue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueueLimits {
    pub messages: usize,
    pub bytes: usize,
    pub policy: SlowConsumerPolicy,
}

#[derive(Debug)]
struct State {
    items: VecDeque<Utf8Bytes>,
    /// Bytes of queued text messages.
    bytes: usize,
    /// No more text messages are accepted.
    closed: bool,
    /// The writer is gone: nothing is accepted.
    receiver_gone: bool,
    /// The sending side is gone: the writer ends once the queue is empty.
    sender_gone: bool,
    /// A sender waits for room: the writer wakes it when it takes an item.
    senders_waiting: bool,
    /// The session found the queue empty and waits: the next item wakes it.
    receiver_waker: Option<Waker>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// How many items are queued, written under the lock: lets the session see an empty
    /// queue without taking the lock (a stale value only costs one look under the lock, or
    /// is caught by the waker the session registers before it waits).
    queued: AtomicUsize,
    /// Wakes senders waiting for room.
    room_ready: Notify,
    limits: QueueLimits,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn has_room(&self, state: &State, len: usize) -> bool {
        // A message larger than the whole byte budget goes alone into an empty queue.
        state.items.len() < self.limits.messages
            && (state.bytes + len <= self.limits.bytes || state.bytes == 0)
    }
}

/// The sending side of a connection's outbound queue.
#[derive(Debug)]
pub(crate) struct OutboundQueue {
    shared: Arc<Shared>,
}

/// The writer's side.
#[derive(Debug)]
pub(crate) struct OutboundReceiver {
    shared: Arc<Shared>,
}

impl OutboundQueue {
    pub(crate) fn new(limits: QueueLimits) -> (Self, OutboundReceiver) {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                items: VecDeque::new(),
                bytes: 0,
                closed: false,
                receiver_gone: false,
                sender_gone: false,
                senders_waiting: false,
                receiver_waker: None,
            }),
            queued: AtomicUsize::new(0),
            room_ready: Notify::new(),
            limits,
        });
        (
            OutboundQueue {
                shared: shared.clone(),
            },
            OutboundReceiver { shared },
        )
    }

    pub(crate) fn policy(&self) -> SlowConsumerPolicy {
        self.shared.limits.policy
    }

    pub(crate) fn limits(&self) -> QueueLimits {
        self.shared.limits
    }

    /// Queues `text`, waiting for room (backpressure). `false` if the connection is closed.
    pub(crate) async fn push(&self, text: Utf8Bytes) -> bool {
        // The common case, room right away, costs one lock and no waiter registration.
        let mut text = match self.try_push(text, false) {
            Ok(queued) => return queued,
            Err(text) => text,
        };
        loop {
            let room = self.shared.room_ready.notified();
            tokio::pin!(room);
            // Registered before looking again under the lock: a wake-up in between is kept.
            room.as_mut().enable();
            text = match self.try_push(text, true) {
                Ok(queued) => return queued,
                Err(text) => text,
            };
            room.await;
        }
    }

    /// Queues `text` if there is room: `Ok(true)` queued, `Ok(false)` closed, `Err` (the text
    /// back) full; then, with `wait`, the writer is asked to wake senders when it takes one.
    fn try_push(&self, text: Utf8Bytes, wait: bool) -> Result<bool, Utf8Bytes> {
        let len = text.len();
        let mut state = self.shared.lock();
        if state.closed || state.receiver_gone {
            return Ok(false);
        }
        if !self.shared.has_room(&state, len) {
            state.senders_waiting |= wait;
            return Err(text);
        }
        state.bytes += len;
        state.items.push_back(text);
        self.shared
            .queued
            .store(state.items.len(), Ordering::Release);
        let waiting = state.receiver_waker.take();
        drop(state);
        if let Some(waker) = waiting {
            waker.wake();
        }
        Ok(true)
    }

    /// Queues `text` if there is room now.
    pub(crate) fn offer(&self, text: Utf8Bytes) -> Offer {
        let len = text.len();
        let mut state = self.shared.lock();
        if state.closed || state.receiver_gone {
            return Offer::Closed;
        }
        if !self.shared.has_room(&state, len) {
            return Offer::Full;
        }
        state.bytes += len;
        state.items.push_back(text);
        self.shared
            .queued
            .store(state.items.len(), Ordering::Release);
        // The session takes whatever is queued once woken: only a waiting session is woken.
        let waiting = state.receiver_waker.take();
        drop(state);
        if let Some(waker) = waiting {
            waker.wake();
        }
        Offer::Queued
    }

    /// Stops accepting messages: senders waiting for room fail at once.
    pub(crate) fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.room_ready.notify_waiters();
    }

    /// Bytes queued and not yet written.
    pub(crate) fn queued_bytes(&self) -> usize {
        self.shared.lock().bytes
    }
}

impl Drop for OutboundQueue {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.sender_gone = true;
        let waiting = state.receiver_waker.take();
        drop(state);
        if let Some(waker) = waiting {
            waker.wake();
        }
    }
}

impl OutboundReceiver {
    /// The next item; `Pending` (and woken by the next push) while the queue is empty;
    /// `None` once the sending side is gone and the queue is empty.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Utf8Bytes>> {
        let mut state = self.shared.lock();
        if let Some(item) = self.take(state) {
            return Poll::Ready(Some(item));
        }
        state = self.shared.lock();
        if state.sender_gone {
            return Poll::Ready(None);
        }
        match &mut state.receiver_waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The next item, waiting for one; `None` once the sending side is gone and the queue is
    /// empty.
    pub(crate) async fn recv(&mut self) -> Option<Utf8Bytes> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Whether something seems queued, without the lock: a push on another thread may not be
    /// seen yet (a waiting session is woken by it).
    pub(crate) fn has_queued(&self) -> bool {
        self.shared.queued.load(Ordering::Acquire) > 0
    }

    /// The next item if one is queued.
    pub(crate) fn try_recv(&mut self) -> Option<Utf8Bytes> {
        if !self.has_queued() {
            return None;
        }
        let state = self.shared.lock();
        self.take(state)
    }

    /// Pops the first item under the lock `state`, waking senders waiting for room.
    fn take(&self, mut state: MutexGuard<'_, State>) -> Option<Utf8Bytes> {
        let item = state.items.pop_front()?;
        self.shared
            .queued
            .store(state.items.len(), Ordering::Release);
        state.bytes -= item.len();
        if state.items.is_empty() && state.items.capacity() > 8 {
            // Give an idle connection's memory back.
            state.items = VecDeque::new();
        }
        let wake_senders = std::mem::take(&mut state.senders_waiting);
        drop(state);
        if wake_senders {
            self.shared.room_ready.notify_waiters();
        }
        Some(item)
    }
}

impl Drop for OutboundReceiver {
    fn drop(&mut self) {
        self.shared.lock().receiver_gone = true;
        self.shared.room_ready.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(messages: usize, bytes: usize) -> (OutboundQueue, OutboundReceiver) {
        OutboundQueue::new(QueueLimits {
            messages,
            bytes,
            policy: SlowConsumerPolicy::Disconnect,
        })
    }

    #[test]
    fn bounds_messages_and_bytes() {
        let (queue, mut receiver) = queue(3, 10);
        assert_eq!(queue.offer("12345".into()), Offer::Queued);
        assert_eq!(queue.offer("12345".into()), Offer::Queued);
        assert_eq!(queue.offer("1".into()), Offer::Full, "over the byte budget");
        assert_eq!(queue.queued_bytes(), 10);
        assert!(receiver.try_recv().is_some());
        assert_eq!(queue.offer("1".into()), Offer::Queued);
        assert_eq!(queue.offer("1".into()), Offer::Queued);
        assert_eq!(
            queue.offer("1".into()),
            Offer::Full,
            "over the message bound"
        );
    }

    #[test]
    fn a_message_over_the_budget_goes_alone() {
        let (queue, mut receiver) = queue(10, 4);
        assert_eq!(queue.offer("123456789".into()), Offer::Queued);
        assert_eq!(queue.offer("1".into()), Offer::Full);
        assert!(receiver.try_recv().is_some());
        assert_eq!(queue.queued_bytes(), 0);
    }

    #[tokio::test]
    async fn push_waits_for_room_and_fails_once_closed() {
        let (queue, mut receiver) = queue(1, 100);
        let queue = Arc::new(queue);
        assert!(queue.push("a".into()).await);
        let waiting = tokio::spawn({
            let queue = queue.clone();
            async move { queue.push("b".into()).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        assert!(matches!(receiver.recv().await, Some(text) if text.as_str() == "a"));
        assert!(waiting.await.unwrap_or(false));
        queue.close();
        assert!(!queue.push("c".into()).await);
    }

    #[tokio::test]
    async fn the_receiver_ends_when_the_sender_is_gone() {
        let (queue, mut receiver) = queue(4, 100);
        assert!(queue.push("a".into()).await);
        drop(queue);
        assert!(receiver.recv().await.is_some());
        assert!(receiver.recv().await.is_none());
    }

    #[tokio::test]
    async fn senders_fail_when_the_writer_is_gone() {
        let (queue, receiver) = queue(4, 100);
        drop(receiver);
        assert!(!queue.push("a".into()).await);
    }
}
