//! One client connection from TCP accept to close: upgrade, read and dispatch, write, close.

mod dispatch;
mod reader;
mod reason;
mod upgrade;
mod writer;

pub use reason::DisconnectReason;

pub(crate) use dispatch::message as dispatch_message;

use crate::connection::{ConnectionId, ConnectionParts, OutboundQueue, QueueLimits};
use crate::server::Shared;
use crate::{Connection, Context};
use futures_util::StreamExt;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

/// Serves one accepted TCP connection until it closes.
pub(crate) async fn run(
    stream: TcpStream,
    remote_addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    let config = &shared.config;
    let slot = ConnectionSlot::take(&shared);
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
    }
    let upgraded = match Box::pin(tokio::time::timeout(
        config.handshake_timeout,
        upgrade::accept(stream, remote_addr, &shared, slot.over_limit),
    ))
    .await
    {
        Ok(Some(upgraded)) => upgraded,
        Ok(None) => return,
        Err(_) => {
            tracing::debug!(%remote_addr, "handshake timed out");
            return;
        }
    };

    let websocket_config = WebSocketConfig::default()
        .read_buffer_size(config.read_buffer_size)
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size))
        .write_buffer_size(config.write_buffer_size);
    let websocket = WebSocketStream::from_partially_read(
        upgraded.stream,
        upgraded.leftover,
        Role::Server,
        Some(websocket_config),
    )
    .await;
    let (sink, stream) = websocket.split();

    let (outbound, queue) = OutboundQueue::new(QueueLimits {
        messages: config.outbound_queue,
        bytes: config.outbound_queue_bytes,
        policy: config.slow_consumer,
    });
    let admission = upgraded.admission;
    let connection = Connection::new(ConnectionParts {
        id: admission.id.unwrap_or_else(ConnectionId::generate),
        remote_addr,
        outbound,
        user: admission.user,
        metadata: admission.metadata,
    });
    let context = Context::new(connection.clone(), shared.app.clone(), shared.hub.clone());
    Box::pin(shared.hub.register(&connection)).await;
    tracing::debug!(id = %connection.id(), %remote_addr, "connection opened");
    crate::metrics::connection_opened();

    let abort = CancellationToken::new();
    let writer_done = CancellationToken::new();
    let writer = writer::run(
        sink,
        queue,
        abort.clone(),
        writer_done.clone(),
        connection.clone(),
    );
    let reader = reader::run(stream, &context, &shared, &shutdown, &abort, &writer_done);
    let ((stream, reason), sink) = tokio::join!(reader, writer);
    connection.mark_closed();
    crate::metrics::connection_closed(reason.label());
    Box::pin(shared.hooks.disconnected(&context, &reason)).await;
    Box::pin(shared.hub.unregister(connection.id())).await;

    if let Ok(mut websocket) = stream.reunite(sink) {
        Box::pin(linger(
            websocket.get_mut(),
            config.close_timeout,
            config.max_message_size,
        ))
        .await;
    }
    tracing::debug!(id = %connection.id(), %reason, "connection closed");
}

/// A place among the server's `max_connections`, held from accept to close.
struct ConnectionSlot {
    shared: Arc<Shared>,
    over_limit: bool,
}

impl ConnectionSlot {
    fn take(shared: &Arc<Shared>) -> Self {
        let before = shared.connections.fetch_add(1, Ordering::AcqRel);
        ConnectionSlot {
            shared: shared.clone(),
            over_limit: before >= shared.config.max_connections,
        }
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.shared.connections.fetch_sub(1, Ordering::AcqRel);
    }
}

/// After the close frames: half-close the socket and read what the client still sends until
/// it closes too, so that unread bytes do not turn the close into a reset that could destroy
/// the close frame before the client reads it.
async fn linger(stream: &mut TcpStream, timeout: Duration, max_message_size: usize) {
    let drain = async {
        if stream.shutdown().await.is_err() {
            return;
        }
        let mut budget = max_message_size.saturating_mul(2).saturating_add(64 * 1024);
        // On the heap and only while lingering: a buffer in the future would cost every
        // connection its size for its whole life.
        let mut buffer = vec![0u8; 4096];
        while budget > 0 {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => budget = budget.saturating_sub(read),
            }
        }
    };
    let _ = tokio::time::timeout(timeout, drain).await;
}

#[cfg(test)]
mod size_guard {
    //! Every idle connection holds its session future for its whole life, so its size is part of
    //! the per-connection memory promise (BENCHMARKS.md). These bounds leave headroom over the
    //! sizes measured with Rust 1.95 (1,624 and 24 bytes) and catch a large value slipping into
    //! the future's state, like a buffer or an unboxed cold path.

    /// Upper bound for the session future, in bytes.
    const MAX_SESSION_FUTURE: usize = 2048;
    /// Upper bound for one item of the outbound queue, in bytes.
    const MAX_OUTBOUND_ITEM: usize = 48;

    #[tokio::test]
    async fn the_session_future_stays_small() -> Result<(), Box<dyn std::error::Error>> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stream = tokio::net::TcpStream::connect(addr).await?;
        let server = crate::Server::with_handlers(Vec::new())
            .bind("127.0.0.1:0")
            .await?;
        let future = super::run(stream, addr, server.shared_for_probe(), Default::default());
        let size = std::mem::size_of_val(&future);
        assert!(
            size <= MAX_SESSION_FUTURE,
            "the session future grew to {size} bytes (bound {MAX_SESSION_FUTURE}): box the new \
             state or move it to the heap"
        );
        Ok(())
    }

    #[test]
    fn outbound_items_stay_small() {
        let size = std::mem::size_of::<crate::connection::Outbound>();
        assert!(
            size <= MAX_OUTBOUND_ITEM,
            "an outbound queue item grew to {size} bytes (bound {MAX_OUTBOUND_ITEM})"
        );
    }
}
