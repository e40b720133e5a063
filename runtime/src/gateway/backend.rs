//! One backend connection: authentication, its single writer (so lines never interleave),
//! heartbeats, and the actions it sends.

use super::config::same_token;
use super::lines::{Line, LineReader};
use super::pool::BackendHandle;
use super::protocol::{error_event, heartbeat_line, parse_action, Action};
use super::{metrics, Core};
use crate::auth::UserId;
use crate::hub::{Hub, HubError};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The most bytes one write to a backend gathers from its queue.
const BATCH_BYTES: usize = 256 * 1024;

/// Serves one backend until it disconnects, goes silent, or the gateway stops.
pub(crate) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    core: Arc<Core>,
    stop: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let config = &core.config;
    let (read, mut write) = stream.into_split();
    let mut reader = LineReader::new(read, config.max_line_size);
    if let Some(token) = &config.backend_token {
        let first = tokio::time::timeout(config.backend_timeout, reader.next_line()).await;
        let authenticated = match first {
            Ok(Ok(Some(Line::Text(line)))) => {
                matches!(parse_action(&line), Ok(Action::Auth { token: given }) if same_token(&given, token))
            }
            _ => false,
        };
        if !authenticated {
            tracing::warn!(%peer, "a backend did not authenticate: disconnected");
            metrics::bad_backend_line("unauthenticated");
            let line = error_event(
                "auth",
                json!({}),
                "authentication required: send {\"request_id\":\"auth\",\"action\":\"auth\",\"params\":{\"token\":\"...\"}} as the first line",
            );
            let _ = tokio::time::timeout(Duration::from_secs(1), write.write_all(line.as_bytes()))
                .await;
            return;
        }
    }
    let (lines, queue) = mpsc::channel(config.backend_queue);
    let handle = Arc::new(BackendHandle::new(core.pool.next_backend_id(), lines));
    let backlog = core.pool.add(Arc::clone(&handle));
    metrics::backend_connected();
    tracing::info!(%peer, backend = handle.id, backlog = backlog.len(), "backend connected");
    let dead = stop.child_token();
    let writer = tokio::spawn(write_loop(
        write,
        queue,
        backlog,
        config.heartbeat_interval,
        config.backend_timeout,
        dead.clone(),
    ));
    let reason = loop {
        let line = tokio::select! {
            line = reader.next_line() => line,
            () = dead.cancelled() => break "stalled",
        };
        match line {
            Ok(Some(line)) => handle_line(line, &handle, &core, peer).await,
            Ok(None) => break "closed",
            Err(_) => break "error",
        }
    };
    dead.cancel();
    core.pool.remove(handle.id);
    let _ = writer.await;
    metrics::backend_disconnected(reason);
    tracing::info!(%peer, backend = handle.id, reason, "backend disconnected");
}

/// Writes queued lines in batches, and a heartbeat every `interval`. A write that does not
/// complete within `timeout` marks the backend dead.
async fn write_loop<W: AsyncWrite + Unpin>(
    mut write: W,
    mut queue: mpsc::Receiver<String>,
    backlog: Vec<String>,
    interval: Duration,
    timeout: Duration,
    dead: CancellationToken,
) {
    let mut batch = Vec::new();
    let count = backlog.len() as u64;
    for line in backlog {
        batch.extend_from_slice(line.as_bytes());
    }
    if !batch.is_empty() {
        if !put(&mut write, &batch, timeout).await {
            dead.cancel();
            return;
        }
        metrics::events_sent(count);
    }
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let batch = tokio::select! {
            biased;
            () = dead.cancelled() => break,
            line = queue.recv() => {
                let Some(line) = line else { break };
                let mut batch = line.into_bytes();
                let mut count = 1;
                while batch.len() < BATCH_BYTES {
                    match queue.try_recv() {
                        Ok(line) => {
                            batch.extend_from_slice(line.as_bytes());
                            count += 1;
                        }
                        Err(_) => break,
                    }
                }
                metrics::events_sent(count);
                batch
            }
            _ = heartbeat.tick() => heartbeat_line().into_bytes(),
        };
        if !put(&mut write, &batch, timeout).await {
            tracing::warn!("a backend read nothing for {timeout:?}: dropped, its clients move to another backend");
            break;
        }
    }
    dead.cancel();
    let _ = tokio::time::timeout(Duration::from_millis(200), write.shutdown()).await;
}

/// Writes `batch` within `timeout`.
async fn put<W: AsyncWrite + Unpin>(write: &mut W, batch: &[u8], timeout: Duration) -> bool {
    matches!(
        tokio::time::timeout(timeout, write.write_all(batch)).await,
        Ok(Ok(()))
    )
}

/// Acts on one line of a backend; a line it cannot act on is logged and answered with an
/// `error` event.
async fn handle_line(line: Line, backend: &BackendHandle, core: &Core, peer: SocketAddr) {
    let text = match line {
        Line::Text(text) => text,
        Line::TooLong(length) => {
            let limit = core.config.max_line_size;
            return refuse(
                backend,
                peer,
                "too_long",
                "",
                &format!("line of {length} bytes skipped: the limit is {limit} bytes"),
            );
        }
        Line::NotUtf8 => {
            return refuse(
                backend,
                peer,
                "not_utf8",
                "",
                "line skipped: it is not UTF-8",
            )
        }
    };
    let action = match parse_action(&text) {
        Ok(action) => action,
        Err(error) => return refuse(backend, peer, "invalid", &error.request_id, &error.message),
    };
    let Some(hub) = core.hub.get() else {
        return;
    };
    let outcome = match action {
        Action::Response {
            request_id,
            response,
        } => {
            if !core.pool.resolve(&request_id, response) {
                let message = format!("no connection request {request_id:?} is waiting (it timed out, or the client left)");
                return refuse(backend, peer, "late_response", &request_id, &message);
            }
            Ok(())
        }
        Action::Broadcast { message } => hub.everyone().send_text(message).await,
        Action::MessageToRoom { room_id, message } => hub.room(&room_id).send_text(message).await,
        Action::MessageToConnection { conn_id, message } => to_client(hub, &conn_id, message).await,
        Action::Heartbeat => Ok(()),
        Action::Auth { .. } => Ok(()),
    };
    if let Err(error) = outcome {
        let kind = match error {
            HubError::UnknownUser(_) | HubError::UnknownConnection(_) => "unknown_client",
            HubError::InvalidRoom(_) => "invalid_room",
            _ => "delivery",
        };
        refuse(backend, peer, kind, "", &error.to_string());
    }
}

/// A message to the client the backend named `conn_id`, wherever it is.
pub(crate) async fn to_client(hub: &Hub, conn_id: &str, message: String) -> Result<(), HubError> {
    if conn_id.is_empty() {
        return Err(HubError::UnknownUser(UserId::from(conn_id)));
    }
    hub.user(&UserId::from(conn_id)).send_text(message).await
}

fn refuse(
    backend: &BackendHandle,
    peer: SocketAddr,
    kind: &'static str,
    request_id: &str,
    message: &str,
) {
    tracing::warn!(%peer, backend = backend.id, kind, request_id, "backend line refused: {message}");
    metrics::bad_backend_line(kind);
    // Never waits: a backend that does not read its errors loses them, not its neighbours.
    backend.offer(error_event(request_id, json!({}), message));
}
