//! Dispatching one text frame: parse the envelope, call every handler of its `Type`, send
//! their replies and errors.

use crate::connection::Connection;
use crate::connection::{ANSWER, ANSWER_ERROR};
use crate::context::Context;
use crate::handler::{Call, Handler, Outcome, OutcomeKind};
use crate::hooks::HandlerFailure;
use crate::middleware::Handled;
use crate::protocol::{encode_error, ErrorCode, Incoming, ReplyTo};
use crate::server::Shared;
use futures_util::FutureExt;
use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Handles one text frame. Replies are queued in handler order; the queue's capacity applies
/// backpressure to this connection's reading.
pub(crate) async fn message(text: &str, context: &Context, shared: &Arc<Shared>) {
    if let Some(fallback) = &shared.config.fallback {
        if !claimed(text, shared) {
            fallback
                .call(context.clone(), Utf8Bytes::from(text.to_owned()))
                .await;
            return;
        }
    }
    let connection = context.connection();
    let incoming = match Incoming::parse(text) {
        Ok(incoming) => incoming,
        Err(error) => {
            send_error(
                connection,
                error.code,
                error.message,
                None,
                error.id.as_deref(),
            )
            .await;
            return;
        }
    };
    let message_type: &str = &incoming.message_type;
    if message_type == ANSWER || message_type == ANSWER_ERROR {
        // A client's answer to a server call: for the call, not for handlers or middleware.
        if let Err(message) = connection.answered(text, message_type == ANSWER_ERROR) {
            send_error(
                connection,
                ErrorCode::InvalidEnvelope,
                message,
                Some(message_type),
                None,
            )
            .await;
        }
        return;
    }
    if message_type == crate::protocol::message_type::STREAM_CANCEL {
        match incoming.id {
            // A cancel may cross the stream's natural end: an unknown Id is ignored.
            Some(id) => {
                connection.streams().cancel(id);
            }
            None => {
                send_error(
                    connection,
                    ErrorCode::InvalidEnvelope,
                    "StreamCancel needs the Id of the stream to cancel".to_owned(),
                    Some(message_type),
                    None,
                )
                .await;
            }
        }
        return;
    }
    if message_type == crate::protocol::presence::PRESENCE_WATCH && context.hub().watches_presence()
    {
        let max_streams = shared.config.max_streams;
        crate::hub::serve_watch(incoming.data, incoming.id, context, max_streams).await;
        return;
    }
    if !shared.middleware.is_empty() {
        let request =
            crate::middleware::Request::new(message_type, incoming.id, incoming.data, context);
        // Boxed: the middleware path's future stays out of every message's future when no
        // middleware is installed.
        Box::pin(crate::middleware::run(request, shared)).await;
        return;
    }
    handlers(message_type, incoming.data, incoming.id, context, shared).await;
}

