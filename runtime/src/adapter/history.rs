//! The history side of the adapter contract: a room's messages in one order, each with its
//! [`Position`], kept within [`HistoryLimits`]; and the records of disconnected sessions.

use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Where a message stands in its room's one order: the room's history `epoch` and the
/// message's sequence number in it (1 for the first message of an epoch, then +1 each).
///
/// A room's epoch changes when its history is lost (a backend restarted without it, the room
/// went idle for longer than it is kept): positions of two epochs cannot be compared, and a
/// client that last saw a position of an older epoch may have missed messages.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Position {
    /// The room's history epoch: an opaque string, unique per room and history.
    pub epoch: Arc<str>,
    /// The sequence number in the epoch; 0 before the first message.
    pub seq: u64,
}

impl Position {
    /// A position of `epoch`.
    pub fn new(epoch: impl Into<Arc<str>>, seq: u64) -> Self {
        Position {
            epoch: epoch.into(),
            seq,
        }
    }
}

/// How much history a room keeps: the oldest messages go first once any bound is passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLimits {
    /// The most messages kept per room.
    pub max_messages: usize,
    /// The most bytes of messages (their encoded envelopes) kept per room.
    pub max_bytes: usize,
    /// How long a message is kept.
    pub max_age: Duration,
}

/// One message of a room's history, as its receivers got it.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// The message's sequence number in the page's epoch.
    pub seq: u64,
    /// The encoded envelope, without position.
    pub text: Utf8Bytes,
}

/// What a history read asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryQuery {
    /// The last `n` messages kept (fewer if fewer are kept), oldest first.
    Last(usize),
    /// The messages after sequence number `seq` (of the page's epoch), oldest first, at most
    /// the room's `max_messages`.
    Since(u64),
}

/// A read of a room's history.
#[derive(Debug, Clone)]
pub struct HistoryPage {
    /// The room's current position: its epoch and the sequence number of its newest message
    /// (0 if it has none). An engine that keeps nothing for the room creates its epoch.
    pub current: Position,
    /// The messages read, oldest first, consecutive sequence numbers.
    pub entries: Vec<HistoryEntry>,
}

impl HistoryPage {
    /// Whether the page holds every message after `seq` up to the current one: nothing in
    /// between was evicted (by count, bytes or age).
    pub fn complete_since(&self, seq: u64) -> bool {
        match self.entries.first() {
            Some(first) => first.seq == seq + 1,
            None => self.current.seq == seq,
        }
    }
}
