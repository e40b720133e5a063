//! Resuming a session: before the connection opens, take its record (and close the old
//! connection if it is still open somewhere); once it is registered, restore its rooms and
//! subscriptions; then, while the connection writes, tell the client its session, replay what
//! it missed and let live messages through.

use super::record::{RoomRecord, SessionRecord};
use super::request::Requested;
use super::state::{Recover, SubscriptionRecord};
use super::{random_token, SESSION_TYPE};
use crate::adapter::{HistoryEntry, HistoryQuery, Position};
use crate::auth::UserId;
use crate::connection::{Connection, ConnectionId};
use crate::hub::Hub;
use crate::protocol::ReplyTo;
use crate::session::DisconnectReason;
use crate::stream::{IntoStreamItem, StreamItem};
use futures_util::StreamExt;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How long a resume waits for the session's old connection to close.
const TAKEOVER_WAIT: Duration = Duration::from_secs(5);
/// Between two checks that the old connection has closed.
const TAKEOVER_POLL: Duration = Duration::from_millis(20);
/// How many times a session not found is asked for again (every [`TAKEOVER_POLL`]).
const TAKE_ATTEMPTS: usize = 15;

/// How a connection starts, as far as recovery goes.
pub(crate) struct Plan {
    /// Its id: a resumed session's, or a new one.
    pub id: ConnectionId,
    /// Its recovery state, if the client asked for recovery (and the server offers it).
    pub recover: Option<Arc<Recover>>,
    /// The session to restore, when the resume found it.
    pub record: Option<SessionRecord>,
    /// Why a resume found nothing to restore.
    pub failure: Option<&'static str>,
    /// The positions the client presented.
    pub since: HashMap<String, Position>,
}

impl Plan {
    fn fresh(recover: Option<Arc<Recover>>) -> Self {
        Plan {
            id: ConnectionId::generate(),
            recover,
            record: None,
            failure: None,
            since: HashMap::new(),
        }
    }
}

/// Decides how a connection starts: without recovery, with a new session, or with the
/// session it resumes (taken from the store: no other connection can resume it after this).
/// `user` is the user the handshake admitted; a session of another user is not resumed.
/// `hold` bounds the live messages held back during the replay.
pub(crate) async fn begin(
    requested: Option<Requested>,
    hub: &Hub,
    user: Option<&UserId>,
    hold: usize,
) -> Plan {
    let Some(requested) = requested.filter(|_| hub.recovery_window().is_some()) else {
        return Plan::fresh(None);
    };
    let new_session = || Some(Arc::new(Recover::session(random_token(16), None)));
    let (id, token, since) = match requested {
        Requested::New => return Plan::fresh(new_session()),
        Requested::Resume { id, token, since } => (id, token, since),
    };
    let failed = |failure, since| Plan {
        failure: Some(failure),
        since,
        ..Plan::fresh(new_session())
    };
    let Some(record) = take(hub, &SessionRecord::key(&id, &token)).await else {
        return failed("expired", since);
    };
    if record.user.as_ref() != user {
        tracing::debug!(%id, "a resume admitted as another user: not resumed");
        return failed("other_user", since);
    }
    take_over(hub, &record.id).await;
    let recover = Recover::session(random_token(16), Some(hold));
    // Where each room replays from: the client's last position, or where it was joined.
    for room in &record.rooms {
        let start = since
            .get(&room.room)
            .cloned()
            .unwrap_or_else(|| room.position());
        recover.joined(&room.room, start);
    }
    Plan {
        id: record.id.clone(),
        recover: Some(Arc::new(recover)),
        record: Some(record),
        failure: None,
        since,
    }
}

/// Takes the session `key`; if it is not there, asks again for a short while: its old
/// connection may be closing at this moment, and store its session last (after leaving its
/// rooms, so that the resumed connection's memberships are not removed with its own).
async fn take(hub: &Hub, key: &str) -> Option<SessionRecord> {
    for _ in 0..TAKE_ATTEMPTS {
        if let Some(record) = hub.take_session(key).await {
            return Some(record);
        }
        tokio::time::sleep(TAKEOVER_POLL).await;
    }
    hub.take_session(key).await
}

/// Closes the session's old connection wherever it is still open (a connection whose client
/// vanished without a close is open until its heartbeat times out), and waits until it has
/// closed and left its rooms, for at most [`TAKEOVER_WAIT`].
async fn take_over(hub: &Hub, id: &ConnectionId) {
    let deadline = tokio::time::Instant::now() + TAKEOVER_WAIT;
    while hub.close_resumed(id).await {
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(%id, "the resumed session's old connection did not close in time");
            return;
        }
        tokio::time::sleep(TAKEOVER_POLL).await;
    }
}

/// A room or subscription to replay, and from where.
struct Channel {
    member: Connection,
    room: String,
    start: Position,
}

/// What the session restored and still has to replay (the connection's startup work).
pub(crate) struct Restored {
    channels: Vec<Channel>,
    failure: Option<&'static str>,
    presented: Vec<String>,
    resumed: bool,
}

