//! `exws gateway`: a drop-in replacement for the PyStrands server (feature `gateway`).
//!
//! WebSocket clients connect to the gateway; backends in any language connect to its backend
//! port and speak one JSON object per line. A backend admits each client
//! (`connection_request` → `response`), receives its messages (`new_message`) and sends to
//! rooms, clients or everyone. See docs/GATEWAY.md for the protocol and every option.

mod admission;
mod backend;
mod client;
mod config;
#[allow(clippy::module_inception)]
mod gateway;
mod lines;
mod metrics;
mod pool;
mod protocol;
mod publish;
mod registry;
mod serve;

pub use client::GatewayClient;
pub use config::{GatewayConfig, GatewayError};
pub use gateway::{BoundGateway, Gateway, GatewayStatus};
pub use protocol::ClientContext;
pub use serve::ServeGateway;

use crate::hub::Hub;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// What every part of one gateway shares.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) config: GatewayConfig,
    pub(crate) pool: pool::Pool,
    pub(crate) ids: Arc<registry::ClientIds>,
    /// Set once the server is bound.
    pub(crate) hub: OnceLock<Hub>,
    next_event: AtomicU64,
}

impl Core {
    fn new(config: GatewayConfig) -> Self {
        Core {
            pool: pool::Pool::new(config.queue_size),
            config,
            ids: Arc::default(),
            hub: OnceLock::new(),
            next_event: AtomicU64::new(1),
        }
    }

    /// A fresh `request_id` for an event.
    pub(crate) fn next_event_id(&self) -> String {
        format!("ev-{}", self.next_event.fetch_add(1, Ordering::Relaxed))
    }
}
