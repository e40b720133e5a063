//! The writer half of a session: owns the socket's sink, fed by the outbound queue.

use crate::connection::{Outbound, OutboundReceiver};
use crate::Connection;
use futures_util::stream::SplitSink;
use futures_util::SinkExt;
use std::pin::Pin;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WireCloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

pub(crate) type Sink = SplitSink<WebSocketStream<TcpStream>, Message>;

/// The most messages written between two flushes.
const MAX_BATCH: usize = 64;

/// Writes queued messages until a close, a finish, a failure or `abort`; then marks the
/// connection closed, signals `done` and hands the sink back.
pub(crate) async fn run(
    mut sink: Sink,
    mut queue: OutboundReceiver,
    abort: CancellationToken,
    done: CancellationToken,
    connection: Connection,
) -> Sink {
    // Made once: a fresh cancellation future per write would register a waiter each time.
    let mut aborted: Aborted = Box::pin(abort.cancelled_owned());
    loop {
        let item = tokio::select! {
            biased;
            _ = &mut aborted => break,
            item = queue.recv() => item,
        };
        let Some(item) = item else { break };
        // One guard for the whole batch: a write may wait on a client that does not read.
        let goes_on = tokio::select! {
            biased;
            _ = &mut aborted => false,
            goes_on = Box::pin(write_batch(&mut sink, &mut queue, item)) => goes_on,
        };
        if !goes_on {
            break;
        }
    }
    connection.mark_closed();
    done.cancel();
    sink
}

/// Writes `first` and whatever else is ready (up to a batch), then flushes once. Returns
/// whether the writer goes on.
async fn write_batch(sink: &mut Sink, queue: &mut OutboundReceiver, first: Outbound) -> bool {
    let mut next = Some(first);
    let mut written = 0;
    while let Some(item) = next.take() {
        match item {
            Outbound::Text(text) => {
                if sink.feed(Message::Text(text)).await.is_err() {
                    return false;
                }
                written += 1;
            }
            Outbound::Ping => {
                if sink.feed(Message::Ping(Default::default())).await.is_err() {
                    return false;
                }
            }
            Outbound::Close(code, reason) => {
                let frame = CloseFrame {
                    code: WireCloseCode::from(code.0),
                    reason: reason.into(),
                };
                let _ = sink.send(Message::Close(Some(frame))).await;
                return false;
            }
            Outbound::Finish => {
                let _ = sink.close().await;
                return false;
            }
        }
        if written < MAX_BATCH {
            next = queue.try_recv();
        }
    }
    crate::metrics::messages_out(written as u64);
    sink.flush().await.is_ok()
}

/// Completes when the writer is told to give up.
type Aborted = Pin<Box<WaitForCancellationFutureOwned>>;
