//! Connection recovery (opt-in, [`ClientBuilder::recover`](crate::ClientBuilder::recover)):
//! the client asks the server for a recoverable session, keeps the last position it got in
//! each room, and presents both when it reconnects, so that the server gives back its
//! session and replays what it missed. See the server's `docs/PROTOCOL.md`, "Connection
//! recovery".

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// The `Type` of the frame in which the server tells a recovering client its session.
pub const SESSION_TYPE: &str = "exws.session";

/// What the server said when a recovering client connected or reconnected: receive it with
/// [`Client::recoveries`](crate::Client::recoveries).
///
/// After a reconnection, `resumed && complete` means every message missed meanwhile follows
/// (as ordinary envelopes, before new ones); otherwise `gaps` names the rooms where messages
/// may be missing (or the whole session was new): refetch what the application shows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Recovered {
    /// The connection id (the same as before after a resume).
    pub connection: String,
    /// Whether the session was resumed (`false` on a first connection, or when the server no
    /// longer had the session).
    pub resumed: bool,
    /// Whether nothing was missed: resumed, and no room has a gap.
    pub complete: bool,
    /// Why a resume was not possible (`expired`, ...), if it was not.
    #[serde(default)]
    pub reason: Option<String>,
    /// The rooms where messages may be missing.
    #[serde(default)]
    pub gaps: Vec<Gap>,
}

/// A room whose missed messages could not all be given back.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Gap {
    /// The room (a user's own channel is `"\u{1}user:ID"`).
    pub room: String,
    /// Why: `expired` (the session was gone), `evicted` (the room's history no longer holds
    /// them), `epoch_changed` (the room's history was lost), `unavailable` (the history could
    /// not be read).
    pub reason: String,
}

#[derive(Deserialize)]
struct SessionData {
    connection: String,
    token: String,
    #[serde(default)]
    resumed: bool,
    #[serde(default)]
    gaps: Vec<Gap>,
}

#[derive(Deserialize)]
struct Positioned {
    #[serde(rename = "Pos")]
    position: Option<Position>,
}

#[derive(Deserialize)]
struct Position {
    room: String,
    epoch: String,
    seq: u64,
}

#[derive(Debug, Default)]
struct Session {
    id: String,
    token: String,
    /// The last position received per room: epoch and sequence number.
    positions: BTreeMap<String, (String, u64)>,
}

/// The recovery state of one client.
#[derive(Debug, Default)]
pub(crate) struct RecoveryState {
    enabled: bool,
    session: Mutex<Option<Session>>,
}

impl RecoveryState {
    pub(crate) fn new(enabled: bool) -> Self {
        RecoveryState {
            enabled,
            session: Mutex::new(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Session>> {
        self.session
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Learns from one incoming frame: a session frame, or a room message's position.
    pub(crate) fn observe(&self, message_type: &str, data: &serde_json::Value, text: &str) {
        if !self.enabled {
            return;
        }
        if message_type == SESSION_TYPE {
            let Ok(frame) = SessionData::deserialize(data) else {
                tracing::warn!("ignoring a malformed session frame");
                return;
            };
            let mut session = self.lock();
            let kept = session
                .take()
                .filter(|_| frame.resumed)
                .map(|session| session.positions)
                .unwrap_or_default();
            let mut positions = kept;
            for gap in &frame.gaps {
                positions.remove(&gap.room);
            }
            *session = Some(Session {
                id: frame.connection,
                token: frame.token,
                positions,
            });
            return;
        }
        if !text.contains("\"Pos\"") {
            return;
        }
        if let Ok(Positioned {
            position: Some(position),
        }) = serde_json::from_str::<Positioned>(text)
        {
            if let Some(session) = self.lock().as_mut() {
                session
                    .positions
                    .insert(position.room, (position.epoch, position.seq));
            }
        }
    }

    /// The URL to connect to: `base` with the recovery parameters (a new session, or the
    /// resume of the one known).
    pub(crate) fn url(&self, base: &str) -> String {
        if !self.enabled {
            return base.to_owned();
        }
        let separator = if base.contains('?') { '&' } else { '?' };
        let session = self.lock();
        let Some(session) = session.as_ref() else {
            return format!("{base}{separator}exws_recover=1");
        };
        let since: serde_json::Map<String, serde_json::Value> = session
            .positions
            .iter()
            .map(|(room, (epoch, seq))| (room.clone(), serde_json::json!([epoch, seq])))
            .collect();
        let since = serde_json::Value::Object(since).to_string();
        format!(
            "{base}{separator}exws_recover={}&exws_id={}&exws_since={}",
            encode(&session.token),
            encode(&session.id),
            encode(&since)
        )
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_session_and_positions_make_the_resume_url() {
        let state = RecoveryState::new(true);
        assert_eq!(state.url("ws://h/x"), "ws://h/x?exws_recover=1");
        let data = json!({"connection": "c-1", "token": "t0", "resumed": false, "complete": false, "gaps": []});
        state.observe(SESSION_TYPE, &data, "");
        state.observe(
            "Said",
            &json!({}),
            r#"{"Type":"Said","Data":{},"Pos":{"room":"a b","epoch":"e","seq":3}}"#,
        );
        assert_eq!(
            state.url("ws://h/x?user=1"),
            "ws://h/x?user=1&exws_recover=t0&exws_id=c-1&exws_since=%7B%22a%20b%22%3A%5B%22e%22%2C3%5D%7D"
        );
        // A resume with a gap forgets that room's position; a new session forgets them all.
        let data = json!({"connection": "c-1", "token": "t1", "resumed": true, "gaps": [{"room": "a b", "reason": "evicted"}]});
        state.observe(SESSION_TYPE, &data, "");
        assert!(state.url("ws://h/").ends_with("exws_since=%7B%7D"));
        assert!(!RecoveryState::new(false).url("ws://h/").contains("exws"));
    }
}
