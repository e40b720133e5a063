//! The `Server` builder: its handlers and the options it holds. The options' setters are in
//! `options/`, the start-up in `start.rs`.

use super::config::Config;
use crate::adapter::Adapter;
use crate::auth::SharedAuthenticator;
use crate::context::AppState;
use crate::error::Error;
use crate::handler::{registered, Handler};
use crate::hooks::Hooks;
use std::sync::Arc;

/// An exws server: its handlers and options. Start it with [`listen`](Server::listen); or
/// [`bind`](Server::bind) it to read its address first (port 0), then
/// [`serve`](crate::BoundServer::serve) it; or [`build`](Server::build) an
/// [`Endpoint`](crate::Endpoint) to mount in another HTTP server. The first two serve until
/// the process ends, or until a signal with `.with_graceful_shutdown(signal)`.
///
/// ```no_run
/// # async fn run() -> Result<(), exws::Error> {
/// exws::Server::new()
///     .max_message_size(64 * 1024)
///     .listen("127.0.0.1:8765")
///     .with_graceful_shutdown(exws::shutdown_signal())
///     .await
/// # }
/// ```
pub struct Server {
    pub(super) handlers: Option<Vec<&'static Handler>>,
    pub(super) config: Config,
    pub(super) app: AppState,
    pub(super) hooks: Hooks,
    pub(super) authenticator: Option<SharedAuthenticator>,
    pub(super) adapter: Option<Arc<dyn Adapter>>,
    pub(super) middleware: crate::middleware::Stack,
    #[cfg(feature = "tls")]
    pub(super) tls: Option<super::tls::TlsConfig>,
    pub(super) invalid: Option<Error>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("handlers", &self.handlers.as_ref().map(Vec::len))
            .field("config", &self.config)
            .field("hooks", &self.hooks)
            .field("authenticator", &self.authenticator.is_some())
            .field("adapter", &self.adapter.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for Server {
    fn default() -> Self {
        Server::new()
    }
}

impl Server {
    /// A server with every handler registered with `#[exws::message]` in the program.
    ///
    /// Handlers in a library crate are part of the program only if the binary names something
    /// of that library; otherwise the linker drops them. With no handler at all, starting the
    /// server fails with [`Error::NoHandlers`]; list a library's handlers with
    /// [`Server::with_handlers`].
    pub fn new() -> Self {
        Server {
            handlers: None,
            config: Config::default(),
            app: AppState::default(),
            hooks: Hooks::default(),
            authenticator: None,
            adapter: None,
            middleware: Default::default(),
            #[cfg(feature = "tls")]
            tls: None,
            invalid: None,
        }
    }

    /// A server with only the listed handlers, e.g. `Server::with_handlers(handlers![a, b])`:
    /// for two servers in one process, or a test.
    pub fn with_handlers(handlers: impl IntoIterator<Item = &'static Handler>) -> Self {
        Server {
            handlers: Some(handlers.into_iter().collect()),
            ..Server::new()
        }
    }

    /// The handlers this server will serve (every registered one for [`Server::new`]), by
    /// `Type`, module path and function name, each described by its
    /// [`HandlerInfo`](crate::HandlerInfo). Duplicates are reported by [`bind`](Server::bind),
    /// not here.
    pub fn handlers(&self) -> Vec<&'static crate::handler::HandlerInfo> {
        let mut handlers: Vec<&'static Handler> = match &self.handlers {
            Some(handlers) => handlers.clone(),
            None => registered(),
        };
        handlers.sort_by_key(|handler| {
            (
                handler.message_type(),
                handler.module_path(),
                handler.function(),
            )
        });
        handlers.into_iter().map(Handler::info).collect()
    }

    /// Application state handlers take with [`State<T>`](crate::State). One value per type; a
    /// second value of the same type replaces the first.
    pub fn with_state<T: Clone + Send + Sync + 'static>(mut self, state: T) -> Self {
        self.app.insert(state);
        self
    }

    /// Records the first invalid option: starting the server fails with it.
    pub(super) fn reject(&mut self, option: &'static str, reason: String) {
        self.invalid
            .get_or_insert(Error::InvalidOption { option, reason });
    }
}
