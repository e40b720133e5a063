//! The stable error codes of the `Error` envelope.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The `code` of an `Error` envelope (`Data.code`): a stable string clients can match on.
///
/// Each known code has a variant; a code this version does not know (sent by a newer peer) is
/// read as [`Other`](ErrorCode::Other) with its text kept, so that a reader never fails on it.
/// A server sends `Other` as given; the protocol's clients read it, but only the known codes
/// are part of the contract.
///
/// ```
/// use exws_protocol::ErrorCode;
///
/// assert_eq!(ErrorCode::UnknownType.as_str(), "unknown_type");
/// assert_eq!(ErrorCode::parse("rate_limited"), ErrorCode::RateLimited);
/// assert_eq!(ErrorCode::parse("brand_new"), ErrorCode::Other("brand_new".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_json`: the frame is not valid JSON.
    InvalidJson,
    /// `invalid_envelope`: valid JSON, but not an object with a string `Type` (or `Id` is not
    /// a string or an integer).
    InvalidEnvelope,
    /// `unknown_type`: no handler observes this `Type`.
    UnknownType,
    /// `invalid_data`: `Data` does not deserialize into the handler's request type.
    InvalidData,
    /// `handler_error`: the handler returned an error; its text is the message.
    HandlerError,
    /// `handler_panic`: the handler panicked; the connection and the server go on.
    HandlerPanic,
    /// `unsupported_frame`: a binary frame (exws speaks JSON text frames).
    UnsupportedFrame,
    /// `message_too_large`: the frame is over the configured limit; the connection is then
    /// closed with 1009.
    MessageTooLarge,
    /// `rate_limited`: the connection sent more than its configured rate.
    RateLimited,
    /// `unauthorized`: the handler requires an authenticated user and the connection has none.
    Unauthorized,
    /// `duplicate_id`: a stream request reuses the `Id` of a stream still open on this
    /// connection.
    DuplicateId,
    /// `too_many_streams`: the connection already holds the most open streams the server
    /// allows.
    TooManyStreams,
    /// A code this version does not know, kept as it was read.
    Other(String),
}

impl ErrorCode {
    /// Every known code, in the order of the protocol's table.
    pub const ALL: [ErrorCode; 12] = [
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

    /// The code as it appears on the wire, e.g. `"unknown_type"`.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::Other(code) => code,
            known => known.known_str().unwrap_or_default(),
        }
    }

    /// The wire string of a known code; `None` for [`Other`](ErrorCode::Other). Unlike
    /// [`as_str`](ErrorCode::as_str), the string outlives the code (for labels and tables).
    pub const fn known_str(&self) -> Option<&'static str> {
        Some(match self {
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
            ErrorCode::Other(_) => return None,
        })
    }

    /// Reads a wire code; a code this version does not know becomes
    /// [`Other`](ErrorCode::Other).
    pub fn parse(code: &str) -> ErrorCode {
        ErrorCode::ALL
            .into_iter()
            .find(|known| known.known_str() == Some(code))
            .unwrap_or_else(|| ErrorCode::Other(code.to_owned()))
    }

    /// When the code is sent, in a sentence (the protocol table's description of it); `None`
    /// for [`Other`](ErrorCode::Other).
    pub const fn description(&self) -> Option<&'static str> {
        Some(match self {
            ErrorCode::InvalidJson => "The frame is not valid JSON.",
            ErrorCode::InvalidEnvelope => {
                "Valid JSON, but not an object with a string `Type` (or `Id` is not a string or integer)."
            }
            ErrorCode::UnknownType => "No handler observes this `Type`.",
            ErrorCode::InvalidData => "`Data` does not fit the handler's request type.",
            ErrorCode::HandlerError => "The handler returned an error; its text is the message.",
            ErrorCode::HandlerPanic => "The handler panicked; the connection goes on.",
            ErrorCode::UnsupportedFrame => "A binary frame.",
            ErrorCode::MessageTooLarge => {
                "The frame is over the server's limit; the connection then closes with 1009."
            }
            ErrorCode::RateLimited => "The connection sent more than its rate.",
            ErrorCode::Unauthorized => "The handler needs an authenticated user.",
            ErrorCode::DuplicateId => "A stream request reuses the `Id` of a stream still open.",
            ErrorCode::TooManyStreams => {
                "The connection holds the most open streams the server allows."
            }
            ErrorCode::Other(_) => return None,
        })
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(ErrorCode::parse(&code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_round_trip_through_their_wire_strings() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).expect("serializes");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json).expect("deserializes");
            assert_eq!(back, code);
            assert_eq!(ErrorCode::parse(code.as_str()), code);
            assert!(code.description().is_some());
        }
    }

    #[test]
    fn the_wire_strings_are_the_protocol_table() {
        let strings: Vec<&str> = ErrorCode::ALL.iter().map(ErrorCode::as_str).collect();
        assert_eq!(
            strings,
            [
                "invalid_json",
                "invalid_envelope",
                "unknown_type",
                "invalid_data",
                "handler_error",
                "handler_panic",
                "unsupported_frame",
                "message_too_large",
                "rate_limited",
                "unauthorized",
                "duplicate_id",
                "too_many_streams",
            ]
        );
    }

    #[test]
    fn unknown_codes_are_kept_as_read() {
        let code: ErrorCode = serde_json::from_str("\"brand_new\"").expect("deserializes");
        assert_eq!(code, ErrorCode::Other("brand_new".to_owned()));
        assert_eq!(code.to_string(), "brand_new");
        assert_eq!(code.known_str(), None);
        assert_eq!(code.description(), None);
        assert_eq!(
            serde_json::to_string(&code).expect("serializes"),
            "\"brand_new\""
        );
        assert_eq!(ErrorCode::parse(""), ErrorCode::Other(String::new()));
    }
}
