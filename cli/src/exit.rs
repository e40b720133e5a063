//! Exit codes, and turning client errors into a message and a code.

use exws_client::{ConnectError, SendError, StreamError};
use std::process::ExitCode;

/// Why the command failed: what to print on stderr, and the exit code.
#[derive(Debug)]
pub(crate) struct Failure {
    /// Exit code: see [`SERVER_ERROR`] and the others.
    pub code: u8,
    /// One line for stderr, without the `error: ` prefix.
    pub message: String,
}

/// The server answered with an `Error` envelope (or an unusable reply).
pub(crate) const SERVER_ERROR: u8 = 1;
/// `exws contract diff` found changes that break clients of the old contract.
pub(crate) const BREAKING: u8 = 1;
/// Bad arguments (clap uses 2 for its own usage errors too).
pub(crate) const USAGE: u8 = 2;
/// Connecting failed or the connection was lost.
pub(crate) const CONNECTION: u8 = 3;
/// Connecting or waiting for the reply (or the next stream item) took too long.
pub(crate) const TIMEOUT: u8 = 4;
/// The `Type` answers in the other way: `call` got a stream (its first item was printed, the
/// stream cancelled), or `stream` got one reply and no stream (the reply was printed).
pub(crate) const WRONG_KIND: u8 = 5;
/// `stream` was interrupted by Ctrl-C (128 + SIGINT, the shells' convention).
pub(crate) const INTERRUPTED: u8 = 130;

impl Failure {
    /// A failure with this code and message.
    pub(crate) fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// Prints `error: <message>` on stderr and returns the exit code.
    pub(crate) fn report(self) -> ExitCode {
        eprintln!("error: {}", self.message);
        ExitCode::from(self.code)
    }

    /// A failed connection attempt to `url`.
    pub(crate) fn connect(url: &str, error: ConnectError) -> Self {
        let code = match error {
            ConnectError::Timeout(_) => TIMEOUT,
            ConnectError::InvalidUrl { .. }
            | ConnectError::InvalidHeader { .. }
            | ConnectError::InvalidCertificate { .. } => USAGE,
            _ => CONNECTION,
        };
        Failure::new(code, format!("cannot connect to {url}: {error}"))
    }

    /// A stream that failed to open or ended with an error.
    pub(crate) fn stream(error: StreamError) -> Self {
        match error {
            StreamError::Server { code, message, .. } => {
                Failure::new(SERVER_ERROR, format!("{code}: {message}"))
            }
            StreamError::Disconnected => {
                Failure::new(CONNECTION, "the connection closed before the stream ended")
            }
            StreamError::Encode(_) | StreamError::DuplicateId(_) => {
                Failure::new(USAGE, error.to_string())
            }
            other => Failure::new(SERVER_ERROR, other.to_string()),
        }
    }

    /// A failed send.
    pub(crate) fn send(error: SendError) -> Self {
        match error {
            SendError::Disconnected => Failure::new(CONNECTION, "the connection is closed"),
            other => Failure::new(USAGE, other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exws_client::ErrorCode;
    use std::time::Duration;

    #[test]
    fn server_errors_print_code_and_message() {
        let failure = Failure::stream(StreamError::Server {
            code: ErrorCode::UnknownType,
            message: "no handler for type \"Nope\"".into(),
            message_type: Some("Nope".into()),
        });
        assert_eq!(failure.code, SERVER_ERROR);
        assert_eq!(
            failure.message,
            "unknown_type: no handler for type \"Nope\""
        );
    }

    #[test]
    fn codes_per_kind() {
        assert_eq!(
            Failure::connect("ws://x", ConnectError::Timeout(Duration::from_secs(1))).code,
            TIMEOUT
        );
        assert_eq!(
            Failure::connect(
                "ws://x",
                ConnectError::Rejected {
                    status: 401,
                    body: String::new()
                }
            )
            .code,
            CONNECTION
        );
        assert_eq!(Failure::send(SendError::Disconnected).code, CONNECTION);
        assert_eq!(Failure::stream(StreamError::Disconnected).code, CONNECTION);
        let failure = Failure::stream(StreamError::Server {
            code: ErrorCode::TooManyStreams,
            message: "cancel one first".into(),
            message_type: None,
        });
        assert_eq!(failure.code, SERVER_ERROR);
        assert_eq!(failure.message, "too_many_streams: cancel one first");
    }
}
