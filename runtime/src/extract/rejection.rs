//! Why an extractor refused a call.

use crate::protocol::ErrorCode;

/// Why an extractor could not build its argument: answered as an `Error` envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Rejection {
    code: ErrorCode,
    message: String,
}

impl Rejection {
    /// A rejection with any protocol error code.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Rejection {
            code,
            message: message.into(),
        }
    }

    /// `unauthorized`: the handler needs an authenticated user.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Rejection::new(ErrorCode::Unauthorized, message)
    }

    /// `handler_error`: any other reason.
    pub fn handler_error(message: impl Into<String>) -> Self {
        Rejection::new(ErrorCode::HandlerError, message)
    }

    /// `invalid_data`: the request's `Data` did not decode.
    pub(crate) fn invalid_data(message: String) -> Self {
        Rejection::new(ErrorCode::InvalidData, message)
    }

    /// The error code sent to the client.
    pub fn code(&self) -> ErrorCode {
        self.code.clone()
    }

    /// The message sent to the client.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn into_message(self) -> String {
        self.message
    }
}
