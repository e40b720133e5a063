//! Room history: every message sent to a room (or to a user) gets a [`Position`] in the room's
//! one order, the same in every process, and the room keeps its recent messages within
//! [`HistoryLimits`]. Turned on with [`Server::history`](crate::Server::history) (and by
//! [`Server::recovery`](crate::Server::recovery)); read with
//! [`Recipients::history`](crate::Recipients::history):
//!
//! ```
//! # async fn run(hub: exws::Hub) -> Result<(), exws::HubError> {
//! use exws::history::HistoryQuery;
//!
//! // The last 50 messages of "lobby", oldest first, e.g. for a client that just joined.
//! let page = hub.room("lobby").history(HistoryQuery::Last(50)).await?;
//! for entry in &page.entries {
//!     println!("#{} {}", entry.seq, entry.text);
//! }
//! # Ok(()) }
//! ```
//!
//! The history lives where the adapter keeps it: in this process's memory for the default
//! adapter, in Redis streams for the [`RedisAdapter`](crate::adapter::RedisAdapter) (so it
//! survives a restart of the server process, and every process reads the same).

mod memory;
mod position;

pub use crate::adapter::{HistoryEntry, HistoryLimits, HistoryPage, HistoryQuery, Position};
pub(crate) use memory::Memory;
pub(crate) use position::with_position;

impl Default for HistoryLimits {
    /// 1,000 messages, 1 MiB and 5 minutes per room (the default recovery window is 2
    /// minutes: a client away for less finds what it missed, unless the room sent more).
    fn default() -> Self {
        HistoryLimits {
            max_messages: 1000,
            max_bytes: 1 << 20,
            max_age: std::time::Duration::from_secs(5 * 60),
        }
    }
}

impl HistoryLimits {
    /// The default limits with at most `messages` messages per room (at least 1).
    pub fn max_messages(mut self, messages: usize) -> Self {
        self.max_messages = messages.max(1);
        self
    }

    /// The default limits with at most `bytes` bytes per room (at least 1).
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes.max(1);
        self
    }

    /// Keeps messages for `age` (at least 1 ms, at most 30 days).
    pub fn max_age(mut self, age: std::time::Duration) -> Self {
        self.max_age = age.clamp(
            std::time::Duration::from_millis(1),
            std::time::Duration::from_secs(30 * 24 * 3600),
        );
        self
    }
}
