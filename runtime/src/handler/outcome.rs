//! What one handler call produced: nothing, an encoded reply, or a failure.

use super::CallResult;
use crate::extract::Rejection;
use crate::protocol::{encode, ErrorCode, ReplyTo};
use serde::Serialize;
use std::fmt::Display;
use std::future::Future;

/// The result of one handler call. Built by the code `#[message]` generates.
#[doc(hidden)]
#[derive(Debug)]
pub struct Outcome(pub(crate) OutcomeKind);

#[derive(Debug)]
pub(crate) enum OutcomeKind {
    /// The handler returned `()` or `None`.
    Nothing,
    /// An encoded reply envelope.
    Reply(String),
    /// An `Error` envelope to send, without `type` and `Id` yet; `detail` is what the
    /// failure hooks see when it differs from the client's message (a panic's text).
    Failed {
        code: ErrorCode,
        message: String,
        detail: Option<String>,
    },
}

impl Outcome {
    /// No reply.
    pub fn nothing() -> Self {
        Outcome(OutcomeKind::Nothing)
    }

    /// A reply of `Type` `name` carrying `value`.
    pub fn reply<T: Serialize + ?Sized>(reply_to: &ReplyTo, value: &T, name: &'static str) -> Self {
        match encode(name, value, reply_to.id()) {
            Ok(text) => Outcome(OutcomeKind::Reply(text)),
            Err(error) => Outcome(OutcomeKind::Failed {
                code: ErrorCode::HandlerError,
                message: format!("the handler's reply `{name}` could not be serialized: {error}"),
                detail: None,
            }),
        }
    }

    /// The handler returned `Err(error)`.
    pub fn failed<E: Display + ?Sized>(error: &E) -> Self {
        Outcome(OutcomeKind::Failed {
            code: ErrorCode::HandlerError,
            message: error.to_string(),
            detail: None,
        })
    }

    /// An extractor refused the call.
    pub fn rejected(rejection: Rejection) -> Self {
        Outcome(OutcomeKind::Failed {
            code: rejection.code(),
            message: rejection.into_message(),
            detail: None,
        })
    }
}

/// Runs one handler call: `extract` decodes the extractors and returns the handler's future,
/// whose output `finish` turns into the outcome. Used by the code `#[message]` generates.
///
/// The bounds say once, at the handler's name, when its future is not `Send` (the server runs
/// handlers on a multi-threaded runtime).
#[doc(hidden)]
pub fn run<Extract, Handler>(
    extract: Extract,
    finish: fn(Handler::Output, &ReplyTo, &'static str) -> Outcome,
    reply_to: ReplyTo,
    reply_type: &'static str,
) -> CallResult
where
    Extract: Future<Output = Result<Handler, Rejection>> + Send + 'static,
    Handler: Future + Send + 'static,
{
    Ok(Box::pin(async move {
        match extract.await {
            Ok(handler) => finish(handler.await, &reply_to, reply_type),
            Err(rejection) => Outcome::rejected(rejection),
        }
    }))
}
