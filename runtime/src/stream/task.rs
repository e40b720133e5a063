//! Running one stream: items to the client, paced by its outbound queue, then `StreamEnd`.

use super::table::{OpenError, Reserved};
use super::StreamItem;
use crate::connection::Connection;
use crate::protocol::ErrorCode;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// How a stream ended, for the metrics.
#[derive(Debug, Clone, Copy)]
enum End {
    /// The stream ended by itself.
    Finished,
    /// It sent an `Error`.
    Failed,
    /// The client cancelled it.
    Cancelled,
    /// The connection closed under it.
    Closed,
}

impl End {
    fn label(self) -> &'static str {
        match self {
            End::Finished => "end",
            End::Failed => "error",
            End::Cancelled => "cancel",
            End::Closed => "closed",
        }
    }
}

/// Opens the stream `id` (its JSON text) of `connection` and starts its task; `message_type`
/// is the request's, for errors. Fails (and drops `items` unpolled) if the `Id` is taken, the
/// connection holds too many streams, or it closed.
pub(crate) fn start(
    connection: &Connection,
    id: &str,
    message_type: &str,
    items: BoxStream<'static, StreamItem>,
    max_streams: usize,
) -> Result<(), OpenError> {
    let table = connection.streams();
    let Reserved { serial, cancel } = table.reserve(id, max_streams)?;
    crate::metrics::stream_opened();
    let task = tokio::spawn(run(
        connection.clone(),
        id.to_owned(),
        message_type.to_owned(),
        items,
        cancel,
        serial,
    ));
    table.running(id, serial, task.abort_handle());
    Ok(())
}

async fn run(
    connection: Connection,
    id: String,
    message_type: String,
    mut items: BoxStream<'static, StreamItem>,
    cancel: tokio_util::sync::CancellationToken,
    serial: u64,
) {
    // Metrics and the table's entry are settled however the task ends, an abort included.
    let mut guard = Ended {
        connection: &connection,
        id: &id,
        serial,
        end: End::Closed,
    };
    let end = loop {
        let next = tokio::select! {
            biased;
            () = cancel.cancelled() => break End::Cancelled,
            next = items.next() => next,
        };
        match next {
            None => break End::Finished,
            Some(StreamItem::Item(text)) => {
                // Waits while the client's queue is full: the stream is paced by its reader.
                if connection.send_reply(Utf8Bytes::from(text)).await.is_err() {
                    break End::Closed;
                }
                crate::metrics::stream_items(1);
            }
            Some(StreamItem::Failed { code, message }) => {
                crate::session::send_error(
                    &connection,
                    code,
                    message,
                    Some(&message_type),
                    Some(&id),
                )
                .await;
                break End::Failed;
            }
        }
    };
    // The producer stops before the client hears of the end.
    drop(items);
    if matches!(end, End::Finished | End::Cancelled) {
        let text = format!(
            "{{\"Type\":\"{}\",\"Id\":{id}}}",
            crate::protocol::message_type::STREAM_END
        );
        let _ = connection.send_reply(Utf8Bytes::from(text)).await;
    }
    guard.end = end;
}

/// Settles a stream's end: frees its `Id` and counts it.
struct Ended<'a> {
    connection: &'a Connection,
    id: &'a str,
    serial: u64,
    end: End,
}

impl Drop for Ended<'_> {
    fn drop(&mut self) {
        self.connection.streams().ended(self.id, self.serial);
        crate::metrics::stream_ended(self.end.label());
    }
}

/// The `Error` code for a stream that could not open.
pub(crate) fn refusal(error: OpenError) -> (ErrorCode, String) {
    match error {
        OpenError::Duplicate => (
            ErrorCode::DuplicateId,
            "a stream with this Id is open on this connection: use another Id".to_owned(),
        ),
        OpenError::TooMany(max) => (
            ErrorCode::TooManyStreams,
            format!("this connection already holds {max} open streams, the most allowed: cancel one first"),
        ),
        OpenError::Closed => (
            ErrorCode::HandlerError,
            "the connection is closing: no stream opens".to_owned(),
        ),
    }
}
