//! This process as an engine sees it: where messages from other processes are delivered, and
//! what this process holds.

use super::{Position, Target};
use crate::{ConnectionId, UserId};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// This process's side of an [`Adapter`](super::Adapter): the sink for messages from other
/// processes, and a view of the connections and rooms held here.
///
/// The hub implements it and hands it to [`Adapter::start`](super::Adapter::start) once; an
/// engine keeps it for as long as it runs. Every method answers from this process's memory
/// at once: none waits, none fails, and each may be called from any task.
pub trait Inbound: Send + Sync + 'static {
    /// Queues an encoded envelope on every connection of this process that `target` names,
    /// but those in `except` (and their room subscriptions). Returns how many connections got
    /// it. A connection whose outbound queue is full is handled by the server's slow consumer
    /// policy; the call never waits for it.
    fn deliver(&self, target: &Target, except: &[ConnectionId], text: &Utf8Bytes) -> usize;

    /// The ids of this process's open connections (room subscriptions included).
    fn connections(&self) -> Vec<ConnectionId>;

    /// The ids of this process's open connections, each with its user if it has one.
    fn connections_with_users(&self) -> Vec<(ConnectionId, Option<UserId>)>;

    /// Whether `room` has members on this process. An engine subscribes to a room's messages
    /// only while this holds.
    fn has_members(&self, room: &str) -> bool;

    /// Every room with members on this process, with those members (the rooms of users
    /// included), for an engine that restores its backend after a reconnection.
    fn memberships(&self) -> Vec<(String, Vec<ConnectionId>)>;

    // ---- history and recovery ----

    /// Queues a recorded room message (see
    /// [`Adapter::publish_recorded`](super::Adapter::publish_recorded)) on every member of
    /// `room` on this process but those in `except`: connections that asked for recovery get
    /// it with its `position`, and never twice; the others get `text` as it is. Returns how
    /// many connections got it.
    fn deliver_recorded(
        &self,
        room: &str,
        except: &[ConnectionId],
        text: &Utf8Bytes,
        position: &Position,
    ) -> usize;
}
