//! This process's connections and room memberships.

use crate::adapter::{AnswerSender, CallAnswer, CallRequest, Target};
use crate::auth::UserId;
use crate::connection::{Connection, ConnectionId};
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::collections::{HashMap, HashSet};
use std::sync::RwLock;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// The prefix of the rooms that stand for users: a user's connections are the members of its
/// room. The control character keeps these names apart from every room an application can
/// join (room names may not hold control characters).
pub(crate) const USER_ROOM_PREFIX: &str = "\u{1}user:";

/// The room that stands for user `id`.
pub(crate) fn user_room(id: &UserId) -> String {
    format!("{USER_ROOM_PREFIX}{id}")
}

/// Whether `room` is an application's room (not a user's, nor another of the hub's own,
/// whose names start with a control character).
fn is_application_room(room: &str) -> bool {
    !room.starts_with('\u{1}')
}

/// The connections of this process and the rooms they are in. A room exists while it has
/// members here; an empty room is removed at once.
#[derive(Default)]
pub(crate) struct LocalHub {
    state: RwLock<State>,
}

#[derive(Default)]
struct State {
    connections: HashMap<ConnectionId, Member>,
    rooms: HashMap<String, HashSet<ConnectionId>>,
}

struct Member {
    connection: Connection,
    rooms: HashSet<String>,
}

/// What a join changed.
pub(crate) struct Joined {
    /// It is the room's first member on this process.
    pub first_here: bool,
    /// Members on this process after the join.
    pub members_here: usize,
    /// The connection was not in the room before.
    pub newly: bool,
}

/// Why a local join failed.
pub(crate) enum JoinRefused {
    UnknownConnection,
    TooManyRooms,
}

impl LocalHub {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    pub(crate) fn add(&self, connection: Connection) {
        let id = connection.id().clone();
        self.write().connections.insert(
            id,
            Member {
                connection,
                rooms: HashSet::new(),
            },
        );
    }

    /// Removes a connection from the hub and every room; returns those rooms, each with
    /// whether it lost its last member here.
    pub(crate) fn remove(&self, id: &ConnectionId) -> Vec<(String, bool)> {
        let mut state = self.write();
        let Some(member) = state.connections.remove(id) else {
            return Vec::new();
        };
        let rooms = member
            .rooms
            .into_iter()
            .map(|room| {
                let emptied = state.leave_room(&room, id);
                (room, emptied)
            })
            .collect();
        state.shrink();
        rooms
    }

    pub(crate) fn join(
        &self,
        id: &ConnectionId,
        room: &str,
        max_rooms: usize,
    ) -> Result<Joined, JoinRefused> {
        let mut state = self.write();
        let state = &mut *state;
        let member = state
            .connections
            .get_mut(id)
            .ok_or(JoinRefused::UnknownConnection)?;
        if member.rooms.contains(room) {
            let members_here = state.rooms.get(room).map_or(0, HashSet::len);
            return Ok(Joined {
                first_here: false,
                members_here,
                newly: false,
            });
        }
        if is_application_room(room)
            && member
                .rooms
                .iter()
                .filter(|room| is_application_room(room))
                .count()
                >= max_rooms
        {
            return Err(JoinRefused::TooManyRooms);
        }
        member.rooms.insert(room.to_owned());
        let members = state.rooms.entry(room.to_owned()).or_default();
        members.insert(id.clone());
        Ok(Joined {
            first_here: members.len() == 1,
            members_here: members.len(),
            newly: true,
        })
    }

    /// Removes `id` from `room`: `None` if it was not in it, else whether the room lost its
    /// last member here.
    pub(crate) fn leave(&self, id: &ConnectionId, room: &str) -> Option<bool> {
        let mut state = self.write();
        let member = state.connections.get_mut(id)?;
        if !member.rooms.remove(room) {
            return None;
        }
        let emptied = state.leave_room(room, id);
        state.shrink();
        Some(emptied)
    }

