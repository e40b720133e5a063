//! A room's presence, from the server's built-in presence watch (servers with presence on:
//! `Server::presence`): [`Client::watch_presence`] follows it, [`Client::presence`] reads it
//! once.

use crate::client::Client;
use crate::envelope::Envelope;
use crate::error::StreamError;
use crate::stream::ItemStream;
use exws_protocol::presence::{
    PresenceChange, PresenceDiff, PresenceEntry, PresenceState, PresenceWatch, Presences,
    PRESENCE_DIFF, PRESENCE_STATE, PRESENCE_WATCH,
};

/// One change of a watched room's presence, as [`PresenceWatcher::next_event`] gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum PresenceEvent {
    /// The whole presence (the watch's first item).
    State(PresenceState),
    /// Connections that joined and left, and what that changed for whole entries (a user's
    /// first connection arriving, its last one leaving).
    Diff {
        /// The diff as the server sent it.
        diff: PresenceDiff,
        /// Entries that arrived and entries that left.
        change: PresenceChange,
    },
}

/// A watch of one room's presence: its events, and the presence they add up to. Made by
/// [`Client::watch_presence`]; dropping it cancels the watch.
///
/// ```no_run
/// # async fn run(client: exws_client::Client) -> Result<(), exws_client::StreamError> {
/// use exws_client::PresenceEvent;
///
/// let mut lobby = client.watch_presence("lobby").await?;
/// while let Some(event) = lobby.next_event().await {
///     if let PresenceEvent::Diff { change, .. } = event? {
///         println!("{} arrived, {} left", change.joined.len(), change.left.len());
///     }
///     println!("{} here", lobby.presences().len());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct PresenceWatcher {
    items: ItemStream<Envelope>,
    presences: Presences,
    room: String,
}

impl Client {
    /// Watches the presence of `room`: the server answers with the room's state, then a diff
    /// per change. A server with presence off answers `unknown_type`; one whose access rule
    /// refuses (by default: not a member of the room) answers `unauthorized`, both as
    /// [`StreamError::Server`] from here. Like every stream, the watch ends when the
    /// connection is lost: watch again once the client is back online.
    pub async fn watch_presence(&self, room: &str) -> Result<PresenceWatcher, StreamError> {
        let request = PresenceWatch {
            room: room.to_owned(),
        };
        let data = serde_json::to_value(&request).map_err(StreamError::Encode)?;
        let mut items = self.stream_raw(PRESENCE_WATCH, data).await?;
        // A refusal arrives instead of the first item: report it from here.
        let first = match items.next_item().await {
            Some(first) => first?,
            None => return Err(StreamError::Disconnected),
        };
        let mut watcher = PresenceWatcher {
            items,
            presences: Presences::default(),
            room: room.to_owned(),
        };
        watcher.apply(first)?;
        Ok(watcher)
    }

    /// The presence of `room` now: one entry per user (a meta per connection), one per
    /// connection without a user. Opens a watch, reads its state and cancels it, so the same
    /// rules apply as for [`watch_presence`](Self::watch_presence).
    pub async fn presence(&self, room: &str) -> Result<Vec<PresenceEntry>, StreamError> {
        let watcher = self.watch_presence(room).await?;
        let entries = watcher.presences().entries().into_iter().cloned().collect();
        watcher.cancel().await?;
        Ok(entries)
    }
}

impl PresenceWatcher {
    /// The room watched.
    pub fn room(&self) -> &str {
        &self.room
    }

    /// The presence as the events so far make it.
    pub fn presences(&self) -> &Presences {
        &self.presences
    }

    /// The next change, already applied to [`presences`](Self::presences); `None` once the
    /// watch has ended (cancelled, or the server ended it: e.g. this connection left the
    /// room).
    pub async fn next_event(&mut self) -> Option<Result<PresenceEvent, StreamError>> {
        let envelope = match self.items.next_item().await? {
            Ok(envelope) => envelope,
            Err(error) => return Some(Err(error)),
        };
        Some(self.apply(envelope))
    }

    /// Cancels the watch and waits for the server's confirmation.
    pub async fn cancel(self) -> Result<(), StreamError> {
        self.items.cancel().await
    }

    fn apply(&mut self, envelope: Envelope) -> Result<PresenceEvent, StreamError> {
        let decode_error = |source| StreamError::Decode {
            message_type: envelope.message_type.clone(),
            data: envelope.data.clone(),
            source,
        };
        match envelope.message_type.as_str() {
            PRESENCE_STATE => {
                let state: PresenceState =
                    serde_json::from_value(envelope.data.clone()).map_err(decode_error)?;
                self.presences.apply_state(&state);
                Ok(PresenceEvent::State(state))
            }
            PRESENCE_DIFF => {
                let diff: PresenceDiff =
                    serde_json::from_value(envelope.data.clone()).map_err(decode_error)?;
                let change = self.presences.apply_diff(&diff);
                Ok(PresenceEvent::Diff { diff, change })
            }
            other => Err(decode_error(serde::de::Error::custom(format!(
                "a presence watch sends {PRESENCE_STATE} and {PRESENCE_DIFF}, not {other:?}"
            )))),
        }
    }
}
