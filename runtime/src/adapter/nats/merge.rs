//! Several NATS subscriptions read as one stream in each publisher's order.
//!
//! The client hands each subscription's messages to a channel of its own, in the order they
//! arrived on the socket; reading the channels one after the other would let a direct message
//! overtake a room message sent before it. Every message carries its publisher's sequence
//! number, and messages are taken in *passes*: a pass drains every subscription that was woken
//! since the previous one (the others are known empty). Whatever a pass finds was put in its
//! channel before the next pass starts, and so was every earlier message of the same publisher
//! (the client puts them in order), so a pass that finds nothing means that everything taken
//! can be sorted by (publisher, sequence) and delivered. Under a steady flow a round ends after
//! [`MAX_PASSES`]: what the last pass found is delivered only up to the sequences the earlier
//! passes reached, and the rest waits for the next round.

use crate::adapter::wire;
use async_nats::{Message, Subscriber};
use futures_util::task::{waker, ArcWake, AtomicWaker};
use futures_util::Stream;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// The most passes of one round.
const MAX_PASSES: usize = 8;

/// Which subscription a message came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Source {
    Everyone,
    Node,
    Room(String),
}

/// A message taken from a subscription, with its publisher and sequence.
pub(super) struct Taken {
    pub source: Source,
    pub message: Message,
    pub node: String,
    pub seq: u64,
}

/// The subscriptions woken since they were last drained.
struct Ready {
    keys: Mutex<Vec<u64>>,
    task: AtomicWaker,
}

struct SlotWaker {
    key: u64,
    queued: AtomicBool,
    ready: Arc<Ready>,
}

impl ArcWake for SlotWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        if !arc_self.queued.swap(true, Ordering::AcqRel) {
            lock(&arc_self.ready.keys).push(arc_self.key);
        }
        arc_self.ready.task.wake();
    }
}

struct Slot {
    source: Source,
    subscriber: Subscriber,
    waker: Arc<SlotWaker>,
}

/// The subscriptions, read in publishers' order.
pub(super) struct Merge {
    slots: HashMap<u64, Slot>,
    by_source: HashMap<Source, u64>,
    ready: Arc<Ready>,
    next_key: u64,
    /// Taken in an earlier round but not yet deliverable.
    carried: Vec<Taken>,
}

impl Merge {
    pub(super) fn new() -> Self {
        Merge {
            slots: HashMap::new(),
            by_source: HashMap::new(),
            ready: Arc::new(Ready {
                keys: Mutex::new(Vec::new()),
                task: AtomicWaker::new(),
            }),
            next_key: 1,
            carried: Vec::new(),
        }
    }

    pub(super) fn contains(&self, source: &Source) -> bool {
        self.by_source.contains_key(source)
    }

    /// Adds a subscription (replacing one from the same source).
    pub(super) fn insert(&mut self, source: Source, subscriber: Subscriber) {
        self.remove(&source);
        let key = self.next_key;
        self.next_key += 1;
        let slot_waker = Arc::new(SlotWaker {
            key,
            queued: AtomicBool::new(true),
            ready: self.ready.clone(),
        });
        lock(&self.ready.keys).push(key);
        self.ready.task.wake();
        self.by_source.insert(source.clone(), key);
        self.slots.insert(
            key,
            Slot {
                source,
                subscriber,
                waker: slot_waker,
            },
        );
    }

    /// Removes a subscription; returns it, to be unsubscribed.
    pub(super) fn remove(&mut self, source: &Source) -> Option<Subscriber> {
        let key = self.by_source.remove(source)?;
        self.slots.remove(&key).map(|slot| slot.subscriber)
    }

    /// Waits until a subscription has something (or ended), or at once while messages taken
    /// earlier wait for their round.
    pub(super) async fn ready(&self) {
        std::future::poll_fn(|cx| {
            self.ready.task.register(cx.waker());
            if self.carried.is_empty() && lock(&self.ready.keys).is_empty() {
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await;
    }

    /// One round: the messages that can be delivered now, in publishers' order. `decode`
    /// gives a message's publisher and sequence (`None`: not a publisher's message, e.g. a
    /// liveness check; handed to `other` at once).
    pub(super) fn round(
        &mut self,
        decode: impl Fn(&Message) -> Option<(String, u64)>,
        mut other: impl FnMut(Source, Message),
    ) -> Vec<Taken> {
        let mut taken: Vec<Taken> = std::mem::take(&mut self.carried);
        let mut last_pass = Vec::new();
        let mut quiet = false;
        for _ in 0..MAX_PASSES {
            let pass = self.pass(&decode, &mut other);
            if pass.is_empty() {
                quiet = true;
                break;
            }
            taken.append(&mut last_pass);
            last_pass = pass;
        }
        if quiet {
            taken.append(&mut last_pass);
        } else {
            // Deliverable from the last pass: up to what the earlier passes reached.
            let mut reached: HashMap<&str, u64> = HashMap::new();
            for item in &taken {
                let seq = reached.entry(item.node.as_str()).or_default();
                *seq = (*seq).max(item.seq);
            }
            let (now, later): (Vec<Taken>, Vec<Taken>) = last_pass.into_iter().partition(|item| {
                reached
                    .get(item.node.as_str())
                    .is_some_and(|seq| item.seq <= *seq)
            });
            self.carried = later;
            taken.extend(now);
        }
        taken.sort_by(|a, b| (a.node.as_str(), a.seq).cmp(&(b.node.as_str(), b.seq)));
        taken
    }

    /// Drains every subscription woken since the last pass.
    fn pass(
        &mut self,
        decode: &impl Fn(&Message) -> Option<(String, u64)>,
        other: &mut impl FnMut(Source, Message),
    ) -> Vec<Taken> {
        let keys = std::mem::take(&mut *lock(&self.ready.keys));
        let mut found = Vec::new();
        let mut ended = Vec::new();
        for key in keys {
            let Some(slot) = self.slots.get_mut(&key) else {
                continue;
            };
            slot.waker.queued.store(false, Ordering::Release);
            let slot_waker: Waker = waker(slot.waker.clone());
            let mut cx = Context::from_waker(&slot_waker);
            loop {
                match Pin::new(&mut slot.subscriber).poll_next(&mut cx) {
                    Poll::Ready(Some(message)) => match decode(&message) {
                        Some((node, seq)) => found.push(Taken {
                            source: slot.source.clone(),
                            message,
                            node,
                            seq,
                        }),
                        None => other(slot.source.clone(), message),
                    },
                    Poll::Ready(None) => {
                        ended.push(slot.source.clone());
                        break;
                    }
                    Poll::Pending => break,
                }
            }
        }
        for source in ended {
            self.remove(&source);
        }
        found
    }
}

/// The publisher and sequence of a hub message.
pub(super) fn publisher_of(message: &Message) -> Option<(String, u64)> {
    let payload = wire::decode(&message.payload)?;
    Some((payload.node.to_owned(), payload.seq))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
