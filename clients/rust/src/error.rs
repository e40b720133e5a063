//! Error types, one per operation: connecting, calling, sending, receiving events.

use crate::envelope::Id;
pub use exws_protocol::ErrorCode;
use serde_json::Value;
use std::time::Duration;

/// The `Data` of an `Error` envelope, read leniently (a missing field becomes empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerErrorData {
    pub code: ErrorCode,
    pub message: String,
    pub message_type: Option<String>,
}

impl ServerErrorData {
    pub(crate) fn from_data(data: &Value) -> Self {
        let text = |key: &str| data.get(key).and_then(Value::as_str).map(str::to_owned);
        ServerErrorData {
            code: ErrorCode::parse(text("code").as_deref().unwrap_or("")),
            message: text("message").unwrap_or_default(),
            message_type: text("type"),
        }
    }
}

/// Why [`Client::connect`](crate::Client::connect) (or a reconnection attempt) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not a valid `ws://` or `wss://` URL.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A configured header has an invalid name or value.
    #[error("invalid header {name:?}: {reason}")]
    InvalidHeader {
        /// The header name given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server answered the upgrade request with an HTTP error (401, 403, ...).
    #[error("handshake rejected with HTTP {status}{}", body_suffix(.body))]
    Rejected {
        /// The HTTP status code.
        status: u16,
        /// The response body (the server's short reason), lossily decoded.
        body: String,
    },
    /// The connection did not open within the connect timeout.
    #[error("connecting timed out after {0:?}")]
    Timeout(Duration),
    /// A root certificate given to
    /// [`ClientBuilder::add_root_certificate`](crate::ClientBuilder::add_root_certificate) is not
    /// a valid DER X.509 certificate (convert PEM with `openssl x509 -outform der`).
    #[error("invalid TLS root certificate: {reason}")]
    InvalidCertificate {
        /// What is wrong with it.
        reason: String,
    },
    /// TCP, TLS or WebSocket-handshake failure.
    #[error("connection failed: {0}")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

fn body_suffix(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

/// Why a [`Client::call`](crate::Client::call) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The server answered with an `Error` envelope carrying the call's `Id`.
    #[error("server error {code}: {message}")]
    Server {
        /// `Data.code`.
        code: ErrorCode,
        /// `Data.message`, for people.
        message: String,
        /// `Data.type`: the offending `Type`, when the server names it.
        message_type: Option<String>,
    },
    /// No reply arrived within the call timeout.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The client was (or became) disconnected before a reply arrived.
    #[error("disconnected")]
    Disconnected,
    /// The reply's `Type` is not the one expected for the response type.
    #[error("unexpected reply type {actual:?} (expected {expected:?})")]
    UnexpectedType {
        /// The `Type` expected (the response type's name).
        expected: String,
        /// The `Type` received.
        actual: String,
        /// The reply's `Data`.
        data: Value,
    },
    /// The reply's `Data` does not decode into the response type.
    #[error("cannot decode the {message_type:?} reply: {source}")]
    Decode {
        /// The reply's `Type`.
        message_type: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// The request does not serialize to JSON.
    #[error("cannot encode the request: {0}")]
    Encode(#[source] serde_json::Error),
    /// A call with this explicit `Id` is already waiting for its reply, or a stream uses it.
    #[error("a call with Id {0} is already pending")]
    DuplicateId(Id),
}

impl CallError {
    /// The protocol error code, when the server answered with an `Error` envelope.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            CallError::Server { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(crate) fn from_error_envelope(data: &Value) -> Self {
        let data = ServerErrorData::from_data(data);
        CallError::Server {
            code: data.code,
            message: data.message,
            message_type: data.message_type,
        }
    }
}

/// Why a fire-and-forget [`Client::send`](crate::Client::send) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The client is not connected (or has been closed).
    #[error("disconnected")]
    Disconnected,
    /// The message does not serialize to JSON.
    #[error("cannot encode the message: {0}")]
    Encode(#[source] serde_json::Error),
}

impl From<SendError> for CallError {
    fn from(error: SendError) -> Self {
        match error {
            SendError::Disconnected => CallError::Disconnected,
            SendError::Encode(source) => CallError::Encode(source),
        }
    }
}

/// Why a stream could not be opened, or why it ended early ([`ItemStream`](crate::ItemStream)).
///
/// [`Server`](Self::Server), [`Disconnected`](Self::Disconnected) and
/// [`Overflow`](Self::Overflow) end the stream (it yields `None` next); after
/// [`Decode`](Self::Decode) it goes on. Opening fails with `Disconnected`,
/// [`Encode`](Self::Encode) or [`DuplicateId`](Self::DuplicateId).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The server sent an `Error` envelope with the stream's `Id` (the handler failed, no
    /// handler for the `Type`, `duplicate_id`, `too_many_streams`, ...): the stream has ended.
    #[error("server error {code}: {message}")]
    Server {
        /// `Data.code`.
        code: ErrorCode,
        /// `Data.message`, for people.
        message: String,
        /// `Data.type`: the offending `Type`, when the server names it.
        message_type: Option<String>,
    },
    /// The client is not connected, or the connection was lost while the stream was open.
    /// Streams are not reopened on reconnection: open the stream again once the client is
    /// back online (see [`Client::state`](crate::Client::state)).
    #[error("disconnected: the stream has ended (open it again once the client is online)")]
    Disconnected,
    /// The reader let `capacity` items wait without reading: the client cancelled the stream
    /// (read faster, or raise [`ClientBuilder::stream_capacity`](crate::ClientBuilder::stream_capacity)).
    #[error("the stream was cancelled: {capacity} items were waiting to be read")]
    Overflow {
        /// The stream's capacity.
        capacity: usize,
    },
    /// An item's `Data` does not decode into the item type; the stream goes on.
    #[error("cannot decode a {message_type:?} stream item: {source}")]
    Decode {
        /// The item's `Type`.
        message_type: String,
        /// The item's `Data`.
        data: Value,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// The request does not serialize to JSON.
    #[error("cannot encode the request: {0}")]
    Encode(#[source] serde_json::Error),
    /// A stream or a call of this client already uses this explicit `Id`.
    #[error("a stream or call with Id {0} is still open: choose another Id")]
    DuplicateId(Id),
}

impl StreamError {
    /// The protocol error code, when the server answered with an `Error` envelope.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            StreamError::Server { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the stream has ended with this error (everything but [`Decode`](Self::Decode)).
    pub fn ends_stream(&self) -> bool {
        !matches!(self, StreamError::Decode { .. })
    }
}

impl From<SendError> for StreamError {
    fn from(error: SendError) -> Self {
        match error {
            SendError::Disconnected => StreamError::Disconnected,
            SendError::Encode(source) => StreamError::Encode(source),
        }
    }
}

/// An item an [`Events`](crate::Events) or [`Subscription`](crate::Subscription) could not deliver.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecvError {
    /// The receiver fell behind and this many envelopes were dropped for it.
    #[error("fell behind: {0} envelopes were skipped")]
    Lagged(u64),
    /// An envelope of the subscribed `Type` whose `Data` does not decode.
    #[error("cannot decode a {:?} envelope: {source}", .envelope.message_type)]
    Decode {
        /// The envelope whose `Data` did not decode.
        envelope: Box<crate::envelope::Envelope>,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_envelope_data_becomes_a_server_error() {
        let error = CallError::from_error_envelope(
            &json!({"code": "unknown_type", "message": "no handler", "type": "Foo"}),
        );
        match &error {
            CallError::Server {
                code,
                message,
                message_type,
            } => {
                assert_eq!(code, &ErrorCode::UnknownType);
                assert_eq!(message, "no handler");
                assert_eq!(message_type.as_deref(), Some("Foo"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(error.to_string(), "server error unknown_type: no handler");
        assert_eq!(error.code(), Some(&ErrorCode::UnknownType));
    }

    #[test]
    fn malformed_error_data_is_tolerated() {
        let error = CallError::from_error_envelope(&json!("oops"));
        assert!(matches!(
            error,
            CallError::Server { code: ErrorCode::Other(ref c), .. } if c.is_empty()
        ));
    }

    #[test]
    fn rejected_handshake_shows_the_body() {
        let error = ConnectError::Rejected {
            status: 401,
            body: "bad token".into(),
        };
        assert_eq!(
            error.to_string(),
            "handshake rejected with HTTP 401: bad token"
        );
    }
}