/// Restores a resumed session on its registered connection: its rooms and room
/// subscriptions (with their stream `Id`s), with live messages held back. Returns the work
/// that replays (run it while the connection writes), `None` without recovery.
pub(crate) async fn restore(
    hub: &Hub,
    connection: &Connection,
    mut plan: Box<Plan>,
    max_streams: usize,
    hold: usize,
) -> Option<Restored> {
    let recover = connection.recover()?.clone();
    let mut presented: Vec<String> = plan.since.keys().cloned().collect();
    presented.sort();
    let Some(record) = plan.record.take() else {
        return Some(Restored {
            channels: Vec::new(),
            failure: plan.failure,
            presented,
            resumed: false,
        });
    };
    let mut channels = Vec::new();
    let user_room = connection.user_id().map(crate::hub::user_room);
    for RoomRecord { room, .. } in &record.rooms {
        if Some(room) != user_room.as_ref() {
            if let Err(error) = hub.join(connection.id(), room).await {
                tracing::warn!(%error, room, "a resumed session's room could not be joined");
                continue;
            }
        }
        if let Some(start) = recover.joined_at(room) {
            channels.push(Channel {
                member: connection.clone(),
                room: room.clone(),
                start,
            });
        }
    }
    for stored in record.subscriptions {
        let room = stored.subscription.room.clone();
        let start = plan
            .since
            .get(&room)
            .cloned()
            .unwrap_or_else(|| Position::new(stored.epoch.as_str(), stored.seq));
        match resubscribe(
            hub,
            connection,
            stored.subscription,
            &start,
            max_streams,
            hold,
        )
        .await
        {
            Some(member) => channels.push(Channel {
                member,
                room,
                start,
            }),
            None => tracing::warn!(
                room,
                "a resumed session's subscription could not be restored"
            ),
        }
    }
    for (key, value) in record.metadata {
        connection.set_metadata(key, value);
    }
    Some(Restored {
        channels,
        failure: None,
        presented,
        resumed: true,
    })
}

/// Opens a room subscription again with its stream `Id`; returns its member.
async fn resubscribe(
    hub: &Hub,
    connection: &Connection,
    mut record: SubscriptionRecord,
    start: &Position,
    max_streams: usize,
    hold: usize,
) -> Option<Connection> {
    let subscription = hub
        .subscription_from(connection, &record.room, start.clone(), hold)
        .await
        .ok()?;
    let member = subscription.member().clone();
    let reply_to = ReplyTo::new(Some(&record.id));
    let items = subscription
        .map(move |envelope| envelope.into_stream_item(&reply_to, ""))
        .boxed();
    let items: futures_util::stream::BoxStream<'static, StreamItem> = items;
    crate::stream::start(
        connection,
        &record.id,
        &record.message_type,
        items,
        max_streams,
    )
    .ok()?;
    record.member = Some(member.id().clone());
    record.start = Some(start.clone());
    if let Some(recover) = connection.recover() {
        recover.add_subscription(record);
    }
    Some(member)
}

/// The `exws.session` frame's `Data`.
#[derive(Serialize)]
struct SessionFrame<'a> {
    connection: &'a str,
    token: &'a str,
    resumed: bool,
    complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    gaps: Vec<Gap>,
}

/// A room whose missed messages could not all be given.
#[derive(Serialize)]
struct Gap {
    room: String,
    reason: &'static str,
}

impl Restored {
    /// Tells the client its session, replays each room from its start, then lets the live
    /// messages held back through. Stores the session under its new token.
    pub(crate) async fn replay(self, hub: &Hub, connection: &Connection) {
        let Some(token) = connection.recover().and_then(|recover| recover.token()) else {
            return;
        };
        let mut gaps: Vec<Gap> = match self.failure {
            Some(reason) => self
                .presented
                .iter()
                .map(|room| Gap {
                    room: room.clone(),
                    reason,
                })
                .collect(),
            None => Vec::new(),
        };
        let mut pages: Vec<(Channel, Position, Vec<HistoryEntry>)> = Vec::new();
        for channel in self.channels {
            let page = match hub
                .read_history(&channel.room, HistoryQuery::Since(channel.start.seq))
                .await
            {
                Ok(page) => page,
                Err(error) => {
                    tracing::warn!(%error, room = channel.room, "history unavailable for a resume");
                    gaps.push(Gap {
                        room: channel.room.clone(),
                        reason: "unavailable",
                    });
                    pages.push((channel, Position::new("", 0), Vec::new()));
                    continue;
                }
            };
            let reason = if page.current.epoch != channel.start.epoch {
                Some("epoch_changed")
            } else if !page.complete_since(channel.start.seq) {
                Some("evicted")
            } else {
                None
            };
            if let Some(reason) = reason {
                gaps.push(Gap {
                    room: channel.room.clone(),
                    reason,
                });
            }
            let entries = if reason.is_none() {
                page.entries
            } else {
                Vec::new()
            };
            pages.push((channel, page.current, entries));
        }
        gaps.sort_by(|a, b| a.room.cmp(&b.room));
        gaps.dedup_by(|a, b| a.room == b.room);
        let frame = SessionFrame {
            connection: connection.id().as_str(),
            token,
            resumed: self.resumed,
            complete: self.resumed && gaps.is_empty(),
            reason: self.failure,
            gaps,
        };
        if let Ok(text) = crate::protocol::encode(SESSION_TYPE, &frame, None) {
            let _ = connection.send_reply(text.into()).await;
        }
        let mut members = Vec::new();
        for (channel, current, entries) in pages {
            let Some(recover) = channel.member.recover() else {
                continue;
            };
            for entry in entries {
                let position = Position {
                    epoch: current.epoch.clone(),
                    seq: entry.seq,
                };
                if recover.replaying(&channel.room, &position) {
                    let text = crate::history::with_position(&entry.text, &channel.room, &position);
                    if channel.member.send_reply(text).await.is_err() {
                        break;
                    }
                }
            }
            members.push(channel.member);
        }
        // Every room replayed: the live messages held back follow (those replayed skipped).
        let mut complete = true;
        members.push(connection.clone());
        for member in &members {
            if let Some(recover) = member.recover() {
                complete &= recover.release(member);
            }
        }
        hub.save_session_of(connection).await;
        if !complete {
            // Live messages came faster than the replay went out: the client resumes again
            // from what it got.
            connection.close_because(DisconnectReason::SlowConsumer);
        }
    }
}
