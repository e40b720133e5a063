//! One client connection from accept to close: upgrade, then one task that reads, dispatches,
//! writes and closes (see [`driver`]), and a cleanup that runs whatever ends it.
//!
//! The session runs over any byte stream (`AsyncRead + AsyncWrite`): plain TCP, TLS, or a
//! connection upgraded by another HTTP server.

mod admission;
mod cleanup;
mod dispatch;
mod driver;
mod frames;
mod http_answer;
mod reason;
mod signal;
mod upgrade;

pub use reason::DisconnectReason;

#[cfg(feature = "axum")]
pub(crate) use admission::{admit_upgrade, Admitted};
pub(crate) use dispatch::{handlers as dispatch_handlers, message as dispatch_message, send_error};
pub(crate) use http_answer::HttpAnswer;

use crate::auth::Admission;
use crate::connection::Connection;
use crate::connection::{ConnectionParts, OutboundQueue, QueueLimits};
use crate::context::Context;
use crate::handshake::HandshakeRequest;
use crate::handshake::TlsInfo;
use crate::server::Shared;
use cleanup::Cleanup;
use driver::Session;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

/// Serves one connection over any byte stream: reads and answers its HTTP upgrade, then runs
/// the WebSocket session until it closes.
pub(crate) fn serve_stream<S>(
    stream: S,
    remote_addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) -> impl std::future::Future<Output = ()> + Send + 'static
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Not an `async fn` of its own: its state would hold `serve_accepted`'s and more.
    let accepted = Accepted {
        remote_addr,
        tls: None,
        slot: ConnectionSlot::take(&shared),
    };
    serve_accepted(stream, accepted, shared, shutdown)
}

/// What is known of a connection before its HTTP upgrade is read.
pub(crate) struct Accepted {
    /// The peer's address.
    pub remote_addr: SocketAddr,
    /// What the TLS handshake left, when the server terminated TLS itself. Boxed: every
    /// connection's future holds this field, and plain connections need no room for it.
    pub tls: Option<Box<TlsHandshake>>,
    /// The connection's place among `max_connections`.
    pub slot: ConnectionSlot,
}

/// A connection's TLS handshake, done.
pub(crate) struct TlsHandshake {
    /// The TLS session, for [`HandshakeRequest::tls`].
    pub info: TlsInfo,
    /// When the HTTP upgrade must be done by: the handshake timeout from accept, which the
    /// TLS handshake has used part of.
    pub deadline: tokio::time::Instant,
}

/// [`serve_stream`] of a connection accepted with more to know (TLS) and an earlier deadline.
pub(crate) async fn serve_accepted<S>(
    stream: S,
    accepted: Accepted,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = &shared.config;
    // Fields used in place, not destructured: copies would each take room in this future.
    let (tls, deadline) = match accepted.tls {
        Some(tls) => (Some(tls.info), tls.deadline),
        None => (None, tokio::time::Instant::now() + config.handshake_timeout),
    };
    // The handshake timeout policy (see `admission`): reading, admitting and answering the
    // request all end at `deadline`.
    let upgraded = match Box::pin(tokio::time::timeout_at(
        deadline,
        upgrade::accept(
            stream,
            accepted.remote_addr,
            tls,
            &shared,
            &accepted.slot,
            shutdown.is_cancelled(),
            deadline,
        ),
    ))
    .await
    {
        Ok(Some(upgraded)) => upgraded,
        Ok(None) => return,
        Err(_) => {
            tracing::debug!(remote_addr = %accepted.remote_addr, "handshake timed out");
            return;
        }
    };

    let websocket = WebSocketStream::from_partially_read(
        upgraded.stream,
        upgraded.leftover,
        Role::Server,
        Some(websocket_config(config)),
    )
    .await;
    serve_websocket(
        websocket,
        upgraded.admission,
        upgraded.request,
        shared,
        shutdown,
        accepted.slot,
    )
    .await;
}

/// The WebSocket settings of a server's connections.
pub(crate) fn websocket_config(config: &crate::server::Config) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(config.read_buffer_size)
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size))
        .write_buffer_size(config.write_buffer_size)
}

/// Runs the session of an upgraded, admitted connection until it closes, and cleans up.
pub(crate) async fn serve_websocket<S>(
    websocket: WebSocketStream<S>,
    admission: Admission,
    request: HandshakeRequest,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    slot: ConnectionSlot,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = &shared.config;
    let (outbound, queue) = OutboundQueue::new(QueueLimits {
        messages: config.outbound_queue,
        bytes: config.outbound_queue_bytes,
        policy: config.slow_consumer,
    });
    // Boxed: idle connections pay for every byte of this future.
    let (context, cleanup, restored) = Box::pin(open(admission, request, outbound, &shared)).await;
    // Boxed: the socket and its state are one allocation, not part of the future's size.
    let mut session = Box::new(Session::new(
        websocket,
        queue,
        context,
        shared.clone(),
        restored,
    ));
    session.run(&shutdown).await;
    // Cold paths, boxed: a future's size is what every idle connection holds.
    Box::pin(cleanup.finish()).await;
    Box::pin(session.linger()).await;
    drop(slot);
}

