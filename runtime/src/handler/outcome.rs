//! What one handler call produced: nothing, an encoded reply, or a failure.

use super::CallResult;
use crate::extract::Rejection;
use crate::protocol::{encode_with_raw_id, ErrorCode, ReplyTo};
use crate::stream::{IntoStreamItem, StreamItem};
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use std::fmt::Display;
use std::future::Future;

/// The result of one handler call. Built by the code `#[message]` generates.
#[doc(hidden)]
#[derive(Debug)]
pub struct Outcome(pub(crate) OutcomeKind);

pub(crate) enum OutcomeKind {
    /// The handler returned `()` or `None`.
    Nothing,
    /// An encoded reply envelope.
    Reply(String),
    /// A stream of items: the session runs it beside the connection's other requests.
    Stream(BoxStream<'static, StreamItem>),
    /// An `Error` envelope to send, without `type` and `Id` yet; `detail` is what the
    /// failure hooks see when it differs from the client's message (a panic's text).
    Failed {
        code: ErrorCode,
        message: String,
        detail: Option<String>,
    },
}

impl std::fmt::Debug for OutcomeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutcomeKind::Nothing => f.write_str("Nothing"),
            OutcomeKind::Reply(text) => f.debug_tuple("Reply").field(text).finish(),
            OutcomeKind::Stream(_) => f.write_str("Stream"),
            OutcomeKind::Failed { code, message, .. } => f
                .debug_struct("Failed")
                .field("code", code)
                .field("message", message)
                .finish_non_exhaustive(),
        }
    }
}

impl Outcome {
    /// A stream whose items are encoded with `reply_to`'s `Id` and the `Type` `name` (room
    /// messages keep their own).
    pub fn stream<S, K>(stream: S, reply_to: &ReplyTo, name: &'static str) -> Self
    where
        S: Stream + Send + 'static,
        S::Item: IntoStreamItem<K>,
    {
        let reply_to = reply_to.clone();
        let items = stream.map(move |item| item.into_stream_item(&reply_to, name));
        Outcome(OutcomeKind::Stream(Box::pin(items)))
    }

    /// No reply.
    pub fn nothing() -> Self {
        Outcome(OutcomeKind::Nothing)
    }

    /// A reply of `Type` `name` carrying `value`.
    pub fn reply<T: Serialize + ?Sized>(reply_to: &ReplyTo, value: &T, name: &'static str) -> Self {
        match encode_with_raw_id(name, value, reply_to.id_bytes()) {
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
