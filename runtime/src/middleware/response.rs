//! What became of a message: handled, refused by a middleware, or the connection closed.

use crate::extract::Rejection;
use crate::protocol::{CloseCode, ErrorCode};
use std::time::Duration;

/// What became of a message, as [`Next::run`](super::Next::run) returns it, or the answer a
/// middleware gives in place ([`Response::error`], [`Response::close`]).
#[derive(Debug, Clone)]
pub struct Response {
    kind: Kind,
    elapsed: Duration,
}

#[derive(Debug, Clone)]
enum Kind {
    Handled(Handled),
    Refused { code: ErrorCode, message: String },
    Close { code: CloseCode, reason: String },
}

/// What the handlers of one message did (filled by the dispatch).
#[derive(Debug, Clone, Default)]
pub(crate) struct Handled {
    /// Replies sent.
    pub replies: u32,
    /// Streams started.
    pub streams: u32,
    /// The code of the first `Error` sent for the message.
    pub error: Option<ErrorCode>,
}

impl Response {
    pub(crate) fn handled(handled: Handled, elapsed: Duration) -> Self {
        Response {
            kind: Kind::Handled(handled),
            elapsed,
        }
    }

    /// Answers the message with an `Error` envelope of `code` (carrying the message's `Type`
    /// and `Id`); its handlers do not run.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Response {
            kind: Kind::Refused {
                code,
                message: message.into(),
            },
            elapsed: Duration::ZERO,
        }
    }

    /// Answers with the `Error` an extractor's rejection stands for.
    pub fn rejected(rejection: Rejection) -> Self {
        Response::error(rejection.code(), rejection.message())
    }

    /// Closes the connection with `code` and `reason` once what is already queued is sent;
    /// the message gets no answer. An invalid close (see
    /// [`Connection::close_with`](crate::Connection::close_with)) closes with 1008 instead and
    /// logs a warning.
    pub fn close(code: CloseCode, reason: impl Into<String>) -> Self {
        Response {
            kind: Kind::Close {
                code,
                reason: reason.into(),
            },
            elapsed: Duration::ZERO,
        }
    }

    /// The code of the `Error` the message got: from a middleware, an extractor, its handler,
    /// or the dispatch (`unknown_type`); the first one when several handlers failed.
    pub fn error_code(&self) -> Option<&ErrorCode> {
        match &self.kind {
            Kind::Handled(handled) => handled.error.as_ref(),
            Kind::Refused { code, .. } => Some(code),
            Kind::Close { .. } => None,
        }
    }

    /// Replies the handlers sent.
    pub fn replies(&self) -> u32 {
        match &self.kind {
            Kind::Handled(handled) => handled.replies,
            _ => 0,
        }
    }

    /// Streams the handlers started (their items follow later).
    pub fn streams(&self) -> u32 {
        match &self.kind {
            Kind::Handled(handled) => handled.streams,
            _ => 0,
        }
    }

    /// The close a middleware asked for, if any.
    pub fn close_code(&self) -> Option<CloseCode> {
        match &self.kind {
            Kind::Close { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// How long the handlers ran (until a stream's start, for a stream); zero when a
    /// middleware answered in place.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The outcome in a word, for logs and metrics: `reply`, `stream`, `error`, `close` or
    /// `nothing`.
    pub fn outcome(&self) -> &'static str {
        match &self.kind {
            Kind::Close { .. } => "close",
            Kind::Refused { .. } => "error",
            Kind::Handled(handled) if handled.error.is_some() => "error",
            Kind::Handled(handled) if handled.streams > 0 => "stream",
            Kind::Handled(handled) if handled.replies > 0 => "reply",
            Kind::Handled(_) => "nothing",
        }
    }

    /// The answer the dispatch must still carry out: `Ok` an `Error` to send, `Err` a close.
    pub(crate) fn into_answer(self) -> Option<Result<(ErrorCode, String), (CloseCode, String)>> {
        match self.kind {
            Kind::Handled(_) => None,
            Kind::Refused { code, message } => Some(Ok((code, message))),
            Kind::Close { code, reason } => Some(Err((code, reason))),
        }
    }
}

impl Handled {
    /// Notes an `Error` sent for the message; the first one is kept.
    pub(crate) fn failed(&mut self, code: &ErrorCode) {
        if self.error.is_none() {
            self.error = Some(code.clone());
        }
    }
}
