//! History and session records in this process's memory: what the hub keeps when its engine
//! keeps none (the in-process adapter; the whole answer for one process).

use crate::adapter::{HistoryEntry, HistoryLimits, HistoryPage, HistoryQuery, Position};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Every this many appends, rooms whose newest message is past the age limit are dropped.
const SWEEP_EVERY: u64 = 1024;

/// The rooms' histories and the session records of this process.
#[derive(Default)]
pub(crate) struct Memory {
    rooms: Mutex<Rooms>,
    sessions: Mutex<Sessions>,
}

#[derive(Default)]
struct Rooms {
    rooms: HashMap<String, RoomHistory>,
    appends: u64,
}

struct RoomHistory {
    epoch: Arc<str>,
    /// The sequence number of the newest message (0: none yet).
    seq: u64,
    entries: VecDeque<Entry>,
    bytes: usize,
}

struct Entry {
    seq: u64,
    text: Utf8Bytes,
    at: Instant,
}

#[derive(Default)]
struct Sessions {
    records: HashMap<String, (Vec<u8>, Instant)>,
    stores: u64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl RoomHistory {
    fn new() -> Self {
        RoomHistory {
            epoch: crate::recovery::random_token(8).into(),
            seq: 0,
            entries: VecDeque::new(),
            bytes: 0,
        }
    }

    fn position(&self) -> Position {
        Position {
            epoch: self.epoch.clone(),
            seq: self.seq,
        }
    }

    /// Drops the oldest entries past any bound.
    fn trim(&mut self, limits: &HistoryLimits, now: Instant) {
        while let Some(oldest) = self.entries.front() {
            let expired = now.saturating_duration_since(oldest.at) > limits.max_age;
            if self.entries.len() > limits.max_messages || self.bytes > limits.max_bytes || expired
            {
                self.bytes -= oldest.text.len();
                self.entries.pop_front();
            } else {
                break;
            }
        }
    }

    /// Whether nothing kept is younger than the age limit.
    fn stale(&self, limits: &HistoryLimits, now: Instant) -> bool {
        self.entries
            .back()
            .is_none_or(|newest| now.saturating_duration_since(newest.at) > limits.max_age)
    }
}

impl Memory {
    /// Appends `text` to `room`'s history and calls `deliver` with its position while the
    /// room is held, so that every process's receivers (here: this one's) get the room's
    /// messages in the order of their positions.
    pub(crate) fn append<R>(
        &self,
        room: &str,
        text: &Utf8Bytes,
        limits: &HistoryLimits,
        deliver: impl FnOnce(&Position) -> R,
    ) -> (Position, R) {
        let now = Instant::now();
        let mut rooms = lock(&self.rooms);
        rooms.appends += 1;
        if rooms.appends.is_multiple_of(SWEEP_EVERY) {
            rooms
                .rooms
                .retain(|name, history| name == room || !history.stale(limits, now));
        }
        let history = rooms
            .rooms
            .entry(room.to_owned())
            .or_insert_with(RoomHistory::new);
        history.seq += 1;
        history.bytes += text.len();
        history.entries.push_back(Entry {
            seq: history.seq,
            text: text.clone(),
            at: now,
        });
        history.trim(limits, now);
        let position = history.position();
        let delivered = deliver(&position);
        (position, delivered)
    }

    /// The room's current position, creating its epoch if it has none.
    pub(crate) fn position(&self, room: &str) -> Position {
        let mut rooms = lock(&self.rooms);
        rooms
            .rooms
            .entry(room.to_owned())
            .or_insert_with(RoomHistory::new)
            .position()
    }

    /// Reads the room's history.
    pub(crate) fn read(
        &self,
        room: &str,
        query: HistoryQuery,
        limits: &HistoryLimits,
    ) -> HistoryPage {
        let now = Instant::now();
        let mut rooms = lock(&self.rooms);
        let history = rooms
            .rooms
            .entry(room.to_owned())
            .or_insert_with(RoomHistory::new);
        history.trim(limits, now);
        let kept = history.entries.iter();
        let entries: Vec<HistoryEntry> = match query {
            HistoryQuery::Last(n) => {
                let skip = history
                    .entries
                    .len()
                    .saturating_sub(n.min(limits.max_messages));
                kept.skip(skip).map(to_entry).collect()
            }
            HistoryQuery::Since(seq) => kept
                .filter(|entry| entry.seq > seq)
                .take(limits.max_messages)
                .map(to_entry)
                .collect(),
        };
        HistoryPage {
            current: history.position(),
            entries,
        }
    }

    /// Stores a session record for `ttl`.
    pub(crate) fn store_session(&self, key: &str, record: Vec<u8>, ttl: Duration) {
        let now = Instant::now();
        let mut sessions = lock(&self.sessions);
        sessions.stores += 1;
        if sessions.stores.is_multiple_of(SWEEP_EVERY) {
            sessions.records.retain(|_, (_, until)| *until > now);
        }
        sessions.records.insert(key.to_owned(), (record, now + ttl));
    }

    /// Extends the records `keys` that are stored.
    pub(crate) fn touch_sessions(&self, keys: &[String], ttl: Duration) {
        let until = Instant::now() + ttl;
        let mut sessions = lock(&self.sessions);
        for key in keys {
            if let Some((_, expires)) = sessions.records.get_mut(key.as_str()) {
                *expires = until;
            }
        }
    }

    /// Takes the record `key` if it is stored and not expired.
    pub(crate) fn take_session(&self, key: &str) -> Option<Vec<u8>> {
        let now = Instant::now();
        let (record, until) = lock(&self.sessions).records.remove(key)?;
        (until > now).then_some(record)
    }
}

fn to_entry(entry: &Entry) -> HistoryEntry {
    HistoryEntry {
        seq: entry.seq,
        text: entry.text.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_messages: usize, max_bytes: usize) -> HistoryLimits {
        HistoryLimits {
            max_messages,
            max_bytes,
            max_age: Duration::from_secs(60),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn keeps_the_newest_messages_within_every_bound() {
        let memory = Memory::default();
        let limits = limits(3, 9);
        for text in ["aaaa", "bbbb", "cccc", "dd"] {
            memory.append("r", &Utf8Bytes::from(text), &limits, |_| ());
        }
        let page = memory.read("r", HistoryQuery::Since(0), &limits);
        let seqs: Vec<u64> = page.entries.iter().map(|entry| entry.seq).collect();
        assert_eq!(seqs, [3, 4], "9 bytes keep only the last two");
        assert_eq!(page.current.seq, 4);
        assert!(!page.complete_since(1));
        assert!(page.complete_since(2));
        tokio::time::advance(Duration::from_secs(61)).await;
        let page = memory.read("r", HistoryQuery::Last(10), &limits);
        assert!(page.entries.is_empty(), "older than the age limit");
        assert!(!page.complete_since(2));
        assert!(page.complete_since(4));
    }

    #[tokio::test(start_paused = true)]
    async fn a_session_record_is_taken_once_and_expires() {
        let memory = Memory::default();
        memory.store_session("k", b"one".to_vec(), Duration::from_secs(5));
        assert_eq!(memory.take_session("k").as_deref(), Some(&b"one"[..]));
        assert_eq!(memory.take_session("k"), None);
        memory.store_session("k", b"two".to_vec(), Duration::from_secs(5));
        tokio::time::advance(Duration::from_secs(4)).await;
        memory.touch_sessions(&["k".to_owned()], Duration::from_secs(5));
        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(memory.take_session("k").as_deref(), Some(&b"two"[..]));
        memory.store_session("k", b"three".to_vec(), Duration::from_secs(5));
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(memory.take_session("k"), None);
    }
}
