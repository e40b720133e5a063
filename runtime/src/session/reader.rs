//! The reader half of a session: reads frames, dispatches them, and decides how the
//! connection ends.

use super::{dispatch, DisconnectReason};
use crate::connection::Outbound;
use crate::protocol::{CloseCode, ErrorCode};
use crate::server::{Processing, Shared};
use crate::Context;
use futures_util::stream::{FuturesUnordered, SplitStream};
use futures_util::StreamExt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

pub(crate) type Stream = SplitStream<WebSocketStream<TcpStream>>;

type InFlight = FuturesUnordered<Pin<Box<dyn Future<Output = ()> + Send>>>;

/// Reads and dispatches until the connection ends; then lets in-flight handlers finish, has
/// the writer close the connection, and waits for it (up to the close timeout).
pub(crate) async fn run(
    mut stream: Stream,
    context: &Context,
    shared: &Arc<Shared>,
    shutdown: &CancellationToken,
    abort: &CancellationToken,
    writer_done: &CancellationToken,
) -> (Stream, DisconnectReason) {
    let connection = context.connection();
    let max_in_flight = match shared.config.processing {
        Processing::Sequential => 0,
        Processing::Concurrent { max_in_flight } => max_in_flight,
    };
    let mut in_flight = InFlight::new();
    // Before any message: the connect hooks (the writer already runs, for welcome messages).
    shared.hooks.connected(context).await;
    let reason = loop {
        let frame = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break DisconnectReason::ServerShutdown,
            _ = connection.closed_token().cancelled() => break closed_reason(context),
            Some(()) = in_flight.next(), if !in_flight.is_empty() => continue,
            frame = stream.next(), if max_in_flight == 0 || in_flight.len() < max_in_flight => frame,
        };
        let message = match frame {
            None => break DisconnectReason::ConnectionLost,
            Some(Err(error)) => break read_failed(error, context).await,
            Some(Ok(message)) => message,
        };
        match message {
            Message::Text(text) => {
                if max_in_flight == 0 {
                    dispatch::message(text.as_str(), context, shared).await;
                } else {
                    let context = context.clone();
                    let shared = shared.clone();
                    in_flight.push(Box::pin(async move {
                        dispatch::message(text.as_str(), &context, &shared).await;
                    }));
                }
            }
            Message::Binary(_) => {
                dispatch::send_error(
                    connection,
                    ErrorCode::UnsupportedFrame,
                    "binary frames are not supported: send one JSON envelope per text frame"
                        .to_owned(),
                    None,
                    None,
                )
                .await;
            }
            Message::Close(frame) => {
                break match frame {
                    Some(frame) => DisconnectReason::ClientClosed {
                        code: Some(u16::from(frame.code)),
                        reason: frame.reason.as_str().to_owned(),
                    },
                    None => DisconnectReason::ClientClosed {
                        code: None,
                        reason: String::new(),
                    },
                };
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    };

    // Accepted messages are answered before the connection closes.
    while in_flight.next().await.is_some() {}

    let last = match &reason {
        DisconnectReason::ServerShutdown => {
            Outbound::Close(CloseCode::GOING_AWAY, "server shutting down".to_owned())
        }
        DisconnectReason::MessageTooLarge => {
            Outbound::Close(CloseCode::TOO_BIG, "message too large".to_owned())
        }
        DisconnectReason::ProtocolError { .. } => {
            Outbound::Close(CloseCode(1002), "protocol error".to_owned())
        }
        DisconnectReason::ClosedByServer { code, reason } => Outbound::Close(*code, reason.clone()),
        DisconnectReason::ClientClosed { .. } | DisconnectReason::ConnectionLost => {
            Outbound::Finish
        }
    };
    let close_timeout = shared.config.close_timeout;
    let finish = async {
        if connection.push_final(last).await {
            writer_done.cancelled().await;
        }
    };
    if tokio::time::timeout(close_timeout, finish).await.is_err() {
        abort.cancel();
    }
    (stream, reason)
}

/// Why the connection stopped when its `closed` token fired.
fn closed_reason(context: &Context) -> DisconnectReason {
    match context.connection().close_request() {
        Some((code, reason)) => DisconnectReason::ClosedByServer {
            code: *code,
            reason: reason.clone(),
        },
        None => DisconnectReason::ConnectionLost,
    }
}

async fn read_failed(error: WsError, context: &Context) -> DisconnectReason {
    match error {
        WsError::Capacity(CapacityError::MessageTooLong { size, max_size }) => {
            dispatch::send_error(
                context.connection(),
                ErrorCode::MessageTooLarge,
                format!("the message of {size} bytes is over the limit of {max_size} bytes"),
                None,
                None,
            )
            .await;
            DisconnectReason::MessageTooLarge
        }
        WsError::Protocol(error) => DisconnectReason::ProtocolError {
            detail: error.to_string(),
        },
        WsError::Utf8(detail) => DisconnectReason::ProtocolError {
            detail: format!("invalid UTF-8 in a text frame: {detail}"),
        },
        error => {
            tracing::debug!(%error, "reading from the connection failed");
            DisconnectReason::ConnectionLost
        }
    }
}
