//! This process as an engine sees it: where messages from other processes are delivered, and
//! what this process holds.

use super::{AnswerSender, CallRequest, GoneConnection, Position, Target};
use crate::auth::UserId;
use crate::connection::ConnectionId;
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

    /// Calls every connection of this process that `call.target` names, but those in
    /// `call.except`, each with its own timeout, in the background (it returns at once), and
    /// sends each callee's answer to `answers` as it comes. Returns how many connections were
    /// called. An engine calls it for a call from another process and sends the answers
    /// back there.
    fn call(&self, call: CallRequest, answers: AnswerSender) -> usize;

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

    // ---- presence ----

    /// The presence meta of connection `id` of this process, if the server gave it one (an
    /// engine writes it back with the connection after its backend lost it).
    fn presence_meta(&self, id: &ConnectionId) -> Option<serde_json::Value> {
        let _ = id;
        None
    }

    /// Connections of other processes that the engine removed because their process is gone.
    /// The hub tells each room's presence watchers that they left, and sends that to the
    /// other processes through the engine's [`publish`](super::Adapter::publish). Returns at
    /// once (the work runs in a task of its own).
    fn connections_gone(&self, gone: Vec<GoneConnection>) {
        let _ = gone;
    }

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