/// Calls every handler of `message_type` and sends their replies and errors; says what they
/// did, for the middleware.
pub(crate) async fn handlers(
    message_type: &str,
    data: &str,
    id: Option<&str>,
    context: &Context,
    shared: &Shared,
) -> Handled {
    let connection = context.connection();
    let mut handled = Handled::default();
    let Some(entry) = shared.registry.get(message_type) else {
        send_error(
            connection,
            ErrorCode::UnknownType,
            format!("no handler for type {message_type:?}"),
            Some(message_type),
            id,
        )
        .await;
        handled.error = Some(ErrorCode::UnknownType);
        return handled;
    };
    let reply_to = ReplyTo::new(id);
    for handler in entry.handlers() {
        if id.is_none() && handler.info().reply_kind().is_stream() {
            // Refused before the handler runs: nothing of the stream is made.
            send_error(
                connection,
                ErrorCode::InvalidEnvelope,
                format!(
                    "{message_type:?} opens a stream: send it with an \"Id\", which its items \
                     carry"
                ),
                Some(message_type),
                None,
            )
            .await;
            handled.failed(&ErrorCode::InvalidEnvelope);
            continue;
        }
        let call = Call {
            message_type,
            data,
            context,
            reply_to: &reply_to,
        };
        let outcome = match entry.histogram() {
            Some(histogram) => {
                let started = std::time::Instant::now();
                let outcome = run(handler, call).await;
                histogram.record(started.elapsed());
                outcome
            }
            None => run(handler, call).await,
        };
        match outcome.0 {
            OutcomeKind::Nothing => {}
            OutcomeKind::Reply(text) => {
                // A closed connection has no one to reply to.
                let _ = connection.send_reply(Utf8Bytes::from(text)).await;
                handled.replies += 1;
            }
            OutcomeKind::Stream(items) => {
                let Some(id) = id else {
                    // Dropped unpolled: nothing of the stream runs.
                    drop(items);
                    send_error(
                        connection,
                        ErrorCode::InvalidEnvelope,
                        format!(
                            "{message_type:?} opens a stream: send it with an \"Id\", which \
                             its items carry"
                        ),
                        Some(message_type),
                        None,
                    )
                    .await;
                    handled.failed(&ErrorCode::InvalidEnvelope);
                    continue;
                };
                let max = shared.config.max_streams;
                match crate::stream::start(connection, id, message_type, items, max) {
                    Ok(()) => handled.streams += 1,
                    Err(error) => {
                        let (code, message) = crate::stream::refusal(error);
                        handled.failed(&code);
                        send_error(connection, code, message, Some(message_type), Some(id)).await;
                    }
                }
            }
            OutcomeKind::Failed {
                code,
                message,
                detail,
            } => {
                let failed = matches!(code, ErrorCode::HandlerError | ErrorCode::HandlerPanic);
                if failed {
                    tracing::debug!(handler = handler.function(), %message, "handler failed");
                }
                let report = (failed && shared.hooks.has_failure_hooks()).then(|| HandlerFailure {
                    context: context.clone(),
                    handler,
                    code: code.clone(),
                    message: detail.unwrap_or_else(|| message.clone()),
                });
                handled.failed(&code);
                send_error(connection, code, message, Some(message_type), id).await;
                if let Some(failure) = report {
                    shared.hooks.failed(failure).await;
                }
            }
        }
    }
    handled
}

/// Whether a handler of this server answers `text`: an envelope of a registered `Type` (or a
/// `StreamCancel`). Without handlers nothing is parsed.
fn claimed(text: &str, shared: &Shared) -> bool {
    if shared.registry.type_count() == 0 {
        return false;
    }
    match Incoming::parse(text) {
        Ok(incoming) => {
            incoming.message_type == crate::protocol::message_type::STREAM_CANCEL
                || (incoming.message_type == crate::protocol::presence::PRESENCE_WATCH
                    && shared.config.presence.is_some())
                || shared.registry.get(&incoming.message_type).is_some()
        }
        Err(_) => false,
    }
}

/// Calls one handler, turning a panic (while decoding, extracting or running) into
/// `handler_panic`.
async fn run(handler: &Handler, call: Call<'_>) -> Outcome {
    if let (Some(_), Some(id)) = (call.context.connection().recover(), call.reply_to.id()) {
        // A recoverable connection's handler: a room subscription it opens is recorded in
        // the session with this request's `Id`.
        let request = (id.to_owned(), call.message_type.to_owned());
        return Box::pin(crate::recovery::with_request(
            request,
            run_handler(handler, call),
        ))
        .await;
    }
    run_handler(handler, call).await
}

async fn run_handler(handler: &Handler, call: Call<'_>) -> Outcome {
    match std::panic::catch_unwind(AssertUnwindSafe(|| handler.call(call))) {
        Err(panic) => panicked(handler, panic),
        Ok(Err(rejection)) => Outcome::rejected(rejection),
        Ok(Ok(future)) => match AssertUnwindSafe(future).catch_unwind().await {
            Ok(outcome) => outcome,
            Err(panic) => panicked(handler, panic),
        },
    }
}

fn panicked(handler: &Handler, panic: Box<dyn Any + Send>) -> Outcome {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned());
    tracing::error!(
        handler = %format_args!("{}::{}", handler.module_path(), handler.function()),
        panic = %detail,
        "handler panicked"
    );
    Outcome(OutcomeKind::Failed {
        code: ErrorCode::HandlerPanic,
        message: "the handler panicked; the server logged the details".to_owned(),
        detail: Some(detail),
    })
}

/// Queues an `Error` envelope.
pub(crate) async fn send_error(
    connection: &Connection,
    code: ErrorCode,
    message: String,
    message_type: Option<&str>,
    id: Option<&str>,
) {
    crate::metrics::error_sent(&code);
    let text = encode_error(code, message, message_type, id);
    let _ = connection.send_reply(Utf8Bytes::from(text)).await;
}
