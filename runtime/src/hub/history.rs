//! The hub's side of room history: recorded sends, reads, and the positions rooms are joined
//! at. The adapter keeps the history when it can (Redis); otherwise this process's memory
//! does (the in-process adapter).

use super::{Hub, HubError, Recipients};
use crate::adapter::{HistoryLimits, HistoryPage, HistoryQuery, Outgoing, Position, Target};
use crate::connection::{Connection, ConnectionId};
use tokio_tungstenite::tungstenite::Utf8Bytes;

impl Hub {
    /// The history limits, when room history is on.
    pub(crate) fn history_limits(&self) -> Option<&HistoryLimits> {
        self.inner.history.as_ref()
    }

    /// Sends `text` to `room` through its history: the message gets the room's next position
    /// and reaches every member, in every process, in the order of positions. Returns `false`
    /// (having sent nothing) when history is off.
    pub(crate) async fn send_recorded(
        &self,
        room: &str,
        except: Vec<ConnectionId>,
        text: Utf8Bytes,
    ) -> Result<bool, HubError> {
        let Some(limits) = self.inner.history else {
            return Ok(false);
        };
        let outgoing = Outgoing {
            target: Target::Room(room.to_owned()),
            except,
            text,
        };
        match self
            .inner
            .adapter
            .publish_recorded(outgoing.clone(), &limits)
            .await
        {
            // The engine delivers it everywhere, here included.
            Ok(true) => Ok(true),
            Ok(false) => {
                let local = &self.inner.local;
                self.inner
                    .memory
                    .append(room, &outgoing.text, &limits, |position| {
                        local.deliver_recorded(room, &outgoing.except, &outgoing.text, position)
                    });
                self.inner.adapter.publish(outgoing).await?;
                Ok(true)
            }
            Err(error) => {
                // Not recorded: this process's members get it without a position, the other
                // processes' do not get it.
                self.inner
                    .local
                    .deliver(&outgoing.target, &outgoing.except, &outgoing.text);
                Err(error.into())
            }
        }
    }

    /// Reads `room`'s history.
    pub(crate) async fn read_history(
        &self,
        room: &str,
        query: HistoryQuery,
    ) -> Result<HistoryPage, HubError> {
        let limits = self.inner.history.ok_or(HubError::HistoryOff)?;
        match self
            .inner
            .adapter
            .history_read(room, query, &limits)
            .await?
        {
            Some(page) => Ok(page),
            None => Ok(self.inner.memory.read(room, query, &limits)),
        }
    }

    /// `room`'s current position (creating its epoch if it has none).
    pub(crate) async fn room_position(&self, room: &str) -> Result<Position, HubError> {
        let limits = self.inner.history.ok_or(HubError::HistoryOff)?;
        match self.inner.adapter.history_position(room, &limits).await? {
            Some(position) => Ok(position),
            None => Ok(self.inner.memory.position(room)),
        }
    }

    /// Records where a recoverable member joined `room` (nothing for other connections).
    pub(crate) async fn joined_recoverable(&self, connection: &Connection, room: &str) {
        let Some(recover) = connection.recover() else {
            return;
        };
        if recover.joined_at(room).is_some() {
            // A resume set where to replay from.
            return;
        }
        match self.room_position(room).await {
            Ok(position) => recover.joined(room, position),
            Err(error) => {
                tracing::warn!(%error, room, "no history position for a recoverable join");
            }
        }
    }
}

impl Recipients<'_> {
    /// Reads the history of the room these recipients name (a [`Hub::room`] or
    /// [`Hub::user`]): the last `n` messages or those since a position, oldest first, with the
    /// room's current position. Fails with [`HubError::HistoryOff`] when room history is off
    /// ([`Server::history`](crate::Server::history)), and for a broadcast or a single
    /// connection (they have no history).
    ///
    /// ```no_run
    /// # async fn run(hub: exws::Hub) -> Result<(), exws::HubError> {
    /// use exws::history::HistoryQuery;
    /// // The last 20 messages, e.g. for a client that just joined:
    /// let page = hub.room("lobby").history(HistoryQuery::Last(20)).await?;
    /// // Later, what came since (unless the room's history was lost meanwhile):
    /// let newer = hub.room("lobby").history(HistoryQuery::Since(page.current.seq)).await?;
    /// if newer.current.epoch != page.current.epoch || !newer.complete_since(page.current.seq) {
    ///     // Some messages are gone: load the room's state another way.
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn history(&self, query: HistoryQuery) -> Result<HistoryPage, HubError> {
        match self.target() {
            Target::Room(room) => self.hub().read_history(room, query).await,
            Target::Everyone | Target::Connection(_) => Err(HubError::HistoryOff),
        }
    }
}
