//! Why a connection ends: the one reason a connection records (the first close asked for
//! wins), and the close frame the server sends for it.

use crate::protocol::CloseCode;
use std::fmt;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WireCloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Why a connection ended, as the disconnect hook sees it.
///
/// A connection records one reason: the first close asked for, by whichever side or part of
/// the server asked (the application, the shutdown, the heartbeat, the slow consumer policy,
/// the rate limit, the message size limit, or the client). Later ones are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client sent a close frame.
    ClientClosed {
        /// The client's close code, if it gave one.
        code: Option<u16>,
        /// The client's close reason.
        reason: String,
    },
    /// The connection dropped without a close frame, or reading or writing failed.
    ConnectionLost,
    /// The client broke the WebSocket protocol (closed with 1002, or 1007 for invalid UTF-8).
    ProtocolError {
        /// The close code sent: 1002 or 1007.
        code: CloseCode,
        /// What was wrong.
        detail: String,
    },
    /// The client sent a message over the size limit (closed with 1009).
    MessageTooLarge,
    /// The server shut down (closed with 1001).
    ServerShutdown,
    /// The client sent nothing, not even a pong, within the heartbeat timeout (closed with
    /// 1008).
    HeartbeatTimeout,
    /// The client read slower than the server sent it hub messages and its outbound queue
    /// filled up (closed with 1008).
    SlowConsumer,
    /// The client kept sending past its rate limit (closed with 1008).
    RateLimited,
    /// The session was stopped before its close handshake: the server's future was dropped,
    /// or the shutdown timeout ran out while the connection was still closing. The hub
    /// forgets the connection and the disconnect hooks run all the same.
    Aborted,
    /// The client resumed this connection's session on a new connection
    /// ([connection recovery](crate::recovery)): this one is closed (1000, reason
    /// `session resumed`), and its session lives on in the new one.
    Resumed,
    /// The application closed the connection with
    /// [`Connection::close`](crate::Connection::close) or
    /// [`Connection::close_with`](crate::Connection::close_with).
    ClosedByApplication {
        /// The close code sent.
        code: CloseCode,
        /// The close reason sent.
        reason: String,
    },
}

impl DisconnectReason {
    /// A short label for metrics and logs, e.g. `client_closed`.
    pub fn label(&self) -> &'static str {
        match self {
            DisconnectReason::ClientClosed { .. } => "client_closed",
            DisconnectReason::ConnectionLost => "connection_lost",
            DisconnectReason::ProtocolError { .. } => "protocol_error",
            DisconnectReason::MessageTooLarge => "message_too_large",
            DisconnectReason::ServerShutdown => "server_shutdown",
            DisconnectReason::HeartbeatTimeout => "heartbeat_timeout",
            DisconnectReason::SlowConsumer => "slow_consumer",
            DisconnectReason::RateLimited => "rate_limited",
            DisconnectReason::ClosedByApplication { .. } => "closed_by_application",
            DisconnectReason::Aborted => "aborted",
            DisconnectReason::Resumed => "resumed",
        }
    }

    /// The close frame the server sends for this reason; `None` when it sends none of its
    /// own (the client closed, and its close is echoed; or the connection is gone).
    pub(crate) fn close_frame(&self) -> Option<CloseFrame> {
        let (code, text) = match self {
            DisconnectReason::ServerShutdown => (CloseCode::GOING_AWAY, "server shutting down"),
            DisconnectReason::MessageTooLarge => (CloseCode::TOO_BIG, "message too large"),
            DisconnectReason::ProtocolError { code, .. } => (*code, "protocol error"),
            DisconnectReason::HeartbeatTimeout => (CloseCode::POLICY, "heartbeat timeout"),
            DisconnectReason::SlowConsumer => (CloseCode::POLICY, "slow consumer"),
            DisconnectReason::RateLimited => (CloseCode::POLICY, "rate limit exceeded"),
            DisconnectReason::Resumed => (CloseCode::NORMAL, "session resumed"),
            DisconnectReason::ClosedByApplication { code, reason } => {
                return Some(CloseFrame {
                    code: WireCloseCode::from(code.0),
                    reason: Utf8Bytes::from(reason.as_str()),
                })
            }
            DisconnectReason::ClientClosed { .. }
            | DisconnectReason::ConnectionLost
            | DisconnectReason::Aborted => return None,
        };
        Some(CloseFrame {
            code: WireCloseCode::from(code.0),
            reason: Utf8Bytes::from_static(text),
        })
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::ClientClosed {
                code: Some(code),
                reason,
            } => {
                write!(f, "client closed ({code} {reason:?})")
            }
            DisconnectReason::ClientClosed { code: None, .. } => f.write_str("client closed"),
            DisconnectReason::ConnectionLost => f.write_str("connection lost"),
            DisconnectReason::ProtocolError { code, detail } => {
                write!(f, "protocol error ({code}): {detail}")
            }
            DisconnectReason::MessageTooLarge => f.write_str("message too large"),
            DisconnectReason::ServerShutdown => f.write_str("server shutdown"),
            DisconnectReason::HeartbeatTimeout => f.write_str("heartbeat timeout"),
            DisconnectReason::SlowConsumer => f.write_str("slow consumer"),
            DisconnectReason::RateLimited => f.write_str("rate limit exceeded"),
            DisconnectReason::Aborted => f.write_str("session aborted before its close"),
            DisconnectReason::Resumed => f.write_str("session resumed on another connection"),
            DisconnectReason::ClosedByApplication { code, reason } => {
                write!(f, "closed by the application ({code} {reason:?})")
            }
        }
    }
}
