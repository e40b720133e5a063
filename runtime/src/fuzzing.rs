//! Dispatch without sockets, for the fuzz target and property tests: feed one frame's text
//! to a server's handlers and collect what would be sent back.

use crate::connection::Connection;
use crate::connection::{ConnectionId, ConnectionParts, OutboundQueue, QueueLimits};
use crate::context::Context;
use crate::handler::Handler;
use crate::server::{Server, Shared};
use std::sync::Arc;

/// A server's dispatch path without a network: [`FrameHarness::dispatch`] runs one text
/// frame through envelope parsing, handler lookup, `Data` decoding and the handlers, and
/// returns the envelopes the client would receive.
#[derive(Debug)]
pub struct FrameHarness {
    shared: Arc<Shared>,
}

impl FrameHarness {
    /// A harness serving `handlers` with the server's default options. Fails on an
    /// inconsistent handler set, as `bind` would: it is assembled by the same constructor.
    pub fn new(handlers: Vec<&'static Handler>) -> Result<Self, crate::error::Error> {
        let shared = Server::with_handlers(handlers).into_shared()?;
        Ok(FrameHarness {
            shared: Arc::new(shared),
        })
    }

    /// Dispatches one frame on a fresh connection; returns every envelope queued for it.
    pub async fn dispatch(&self, frame: &str) -> Vec<String> {
        let (outbound, mut queue) = OutboundQueue::new(QueueLimits {
            messages: self.shared.config.outbound_queue,
            bytes: self.shared.config.outbound_queue_bytes,
            policy: self.shared.config.slow_consumer,
        });
        let connection = Connection::new(ConnectionParts {
            id: ConnectionId::generate(),
            user_id: None,
            remote_addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            outbound,
            user: None,
            metadata: Default::default(),
            request: Default::default(),
            recover: None,
        });
        let context = Context::new(connection, self.shared.app.clone(), self.shared.hub.clone());
        let collect = async {
            let mut sent = Vec::new();
            while let Some(text) = queue.recv().await {
                sent.push(text.as_str().to_owned());
            }
            sent
        };
        let dispatch = async {
            crate::session::dispatch_message(frame, &context, &self.shared).await;
            drop(context);
        };
        let ((), sent) = tokio::join!(dispatch, collect);
        sent
    }
}
