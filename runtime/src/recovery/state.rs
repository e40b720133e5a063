//! A recovering connection's own state: the last position it was given in each room (so
//! that no message reaches it twice), the position each room was joined at, live messages
//! held back while a resume replays, and (for a client connection) its session's token and
//! room subscriptions.

use crate::adapter::Position;
use crate::connection::{Connection, ConnectionId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// A room subscription of a recoverable session: restored with its stream `Id` on resume.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct SubscriptionRecord {
    /// The room.
    pub room: String,
    /// The stream's `Id`, as JSON text.
    pub id: String,
    /// The `Type` of the request that opened it (for its `Error`).
    #[serde(rename = "type")]
    pub message_type: String,
    /// The member of the hub that stands for it (not stored).
    #[serde(skip)]
    pub member: Option<ConnectionId>,
    /// Where it started (stored beside it).
    #[serde(skip)]
    pub start: Option<Position>,
}

/// The recovery state of one member of the hub (a client connection or a room subscription).
#[derive(Debug)]
pub(crate) struct Recover {
    /// The session's secret, for a client connection; `None` for a subscription.
    token: Option<String>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The last position queued per room.
    last: HashMap<Box<str>, Position>,
    /// The position each room was joined at (or the resume started from).
    joined: HashMap<String, Position>,
    /// While a resume replays: live messages held back, and their limit.
    held: Option<Held>,
    subscriptions: Vec<SubscriptionRecord>,
}

#[derive(Debug)]
struct Held {
    items: Vec<(Box<str>, Position, Utf8Bytes)>,
    limit: usize,
    overflowed: bool,
}

impl Recover {
    /// The state of a client connection of the session with `token`; `hold` live messages
    /// (up to `limit`) until [`release`](Recover::release) when it resumes.
    pub(crate) fn session(token: String, hold: Option<usize>) -> Self {
        Recover {
            token: Some(token),
            state: Mutex::new(State {
                held: hold.map(|limit| Held {
                    items: Vec::new(),
                    limit,
                    overflowed: false,
                }),
                ..State::default()
            }),
        }
    }

