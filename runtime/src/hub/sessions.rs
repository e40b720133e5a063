//! The hub's side of connection recovery: session records stored through the adapter (or in
//! this process's memory), kept alive while their connections are open.

use super::Hub;
use crate::connection::Connection;
use crate::recovery::{SessionRecord, SubscriptionRecord};
use std::time::Duration;

impl Hub {
    /// The recovery window, when recovery is on.
    pub(crate) fn recovery_window(&self) -> Option<Duration> {
        self.inner.recovery
    }

    /// How long a stored record lives without being touched: the window, plus the time
    /// between two touches (a killed process's sessions live at least the window).
    fn record_ttl(window: Duration) -> Duration {
        window + touch_interval(window)
    }

    /// The record of `connection`'s session as it is now.
    pub(crate) fn session_record(&self, connection: &Connection) -> Option<SessionRecord> {
        let recover = connection.recover()?;
        recover.token()?;
        let id = connection.id();
        let mut rooms: Vec<String> = self.inner.local.rooms_of(id);
        if let Some(user) = connection.user_id() {
            rooms.push(super::local::user_room(user));
        }
        let rooms = rooms
            .into_iter()
            .filter_map(|room| {
                let position = recover.joined_at(&room)?;
                Some(crate::recovery::record_room(room, &position))
            })
            .collect();
        let subscriptions = recover
            .subscriptions()
            .into_iter()
            .filter_map(|subscription| {
                let position = subscription.start.clone()?;
                Some(crate::recovery::record_subscription(
                    subscription,
                    &position,
                ))
            })
            .collect();
        Some(SessionRecord {
            id: id.clone(),
            user: connection.user_id().cloned(),
            rooms,
            subscriptions,
            metadata: connection.metadata_all(),
        })
    }

    /// Stores `connection`'s session as it is now (a recoverable client connection; nothing
    /// for others, nor once it is closing: its close stores it one last time).
    pub(crate) async fn save_session_of(&self, connection: &Connection) {
        if connection.is_closed() {
            return;
        }
        self.save_session(connection).await;
    }

    /// Stores `connection`'s session as it is now, for the recovery window.
    pub(crate) async fn save_session(&self, connection: &Connection) {
        if let Some(record) = self.session_record(connection) {
            self.store_record(connection, record).await;
        }
    }

    /// Stores `record`, the session of `connection`, for the recovery window.
    pub(crate) async fn store_record(&self, connection: &Connection, record: SessionRecord) {
        let Some(window) = self.inner.recovery else {
            return;
        };
        let Some(token) = connection.recover().and_then(|recover| recover.token()) else {
            return;
        };
        let key = SessionRecord::key(connection.id(), token);
        let ttl = Self::record_ttl(window);
        match self
            .inner
            .adapter
            .session_store(&key, record.encode(), ttl)
            .await
        {
            Ok(true) => {}
            Ok(false) => self.inner.memory.store_session(&key, record.encode(), ttl),
            Err(error) => {
                tracing::warn!(%error, id = %connection.id(), "the session could not be stored: it cannot be recovered");
            }
        }
    }

    /// Forgets `connection`'s stored session (it closed for good).
    pub(crate) async fn discard_session(&self, connection: &Connection) {
        let Some(token) = connection.recover().and_then(|recover| recover.token()) else {
            return;
        };
        let key = SessionRecord::key(connection.id(), token);
        self.take_session(&key).await;
    }

    /// Takes the session stored under `key`, if any (and readable).
    pub(crate) async fn take_session(&self, key: &str) -> Option<SessionRecord> {
        let bytes = match self.inner.adapter.session_take(key).await {
            Ok(Some(bytes)) => Some(bytes),
            Ok(None) => self.inner.memory.take_session(key),
            Err(error) => {
                tracing::warn!(%error, "the session store is unavailable: the session is not recovered");
                None
            }
        }?;
        SessionRecord::decode(&bytes)
    }

    /// Adds a room subscription to its connection's session.
    pub(crate) async fn session_subscribed(&self, parent: &Connection, record: SubscriptionRecord) {
        if let Some(recover) = parent.recover() {
            recover.add_subscription(record);
            self.save_session_of(parent).await;
        }
    }
}

/// How often the records of open sessions are touched: a quarter of the window.
fn touch_interval(window: Duration) -> Duration {
    (window / 4).max(Duration::from_millis(250))
}

/// Touches the records of this process's open recoverable sessions every quarter window,
/// for as long as the hub lives.
pub(super) fn keep_alive(hub: &Hub, window: Duration) {
    let weak = std::sync::Arc::downgrade(&hub.inner);
    let interval = touch_interval(window);
    let ttl = Hub::record_ttl(window);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let Some(inner) = weak.upgrade() else { return };
            let hub = Hub { inner };
            let keys: Vec<String> = hub
                .inner
                .local
                .connection_ids()
                .into_iter()
                .filter_map(|id| {
                    let connection = hub.inner.local.connection(&id)?;
                    let token = connection.recover()?.token()?;
                    Some(SessionRecord::key(&id, token))
                })
                .collect();
            if keys.is_empty() {
                continue;
            }
            match hub.inner.adapter.session_touch(&keys, ttl).await {
                Ok(true) => {}
                Ok(false) => hub.inner.memory.touch_sessions(&keys, ttl),
                Err(error) => tracing::warn!(%error, "the session records could not be kept alive"),
            }
        }
    });
}
