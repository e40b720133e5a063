//! Starting a `Server`: checking its handlers and options, starting its hub, binding its
//! listener.

use super::bound::BoundServer;
use super::builder::Server;
use super::endpoint::Endpoint;
use super::health::Routes;
use super::serve::Listen;
use super::Shared;
use crate::adapter::InProcess;
use crate::error::Error;
use crate::handler::{registered, Registry};
use crate::hub::Hub;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, ToSocketAddrs};

impl Server {
    /// Binds `addr` and serves on it: await the [`Listen`] to serve until the process ends,
    /// or call [`Listen::with_graceful_shutdown`] first to stop on a signal. To learn the port
    /// the system chose for port 0, [`bind`](Server::bind) instead.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), exws::Error> {
    /// exws::Server::new().listen("127.0.0.1:8765").await
    /// # }
    /// ```
    pub fn listen<A>(self, addr: A) -> Listen<A>
    where
        A: ToSocketAddrs + Send + 'static,
    {
        Listen::new(self, addr)
    }

    /// Checks the handlers and options, starts the hub and binds the listening socket (port 0
    /// picks a free port; read it with [`BoundServer::local_addr`]), without accepting yet:
    /// [`serve`](BoundServer::serve) the result.
    pub async fn bind(
        #[cfg_attr(not(feature = "tls"), allow(unused_mut))] mut self,
        addr: impl ToSocketAddrs,
    ) -> Result<BoundServer, Error> {
        #[cfg(feature = "tls")]
        let tls = self.tls.take();
        let endpoint = self.build().await?;
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host(addr)
            .await
            .map_err(|source| Error::Bind {
                addrs: Vec::new(),
                source,
            })?
            .collect();
        let listener = TcpListener::bind(addrs.as_slice())
            .await
            .map_err(|source| Error::Bind { addrs, source })?;
        let bound = BoundServer::new(listener, endpoint)?;
        #[cfg(feature = "tls")]
        let bound = bound.with_tls(tls);
        Ok(bound)
    }

    /// Checks the handlers and options and starts the hub (and its adapter), without a
    /// listener of its own: the [`Endpoint`] serves connections from any transport (a route
    /// of an axum app, TLS, a listener of your own).
    pub async fn build(self) -> Result<Endpoint, Error> {
        let shared = self.into_shared()?;
        shared.hub.start().await?;
        Ok(Endpoint::new(Arc::new(shared)))
    }

    /// Checks the handlers and options and assembles what every session shares, with its hub
    /// not started yet: the one constructor of [`Shared`], for [`build`](Server::build) and the
    /// socket-less dispatch harness.
    pub(crate) fn into_shared(self) -> Result<Shared, Error> {
        if let Some(error) = self.invalid {
            return Err(error);
        }
        // Before the registry: it creates the handler histograms.
        #[cfg(feature = "prometheus")]
        let metrics =
            match self.config.serve_metrics {
                true => Some(crate::metrics::prometheus_handle().map_err(|error| {
                    Error::InvalidOption {
                        option: "serve_metrics",
                        reason: error.to_string(),
                    }
                })?),
                false => None,
            };
        let handlers = match self.handlers {
            Some(handlers) => handlers,
            None => {
                let handlers = registered();
                // A server whose unclaimed frames go to a fallback (the gateway's backends)
                // may have no handler of its own.
                if handlers.is_empty() && self.config.fallback.is_none() {
                    return Err(Error::NoHandlers);
                }
                handlers
            }
        };
        for handler in &handlers {
            if let Some((_, state)) = handler
                .requirements()
                .states
                .into_iter()
                .find(|(type_id, _)| !self.app.contains(*type_id))
            {
                return Err(Error::MissingState {
                    handler: format!("{}::{}", handler.module_path(), handler.function()),
                    state,
                });
            }
        }
        #[cfg(feature = "schema")]
        let config = {
            let infos: Vec<_> = handlers.iter().map(|handler| handler.info()).collect();
            super::contract::publish(self.config, &infos)?
        };
        #[cfg(not(feature = "schema"))]
        let config = self.config;
        let registry = Registry::new(handlers)?;
        let watch = crate::protocol::presence::PRESENCE_WATCH;
        if config.presence.is_some() && registry.get(watch).is_some() {
            return Err(Error::InvalidOption {
                option: "presence",
                reason: format!(
                    "a handler observes {watch:?}, which the built-in presence watch answers: \
                     rename the handler's `Type`, or leave presence off"
                ),
            });
        }
        let adapter = self.adapter.unwrap_or_else(|| Arc::new(InProcess));
        let hub = Hub::new(
            adapter,
            config.max_rooms_per_connection,
            config.presence.clone(),
            config.max_call_recipients,
            config.history,
            config.recovery,
        );
        let routes = Routes::new(
            config.serve_health,
            #[cfg(feature = "prometheus")]
            metrics,
        );
        Ok(Shared {
            registry,
            config,
            app: Arc::new(self.app),
            hooks: self.hooks,
            authenticator: self.authenticator,
            middleware: self.middleware,
            routes,
            hub,
            connections: std::sync::atomic::AtomicUsize::new(0),
        })
    }
}
