//! Why a connection ended.

use crate::protocol::CloseCode;
use std::fmt;

/// Why a connection ended, as the disconnect hook sees it.
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
    /// The client broke the WebSocket protocol (closed with 1002 or 1007).
    ProtocolError {
        /// What was wrong.
        detail: String,
    },
    /// The client sent a message over the size limit (closed with 1009).
    MessageTooLarge,
    /// The server shut down (closed with 1001).
    ServerShutdown,
    /// The application closed the connection with
    /// [`Connection::close_with`](crate::Connection::close_with).
    ClosedByServer {
        /// The close code sent.
        code: CloseCode,
        /// The close reason sent.
        reason: String,
    },
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
            DisconnectReason::ProtocolError { detail } => write!(f, "protocol error: {detail}"),
            DisconnectReason::MessageTooLarge => f.write_str("message too large"),
            DisconnectReason::ServerShutdown => f.write_str("server shutdown"),
            DisconnectReason::ClosedByServer { code, reason } => {
                write!(f, "closed by the server ({code} {reason:?})")
            }
        }
    }
}
