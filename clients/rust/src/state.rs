//! The connection state, watchable through a [`tokio::sync::watch`] channel.

use std::fmt;

/// Where the client's connection stands.
///
/// Observe it with [`Client::state`](crate::Client::state), a
/// [`watch::Receiver`](tokio::sync::watch::Receiver):
///
/// ```no_run
/// # async fn demo(client: exws_client::Client) {
/// let mut state = client.state();
/// // Wait until the client is back online after a reconnection.
/// let _ = state.wait_for(|state| state.is_online()).await;
/// # }
/// ```
///
/// Typical sequences: `Connecting → Online` on connect; `Online → Error | Offline →
/// Connecting → Online` across a reconnection; `Offline` for good after
/// [`Client::close`](crate::Client::close), or when the connection is lost and reconnection is
/// off or has given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// Opening a connection (the first one, or a reconnection attempt).
    Connecting,
    /// Connected: calls and sends go out.
    Online,
    /// Not connected, without an error: the server closed the connection normally, or the
    /// client was closed. A reconnection may follow (see [`ReconnectPolicy`](crate::ReconnectPolicy)).
    Offline,
    /// Not connected because of an error (the connection broke, or the last connection attempt
    /// failed); the text says what happened. A reconnection may follow.
    Error(String),
}

impl ConnectionState {
    /// Whether the client is connected.
    pub fn is_online(&self) -> bool {
        matches!(self, ConnectionState::Online)
    }

    /// The state's name in capitals: `CONNECTING`, `ONLINE`, `OFFLINE` or `ERROR`.
    pub fn name(&self) -> &'static str {
        match self {
            ConnectionState::Connecting => "CONNECTING",
            ConnectionState::Online => "ONLINE",
            ConnectionState::Offline => "OFFLINE",
            ConnectionState::Error(_) => "ERROR",
        }
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionState::Error(text) => write!(f, "ERROR: {text}"),
            other => f.write_str(other.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_display() {
        assert!(ConnectionState::Online.is_online());
        assert!(!ConnectionState::Offline.is_online());
        assert_eq!(ConnectionState::Connecting.to_string(), "CONNECTING");
        assert_eq!(
            ConnectionState::Error("refused".into()).to_string(),
            "ERROR: refused"
        );
        assert_eq!(ConnectionState::Error(String::new()).name(), "ERROR");
    }
}