    /// The state of a room subscription; `hold` as for [`session`](Recover::session).
    pub(crate) fn subscription(hold: Option<usize>) -> Self {
        Recover {
            token: None,
            state: Mutex::new(State {
                held: hold.map(|limit| Held {
                    items: Vec::new(),
                    limit,
                    overflowed: false,
                }),
                ..State::default()
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The session's token (client connections).
    pub(crate) fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Queues a recorded message on `connection` with its position, unless it was queued
    /// already; holds it back while a resume replays. Returns whether it was queued (or held).
    pub(crate) fn deliver(
        &self,
        connection: &Connection,
        room: &str,
        position: &Position,
        positioned: impl FnOnce() -> Utf8Bytes,
    ) -> bool {
        let mut state = self.lock();
        if seen(&state, room, position) {
            return false;
        }
        if let Some(held) = &mut state.held {
            if held.items.len() >= held.limit {
                held.overflowed = true;
                return false;
            }
            held.items
                .push((room.into(), position.clone(), positioned()));
            return true;
        }
        remember(&mut state, room, position);
        // Queued under the lock: two deliveries of one room keep their order.
        connection.deliver(positioned())
    }

    /// Marks a replayed message as given; `false` if it was given already (skip it).
    pub(crate) fn replaying(&self, room: &str, position: &Position) -> bool {
        let mut state = self.lock();
        if seen(&state, room, position) {
            return false;
        }
        remember(&mut state, room, position);
        true
    }

    /// Ends the hold: queues the held messages not replayed. Returns `false` if some were
    /// lost because the hold overflowed.
    pub(crate) fn release(&self, connection: &Connection) -> bool {
        let mut state = self.lock();
        let Some(held) = state.held.take() else {
            return true;
        };
        for (room, position, text) in held.items {
            if !seen(&state, &room, &position) {
                remember(&mut state, &room, &position);
                connection.deliver(text);
            }
        }
        !held.overflowed
    }

    /// Records the position `room` was joined at (or a resume started from).
    pub(crate) fn joined(&self, room: &str, position: Position) {
        self.lock().joined.insert(room.to_owned(), position);
    }

    /// Forgets `room` (left).
    pub(crate) fn left(&self, room: &str) {
        let mut state = self.lock();
        state.joined.remove(room);
        state.last.remove(room);
    }

    /// Where to replay `room` from when the client does not say: the position it was joined
    /// at (not the last one queued: the client may not have read what was queued).
    pub(crate) fn joined_at(&self, room: &str) -> Option<Position> {
        self.lock().joined.get(room).cloned()
    }

    /// Adds a room subscription of the session.
    pub(crate) fn add_subscription(&self, record: SubscriptionRecord) {
        self.lock().subscriptions.push(record);
    }

    /// Removes the room subscription whose member is `member`.
    pub(crate) fn remove_subscription(&self, member: &ConnectionId) {
        self.lock()
            .subscriptions
            .retain(|record| record.member.as_ref() != Some(member));
    }

    /// The session's room subscriptions.
    pub(crate) fn subscriptions(&self) -> Vec<SubscriptionRecord> {
        self.lock().subscriptions.clone()
    }
}

fn seen(state: &State, room: &str, position: &Position) -> bool {
    state
        .last
        .get(room)
        .is_some_and(|last| last.epoch == position.epoch && position.seq <= last.seq)
}

fn remember(state: &mut State, room: &str, position: &Position) {
    match state.last.get_mut(room) {
        Some(last) => *last = position.clone(),
        None => {
            state.last.insert(room.into(), position.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::{ConnectionParts, OutboundQueue, QueueLimits};
    use std::sync::Arc;

    fn connection(recover: Arc<Recover>) -> (Connection, crate::connection::OutboundReceiver) {
        let (outbound, receiver) = OutboundQueue::new(QueueLimits {
            messages: 16,
            bytes: 1 << 20,
            policy: crate::server::SlowConsumerPolicy::DropNewest,
        });
        let connection = Connection::new(ConnectionParts {
            id: ConnectionId::generate(),
            user_id: None,
            remote_addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            outbound,
            user: None,
            metadata: HashMap::new(),
            request: Default::default(),
            recover: Some(recover),
        });
        (connection, receiver)
    }

    fn text(n: u64) -> Utf8Bytes {
        Utf8Bytes::from(n.to_string())
    }

    #[test]
    fn held_messages_follow_the_replay_and_none_arrives_twice() {
        let recover = Arc::new(Recover::session("t".into(), Some(8)));
        let (connection, mut queue) = connection(recover.clone());
        // Live messages 3 and 4 arrive while 1..=3 are replayed.
        for seq in [3, 4] {
            assert!(recover.deliver(&connection, "r", &Position::new("e", seq), || text(seq)));
        }
        assert!(queue.try_recv().is_none(), "held back during the replay");
        for seq in 1..=3 {
            assert!(recover.replaying("r", &Position::new("e", seq)));
            connection.deliver(text(seq));
        }
        assert!(recover.release(&connection));
        let got: Vec<String> = std::iter::from_fn(|| queue.try_recv())
            .map(|text| text.as_str().to_owned())
            .collect();
        assert_eq!(got, ["1", "2", "3", "4"]);
        // Live from now on; a second copy of 4 (a membership and a late delivery) is skipped.
        assert!(!recover.deliver(&connection, "r", &Position::new("e", 4), || text(4)));
        assert!(recover.deliver(&connection, "r", &Position::new("e", 5), || text(5)));
        // Another epoch starts over.
        assert!(recover.deliver(&connection, "r", &Position::new("f", 1), || text(1)));
    }

    #[test]
    fn a_hold_that_overflows_says_so() {
        let recover = Arc::new(Recover::session("t".into(), Some(1)));
        let (connection, _queue) = connection(recover.clone());
        assert!(recover.deliver(&connection, "r", &Position::new("e", 1), || text(1)));
        assert!(!recover.deliver(&connection, "r", &Position::new("e", 2), || text(2)));
        assert!(!recover.release(&connection));
    }
}