    pub(crate) fn rooms_of(&self, id: &ConnectionId) -> Vec<String> {
        let state = self.read();
        let mut rooms: Vec<String> = state
            .connections
            .get(id)
            .map(|member| {
                member
                    .rooms
                    .iter()
                    .filter(|room| is_application_room(room))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        rooms.sort();
        rooms
    }

    pub(crate) fn members(&self, room: &str) -> Vec<ConnectionId> {
        let state = self.read();
        let mut members: Vec<ConnectionId> = state
            .rooms
            .get(room)
            .map(|members| members.iter().cloned().collect())
            .unwrap_or_default();
        members.sort();
        members
    }

    pub(crate) fn connection(&self, id: &ConnectionId) -> Option<Connection> {
        self.read()
            .connections
            .get(id)
            .map(|member| member.connection.clone())
    }

    pub(crate) fn connection_ids(&self) -> Vec<ConnectionId> {
        self.read().connections.keys().cloned().collect()
    }

    pub(crate) fn connection_count(&self) -> usize {
        self.read().connections.len()
    }

    pub(crate) fn has_room(&self, room: &str) -> bool {
        self.read().rooms.contains_key(room)
    }

    /// Application rooms with members here (users' rooms are not counted).
    pub(crate) fn room_count(&self) -> usize {
        self.read()
            .rooms
            .keys()
            .filter(|room| is_application_room(room))
            .count()
    }

    /// The users of `ids` that are on this process, in the same order (`None` for a
    /// connection without a user, or not here).
    pub(crate) fn user_ids(&self, ids: &[ConnectionId]) -> Vec<Option<UserId>> {
        let state = self.read();
        ids.iter()
            .map(|id| {
                state
                    .connections
                    .get(id)
                    .and_then(|member| member.connection.user_id().cloned())
            })
            .collect()
    }

    /// Every connection of this process with its user, if it has one.
    pub(crate) fn connections_with_users(&self) -> Vec<(ConnectionId, Option<UserId>)> {
        let ids = self.connection_ids();
        let users = self.user_ids(&ids);
        ids.into_iter().zip(users).collect()
    }

    /// Every room with members here, with its members.
    pub(crate) fn memberships(&self) -> Vec<(String, Vec<ConnectionId>)> {
        self.read()
            .rooms
            .iter()
            .map(|(room, members)| (room.clone(), members.iter().cloned().collect()))
            .collect()
    }

    /// The local connections `target` names, but those in `except` (leaving a connection out
    /// leaves its room subscriptions out too). Handles taken under the lock, used outside it.
    fn receivers(&self, target: &Target, except: &[ConnectionId]) -> Vec<Connection> {
        let state = self.read();
        let wanted = |id: &ConnectionId| {
            !except.contains(id)
                && !except
                    .iter()
                    .any(|left_out| left_out.as_str() == id.owner())
        };
        match target {
            // Room subscriptions are members of their rooms, not connections of their own: a
            // broadcast reaches their connection once.
            Target::Everyone => state
                .connections
                .iter()
                .filter(|(id, _)| id.owner() == id.as_str() && wanted(id))
                .map(|(_, member)| member.connection.clone())
                .collect(),
            Target::Room(room) => state
                .rooms
                .get(room)
                .into_iter()
                .flatten()
                .filter(|id| wanted(id))
                .filter_map(|id| state.connections.get(id))
                .map(|member| member.connection.clone())
                .collect(),
            Target::Connection(id) => state
                .connections
                .get(id)
                .filter(|_| wanted(id))
                .map(|member| member.connection.clone())
                .into_iter()
                .collect(),
        }
    }

    /// Queues `text` on every local connection `target` names, but those in `except`.
    /// Returns how many connections it was queued on.
    pub(crate) fn deliver(
        &self,
        target: &Target,
        except: &[ConnectionId],
        text: &Utf8Bytes,
    ) -> usize {
        let receivers = self.receivers(target, except);
        if let (Target::Connection(_), crate::recovery::TAKEOVER) = (target, text.as_str()) {
            // Its session was resumed on another connection: this one closes.
            for connection in &receivers {
                connection.close_because(crate::session::DisconnectReason::Resumed);
            }
            return receivers.len();
        }
        receivers
            .iter()
            .filter(|connection| connection.deliver(text.clone()))
            .count()
    }

    /// Calls every local connection `call.target` names (room subscriptions are not clients:
    /// they are not called), in one background task, and sends each answer to `answers` as it
    /// comes. Returns how many connections were called.
    pub(crate) fn call(&self, call: CallRequest, answers: AnswerSender) -> usize {
        let callees: Vec<Connection> = self
            .receivers(&call.target, &call.except)
            .into_iter()
            .filter(|connection| !connection.id().is_subscription())
            .collect();
        let called = callees.len();
        if called == 0 {
            return 0;
        }
        tokio::spawn(async move {
            let call = &call;
            let mut pending: FuturesUnordered<_> = callees
                .into_iter()
                .map(|connection| async move {
                    let outcome = connection
                        .call_for_room(&call.message_type, &call.data, call.timeout)
                        .await;
                    CallAnswer {
                        connection: connection.id().clone(),
                        outcome,
                    }
                })
                .collect();
            while let Some(answer) = pending.next().await {
                if answers.send(answer).await.is_err() {
                    // The gathering is over: the calls still waiting are dropped (forgotten).
                    return;
                }
            }
        });
        called
    }
}

impl LocalHub {
    /// Queues a recorded room message on the members of `room` here (see
    /// [`Inbound::deliver_recorded`](crate::adapter::Inbound::deliver_recorded)).
    pub(crate) fn deliver_recorded(
        &self,
        room: &str,
        except: &[ConnectionId],
        text: &Utf8Bytes,
        position: &crate::adapter::Position,
    ) -> usize {
        let receivers: Vec<Connection> = {
            let state = self.read();
            state
                .rooms
                .get(room)
                .into_iter()
                .flatten()
                .filter(|id| {
                    !except.contains(id)
                        && !except
                            .iter()
                            .any(|left_out| left_out.as_str() == id.owner())
                })
                .filter_map(|id| state.connections.get(id))
                .map(|member| member.connection.clone())
                .collect()
        };
        // The envelope with its position is made once, for the first receiver that wants it.
        let positioned = std::cell::OnceCell::new();
        receivers
            .iter()
            .filter(|connection| connection.deliver_recorded(room, position, text, &positioned))
            .count()
    }
}

impl State {
    /// Takes `id` out of `room`'s member set; removes the room when it empties. Returns whether
    /// it emptied.
    fn leave_room(&mut self, room: &str, id: &ConnectionId) -> bool {
        let Some(members) = self.rooms.get_mut(room) else {
            return false;
        };
        members.remove(id);
        if members.is_empty() {
            self.rooms.remove(room);
            true
        } else {
            false
        }
    }

    /// Gives memory back after many rooms or connections went away.
    fn shrink(&mut self) {
        if self.rooms.capacity() > 64 && self.rooms.len() * 4 < self.rooms.capacity() {
            self.rooms.shrink_to(self.rooms.len() * 2);
        }
        if self.connections.capacity() > 64
            && self.connections.len() * 4 < self.connections.capacity()
        {
            self.connections.shrink_to(self.connections.len() * 2);
        }
    }
}
