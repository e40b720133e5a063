//! The stable error codes of the `Error` envelope.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The `code` of an `Error` envelope: a stable string clients can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The frame is not valid JSON.
    InvalidJson,
    /// Valid JSON, but not an object with a string `Type` (or `Id` is not a string/integer).
    InvalidEnvelope,
    /// No handler observes this `Type`.
    UnknownType,
    /// `Data` does not deserialize into the handler's request type.
    InvalidData,
    /// The handler returned an error; its text is the message.
    HandlerError,
    /// The handler panicked; the connection and the server go on.
    HandlerPanic,
    /// A binary frame (exws speaks JSON text frames).
    UnsupportedFrame,
    /// The frame is over the configured limit; the connection is then closed with 1009.
    MessageTooLarge,
    /// The connection sent more than its configured rate.
    RateLimited,
    /// The handler requires an authenticated user and the connection has none.
    Unauthorized,
    /// A stream request reuses the `Id` of a stream still open on this connection.
    DuplicateId,
    /// The connection already holds the most open streams the server allows.
    TooManyStreams,
}

impl ErrorCode {
    /// Every code, in the order of the protocol's table.
    #[cfg_attr(not(feature = "schema"), allow(dead_code))]
    pub(crate) const ALL: [ErrorCode; 12] = [
        ErrorCode::InvalidJson,
        ErrorCode::InvalidEnvelope,
        ErrorCode::UnknownType,
        ErrorCode::InvalidData,
        ErrorCode::HandlerError,
        ErrorCode::HandlerPanic,
        ErrorCode::UnsupportedFrame,
        ErrorCode::MessageTooLarge,
        ErrorCode::RateLimited,
        ErrorCode::Unauthorized,
        ErrorCode::DuplicateId,
        ErrorCode::TooManyStreams,
    ];

    /// When the code is sent, in a sentence (the contract's description of it).
    #[cfg_attr(not(feature = "schema"), allow(dead_code))]
    pub(crate) const fn description(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "The frame is not valid JSON.",
            ErrorCode::InvalidEnvelope => {
                "Valid JSON, but not an object with a string `Type` (or `Id` is not a string or integer)."
            }
            ErrorCode::UnknownType => "No handler observes this `Type`.",
            ErrorCode::InvalidData => "`Data` does not fit the handler's request type.",
            ErrorCode::HandlerError => "The handler returned an error; its text is the message.",
            ErrorCode::HandlerPanic => "The handler panicked; the connection goes on.",
            ErrorCode::UnsupportedFrame => "A binary frame.",
            ErrorCode::MessageTooLarge => "The frame is over the server's limit; the connection then closes with 1009.",
            ErrorCode::RateLimited => "The connection sent more than its rate.",
            ErrorCode::Unauthorized => "The handler needs an authenticated user.",
            ErrorCode::DuplicateId => "A stream request reuses the `Id` of a stream still open.",
            ErrorCode::TooManyStreams => "The connection holds the most open streams the server allows.",
        }
    }

    /// The code as it appears on the wire, e.g. `"unknown_type"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidEnvelope => "invalid_envelope",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::InvalidData => "invalid_data",
            ErrorCode::HandlerError => "handler_error",
            ErrorCode::HandlerPanic => "handler_panic",
            ErrorCode::UnsupportedFrame => "unsupported_frame",
            ErrorCode::MessageTooLarge => "message_too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::DuplicateId => "duplicate_id",
            ErrorCode::TooManyStreams => "too_many_streams",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `Data` of an `Error` envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The stable error code.
    pub code: ErrorCode,
    /// A description for people; may change between versions.
    pub message: String,
    /// The offending message `Type`, when it is known.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_codes_as_their_wire_strings() {
        for code in [
            ErrorCode::InvalidJson,
            ErrorCode::InvalidEnvelope,
            ErrorCode::UnknownType,
            ErrorCode::InvalidData,
            ErrorCode::HandlerError,
            ErrorCode::DuplicateId,
            ErrorCode::TooManyStreams,
            ErrorCode::HandlerPanic,
            ErrorCode::UnsupportedFrame,
            ErrorCode::MessageTooLarge,
            ErrorCode::RateLimited,
            ErrorCode::Unauthorized,
        ] {
            let json = serde_json::to_string(&code).expect("serializes");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }
}
