//! The server: its builder and options, its start-up, the accept loop, and the endpoint that
//! serves connections from any transport.

#[cfg(feature = "axum")]
mod axum;
mod bound;
mod builder;
mod config;
#[cfg(feature = "schema")]
mod contract;
mod endpoint;
mod extension;
mod health;
mod options;
mod serve;
mod shutdown;
mod start;
mod static_files;
#[cfg(feature = "tls")]
mod tls;

pub use bound::BoundServer;
pub use builder::Server;
pub use config::{Heartbeat, Processing, RateLimit, SlowConsumerPolicy};
pub use endpoint::Endpoint;
pub use health::{AdapterHealth, HealthReport};
pub use serve::{Listen, Serve};
pub use shutdown::shutdown_signal;
#[cfg(feature = "tls")]
pub use tls::{TlsConfig, TlsError};

pub(crate) use config::Config;
pub(crate) use extension::{Fallback, PostHandler};
pub(crate) use health::{answer as http_route, Routes, HEALTH_CONTENT_TYPE};
pub(crate) use static_files::{StaticFile, StaticFiles};

use crate::auth::SharedAuthenticator;
use crate::context::AppState;
use crate::handler::Registry;
use crate::hooks::Hooks;
use crate::hub::Hub;
use std::sync::Arc;

/// What every session of a server shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub registry: Registry,
    pub config: Config,
    pub app: Arc<AppState>,
    pub hooks: Hooks,
    pub hub: Hub,
    pub authenticator: Option<SharedAuthenticator>,
    /// Around the dispatch of every message, outermost first.
    pub middleware: crate::middleware::Stack,
    /// `/health` and `/metrics`, when served.
    pub routes: Routes,
    /// Connections open or upgrading, against `max_connections`.
    pub connections: std::sync::atomic::AtomicUsize,
}
