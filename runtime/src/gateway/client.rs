//! A WebSocket client of the gateway: who the backend said it is, which backend its events
//! go to, and the hooks that tell the backend it arrived, spoke and left.

use super::pool::Assignment;
use super::protocol::{context_event, message_event, ClientContext};
use super::registry::Reservation;
use super::Core;
use crate::context::Context;
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// What the gateway keeps of an admitted client (the connection's
/// [user](crate::Connection::user)): its context as the backend chose it.
#[derive(Debug)]
pub struct GatewayClient {
    context: ClientContext,
    pub(crate) backend: Assignment,
    /// Holds the client id on this process until the connection closes.
    reservation: std::sync::Mutex<Option<Reservation>>,
}

impl GatewayClient {
    pub(crate) fn new(context: ClientContext, reservation: Reservation) -> Self {
        GatewayClient {
            context,
            backend: Assignment::default(),
            reservation: std::sync::Mutex::new(Some(reservation)),
        }
    }

    /// The client's id, room and metadata, as its backend chose them.
    pub fn context(&self) -> &ClientContext {
        &self.context
    }
}

/// `on_connect`: the client joins its room, then its backend learns of it (before any of its
/// messages).
pub(crate) async fn connected(core: Arc<Core>, context: Context) {
    let connection = context.connection();
    let Some(client) = connection.user::<GatewayClient>() else {
        return;
    };
    let room = &client.context.room_id;
    if let Err(error) = context.hub().join(connection.id(), room).await {
        tracing::warn!(%error, room, "a gateway client could not join its room");
    }
    let line = context_event(&core.next_event_id(), "new_connection", &client.context);
    core.pool.send_for(&client.backend, line).await;
}

/// `on_disconnect`: the backend learns the client left, after its last message.
pub(crate) async fn disconnected(core: Arc<Core>, context: Context) {
    let connection = context.connection();
    let Some(client) = connection.user::<GatewayClient>() else {
        return;
    };
    let line = context_event(&core.next_event_id(), "disconnected", &client.context);
    core.pool.send_for(&client.backend, line).await;
    client.backend.release();
    let reservation = client
        .reservation
        .lock()
        .map(|mut reservation| reservation.take())
        .unwrap_or_else(|poison| poison.into_inner().take());
    drop(reservation);
}

/// A text frame no Rust handler claimed: a `new_message` for the client's backend. The
/// client's reading waits while that backend's queue is full.
pub(crate) async fn message(core: Arc<Core>, context: Context, text: Utf8Bytes) {
    let Some(client) = context.connection().user::<GatewayClient>() else {
        return;
    };
    let line = message_event(&core.next_event_id(), &client.context, text.as_str());
    core.pool.send_for(&client.backend, line).await;
}