/// Opens the connection of an admitted client (with the session it resumes, when it asked
/// for recovery) and registers it with the hub. Returns its context, the guard of its end
/// (taken before it is registered anywhere), and what a resumed session still has to replay.
async fn open(
    admission: Admission,
    request: HandshakeRequest,
    outbound: OutboundQueue,
    shared: &Arc<Shared>,
) -> (Context, Cleanup, Option<Box<crate::recovery::Restored>>) {
    let config = &shared.config;
    let remote_addr = request.remote_addr();
    // Live messages a resumed session may hold back while it replays.
    let hold = config.outbound_queue.saturating_mul(4);
    let plan = crate::recovery::begin(
        crate::recovery::requested(&request),
        &shared.hub,
        admission.user_id.as_ref(),
        hold,
    )
    .await;
    let connection = Connection::new(ConnectionParts {
        id: plan.id.clone(),
        user_id: admission.user_id,
        remote_addr,
        outbound,
        user: admission.user,
        metadata: admission.metadata,
        request: Arc::new(request),
        recover: plan.recover.clone(),
    });
    let context = Context::new(connection.clone(), shared.app.clone(), shared.hub.clone());
    // From here on, whatever ends the session (even its future being dropped), the cleanup
    // runs once.
    let cleanup = Cleanup::new(context.clone(), shared.clone());
    shared.hub.register(&connection).await;
    tracing::debug!(id = %connection.id(), %remote_addr, "connection opened");
    crate::metrics::connection_opened();
    let restored = match plan.recover.is_some() {
        true => crate::recovery::restore(
            &shared.hub,
            &connection,
            Box::new(plan),
            config.max_streams,
            hold,
        )
        .await
        .map(Box::new),
        false => None,
    };
    (context, cleanup, restored)
}

/// A place among the server's `max_connections`, held from accept to close.
pub(crate) struct ConnectionSlot {
    shared: Arc<Shared>,
    /// The server was at its connection limit when this slot was taken: the upgrade is
    /// refused with 503.
    pub(crate) over_limit: bool,
}

impl ConnectionSlot {
    pub(crate) fn take(shared: &Arc<Shared>) -> Self {
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

#[cfg(test)]
mod size_guard {
    //! Every idle connection holds its session future for its whole life, so its size is part of
    //! the per-connection memory promise (BENCHMARKS.md). These bounds leave headroom over the
    //! sizes measured with Rust 1.95 and catch a large value slipping into the future's state,
    //! like a buffer or an unboxed cold path.

    /// Upper bound for the session future, in bytes.
    const MAX_SESSION_FUTURE: usize = 2048;

    #[tokio::test]
    async fn the_session_future_stays_small() -> Result<(), Box<dyn std::error::Error>> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stream = tokio::net::TcpStream::connect(addr).await?;
        let server = crate::server::Server::with_handlers(Vec::new())
            .bind("127.0.0.1:0")
            .await?;
        let future =
            super::serve_stream(stream, addr, server.shared_for_probe(), Default::default());
        let size = std::mem::size_of_val(&future);
        assert!(
            size <= MAX_SESSION_FUTURE,
            "the session future grew to {size} bytes (bound {MAX_SESSION_FUTURE}): box the new \
             state or move it to the heap"
        );
        Ok(())
    }
}

#[cfg(test)]
mod task_size_guard {
    //! What a connection's task holds is the served future with every wrapper around it: a
    //! future moved into a wrapper can be stored once per layer, so the wrappers must box it.

    /// Upper bound for the future an accepted connection's task runs, in bytes.
    const MAX_TRACKED_FUTURE: usize = 512;

    #[tokio::test]
    async fn the_tracked_connection_future_stays_small() -> Result<(), Box<dyn std::error::Error>> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stream = tokio::net::TcpStream::connect(addr).await?;
        let endpoint = crate::server::Server::with_handlers(Vec::new())
            .build()
            .await?;
        let future = endpoint.serve_connection(stream, addr);
        let size = std::mem::size_of_val(&future);
        assert!(
            size <= MAX_TRACKED_FUTURE,
            "the tracked connection future grew to {size} bytes (bound {MAX_TRACKED_FUTURE}): \
             box what it wraps"
        );
        Ok(())
    }
}
