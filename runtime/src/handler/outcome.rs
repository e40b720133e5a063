//! What one handler call produced: nothing, an encoded reply, or a failure.

use super::CallResult;
use crate::extract::Rejection;
use crate::protocol::{encode, message_type_name, ErrorCode, ReplyTo};
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

    /// A reply carrying `value`, named `name` or after `T`.
    pub fn reply<T: Serialize>(reply_to: &ReplyTo, value: &T, name: Option<&'static str>) -> Self {
        let name = name.unwrap_or_else(message_type_name::<T>);
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

    /// Boxes the running handler.
    pub fn future<F>(future: F) -> CallResult
    where
        F: Future<Output = Outcome> + Send + 'static,
    {
        Ok(Box::pin(future))
    }
}

/// The `Type` of one handler's replies, worked out from the reply's Rust type on first use
/// (a `static` in the code `#[message]` generates: a handler is never generic).
#[doc(hidden)]
#[derive(Debug)]
pub struct ReplyName(std::sync::OnceLock<&'static str>);

impl ReplyName {
    /// An empty cache.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        ReplyName(std::sync::OnceLock::new())
    }

    /// The name of `value`'s type (its last path segment, without generics).
    pub fn of<T: ?Sized>(&self, _value: &T) -> &'static str {
        self.0.get_or_init(message_type_name::<T>)
    }
}

/// Compile-time check that a handler's future is `Send`. Never called at run time.
#[doc(hidden)]
pub fn assert_send_future<F: Future + Send>(_future: F) {}
