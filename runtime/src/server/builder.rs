//! The `Server` builder.

use super::StaticFile;
use super::{
    BoundServer, Config, Endpoint, Heartbeat, Processing, RateLimit, Shared, SlowConsumerPolicy,
};
use crate::adapter::{Adapter, InProcess};
use crate::auth::{Authenticator, SharedAuthenticator};
use crate::context::AppState;
use crate::handler::{registered, Handler, Registry};
use crate::hooks::{HandlerFailure, Hooks};
use crate::{Context, DisconnectReason, Error, Hub};
use std::borrow::Cow;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, ToSocketAddrs};

/// An exws server: its handlers and options. Start it with [`listen`](Server::listen), or
/// [`bind`](Server::bind) then [`serve`](BoundServer::serve).
///
/// ```no_run
/// # async fn run() -> Result<(), exws::Error> {
/// exws::Server::new()
///     .max_message_size(64 * 1024)
///     .listen_with_shutdown("127.0.0.1:8765", exws::shutdown_signal())
///     .await
/// # }
/// ```
pub struct Server {
    handlers: Option<Vec<&'static Handler>>,
    pub(crate) config: Config,
    app: AppState,
    hooks: Hooks,
    authenticator: Option<SharedAuthenticator>,
    adapter: Option<Arc<dyn Adapter>>,
    middleware: crate::middleware::Stack,
    #[cfg(feature = "tls")]
    tls: Option<super::TlsConfig>,
    invalid: Option<Error>,
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
    pub fn handlers(&self) -> Vec<&'static crate::HandlerInfo> {
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

    /// The largest message (and frame) a client may send, in bytes. Default: 1 MiB. A larger
    /// one is answered with `message_too_large` and the connection is closed with 1009.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        if bytes < 64 {
            self.reject(
                "max_message_size",
                format!("{bytes} bytes is too small; use at least 64"),
            );
        }
        self.config.max_message_size = bytes;
        self
    }

    /// Handles each connection's messages one after another (the default): replies leave in
    /// request order.
    pub fn sequential(mut self) -> Self {
        self.config.processing = Processing::Sequential;
        self
    }

    /// Handles up to `max_in_flight` messages of each connection at once. Replies leave as
    /// handlers finish; clients match them by `Id`.
    pub fn concurrent(mut self, max_in_flight: usize) -> Self {
        if max_in_flight == 0 {
            self.reject("concurrent", "max_in_flight must be at least 1".to_owned());
        }
        self.config.processing = Processing::Concurrent { max_in_flight };
        self
    }

    /// The capacity of each connection's outbound queue, in messages. Default: 1024. A handler
    /// replying to a full queue waits for it, which slows down reading that client's requests.
    pub fn outbound_queue(mut self, messages: usize) -> Self {
        if messages == 0 {
            self.reject(
                "outbound_queue",
                "the queue needs room for at least 1 message".to_owned(),
            );
        }
        self.config.outbound_queue = messages;
        self
    }

    /// How long a connection may take to complete the WebSocket upgrade. Default: 10 s.
    ///
    /// One policy for every transport: the time runs from the moment the transport has the
    /// connection (the accepted TCP connection for the standalone server and
    /// [`Endpoint::serve_connection`](crate::Endpoint::serve_connection), the TLS handshake
    /// included; the request's arrival for the axum route, whose HTTP server reads the request
    /// itself). A request not read by then is dropped without an answer; an authenticator
    /// still running then is cancelled and the client gets `503` with `Retry-After: 1`.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        if timeout.is_zero() {
            self.reject(
                "handshake_timeout",
                "a zero timeout refuses every upgrade; use a positive duration".to_owned(),
            );
        }
        self.config.handshake_timeout = timeout;
        self
    }

    /// The largest HTTP upgrade request head (request line and headers). Default: 16 KiB;
    /// larger gets `431`.
    pub fn max_handshake_size(mut self, bytes: usize) -> Self {
        if bytes < 256 {
            self.reject(
                "max_handshake_size",
                format!("{bytes} bytes cannot hold an upgrade request; use at least 256"),
            );
        }
        self.config.max_handshake_size = bytes;
        self
    }

    /// How long the server waits for a client to answer its close frame before it drops the
    /// TCP connection. Default: 2 s.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.config.close_timeout = timeout;
        self
    }

    /// At shutdown, how long in-flight handlers may run before they are cancelled and their
    /// connections closed. The whole shutdown takes at most this plus the
    /// [close timeout](Server::close_timeout) (then what is left is dropped, and the
    /// connections' disconnect hooks still run). Default: 30 s.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown_timeout = timeout;
        self
    }

    /// The most streams (subscriptions) one connection may hold open at once; a stream request
    /// past it is answered with `too_many_streams`. Default: 64.
    pub fn max_streams(mut self, streams: usize) -> Self {
        if streams == 0 {
            self.reject("max_streams", "use at least 1".to_owned());
        }
        self.config.max_streams = streams;
        self
    }

    /// When a connection closes for any other reason than shutdown (the client closed, the
    /// application called [`Connection::close`](crate::Connection::close), a heartbeat
    /// timeout, a slow consumer...), how long its running handlers may go on before they are
    /// cancelled: their futures are dropped, so they stop at their next `.await`. Replies they
    /// send meanwhile are written before the close frame. Default: 5 s.
    pub fn handler_grace(mut self, grace: Duration) -> Self {
        self.config.handler_grace = grace;
        self
    }

    /// The size of each connection's read buffer, in bytes. Default: 2 KiB, held by every
    /// connection once it has read (6.25 KiB per idle connection in all, against 8.1 KiB with
    /// 4 KiB: see BENCHMARKS.md). Larger buffers read large messages in fewer system calls.
    pub fn read_buffer_size(mut self, bytes: usize) -> Self {
        if bytes < 256 {
            self.reject(
                "read_buffer_size",
                format!("{bytes} bytes is too small; use at least 256"),
            );
        }
        self.config.read_buffer_size = bytes;
        self
    }

    /// Authenticates every handshake before the WebSocket opens: the authenticator admits the
    /// client (optionally as a user, with an id and metadata) or refuses it with an HTTP status
    /// (401/403) and a short reason. See [`auth`](crate::auth). A second call replaces the
    /// first authenticator.
    pub fn authenticator(mut self, authenticator: impl Authenticator) -> Self {
        self.authenticator = Some(SharedAuthenticator::new(authenticator));
        self
    }

    /// Only admits browsers whose `Origin` header is one of `origins` (e.g.
    /// `"https://app.example.com"`, compared ASCII case-insensitively); others get 403. This
    /// guards against cross-site WebSocket hijacking. Requests without `Origin` (non-browser
    /// clients) are admitted: authenticate them. Default: any origin.
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let origins: Vec<String> = origins
            .into_iter()
            .map(|origin| origin.into().trim_end_matches('/').to_owned())
            .collect();
        self.config.allowed_origins = Some(origins);
        self
    }

    /// Believes the forwarding headers (`Forwarded`, then `X-Forwarded-For`) of these reverse
    /// proxies: addresses (`"10.0.0.7"`, `"::1"`) or networks (`"10.0.0.0/8"`). When a
    /// connection comes from one, its [remote address](crate::Connection::remote_addr) (and
    /// the authenticator's) is the nearest address in the chain that is not a trusted proxy.
    /// Headers from any other peer are ignored: they are trivial to forge. Default: none.
    pub fn trusted_proxies<I, S>(mut self, proxies: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        match crate::handshake::TrustedProxies::parse(proxies) {
            Ok(proxies) => self.config.trusted_proxies = proxies,
            Err(error) => self.reject("trusted_proxies", error.to_string()),
        }
        self
    }

    /// The WebSocket subprotocols the server speaks (`Sec-WebSocket-Protocol`). A client that
    /// asks for some gets the first of its own list that the server speaks, or its upgrade is
    /// refused with 400 if there is none; a client that asks for none connects without one.
    /// Handlers read the choice with
    /// [`connection.handshake().protocol()`](crate::HandshakeRequest::protocol). Default: none.
    pub fn protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let protocols: Vec<String> = protocols.into_iter().map(Into::into).collect();
        let valid = |protocol: &String| {
            !protocol.is_empty()
                && protocol
                    .bytes()
                    .all(|byte| byte.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&byte))
        };
        if let Some(bad) = protocols.iter().find(|protocol| !valid(protocol)) {
            self.reject(
                "protocols",
                format!("{bad:?} is not a valid subprotocol token (RFC 6455: printable ASCII, no separators)"),
            );
        }
        self.config.protocols = protocols;
        self
    }

    /// Runs `hook` when a connection opens, after the handshake and before any of its messages
    /// is handled; it may send a welcome message. Hooks run in the order they were added.
    pub fn on_connect<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.hooks.add_connect(hook);
        self
    }

    /// Runs `hook` exactly once when a connection that opened closes, however it closes, with
    /// the reason. In-flight handlers of the connection have finished by then.
    pub fn on_disconnect<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Context, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.hooks.add_disconnect(hook);
        self
    }

    /// Runs `hook` when a handler fails (returns `Err`, panics, or its reply cannot be
    /// serialized), after the client was sent its `Error`: to log or report. The connection
    /// waits for the hook; spawn a task for slow reporting.
    pub fn on_handler_error<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(HandlerFailure) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.hooks.add_failure(hook);
        self
    }

    /// The adapter that carries hub messages between processes. Default:
    /// [`InProcess`] (one process). With [`RedisAdapter`](crate::adapter::RedisAdapter)
    /// (feature `redis`), every process on the same Redis acts as one server.
    pub fn adapter(mut self, adapter: impl Adapter) -> Self {
        self.adapter = Some(Arc::new(adapter));
        self
    }

    /// Turns room history on: every message sent to a room or a user gets a position in the
    /// room's one order, and the room keeps its recent messages within `limits` (read them
    /// with [`Recipients::history`](crate::Recipients::history)). Off by default; the history
    /// lives where the adapter keeps it (this process's memory, or Redis). See
    /// [`history`](crate::history).
    pub fn history(mut self, limits: crate::history::HistoryLimits) -> Self {
        self.config.history = Some(limits);
        self
    }

    /// Turns connection recovery on (with its window) or off ([`Recovery::off`]): a client
    /// that asks for it at its handshake and comes back within the window, to this process or
    /// another, gets its session and every room message it missed, or an explicit gap. Off by
    /// default. Turns room history on too, with the recovery's limits unless
    /// [`history`](Server::history) set others. See [`recovery`](crate::recovery).
    ///
    /// [`Recovery::off`]: crate::recovery::Recovery::off
    pub fn recovery(mut self, recovery: crate::recovery::Recovery) -> Self {
        self.config.recovery = recovery.window;
        if recovery.window.is_some() && self.config.history.is_none() {
            self.config.history = Some(recovery.history);
        }
        self
    }

    /// The most rooms one connection may be in at once. Default: 128. Joining more answers
    /// [`HubError::TooManyRooms`](crate::HubError::TooManyRooms).
    pub fn max_rooms_per_connection(mut self, rooms: usize) -> Self {
        if rooms == 0 {
            self.reject(
                "max_rooms_per_connection",
                "allow at least 1 room".to_owned(),
            );
        }
        self.config.max_rooms_per_connection = rooms;
        self
    }

    /// The most bytes queued for one connection and not yet written. Default: 512 KiB. With
    /// the message bound of [`outbound_queue`](Server::outbound_queue), this caps what a client
    /// that stops reading can make the server hold.
    pub fn outbound_queue_bytes(mut self, bytes: usize) -> Self {
        if bytes < 1024 {
            self.reject(
                "outbound_queue_bytes",
                format!("{bytes} bytes is too small; use at least 1024"),
            );
        }
        self.config.outbound_queue_bytes = bytes;
        self
    }

    /// What to do with a client whose outbound queue is full when a hub message (room,
    /// broadcast, direct) arrives for it. Default: [`SlowConsumerPolicy::Disconnect`].
    pub fn slow_consumer(mut self, policy: SlowConsumerPolicy) -> Self {
        self.config.slow_consumer = policy;
        self
    }

    /// Pings every `interval` and closes with 1008 a connection that sent nothing (no pong, no
    /// message) for `timeout`. Default: 30 s and 60 s.
    pub fn heartbeat(mut self, interval: Duration, timeout: Duration) -> Self {
        if interval.is_zero() || timeout < interval {
            self.reject(
                "heartbeat",
                "the interval must be positive and the timeout at least the interval".to_owned(),
            );
        }
        self.config.heartbeat = Some(Heartbeat { interval, timeout });
        self
    }

    /// Turns server pings and the silence timeout off.
    pub fn without_heartbeat(mut self) -> Self {
        self.config.heartbeat = None;
        self
    }

    /// The most connections open (or upgrading) at once; beyond it, upgrades are answered
    /// with 503. Default: 10,000. Each connection holds a file descriptor: keep this under the
    /// process's descriptor limit.
    pub fn max_connections(mut self, connections: usize) -> Self {
        if connections == 0 {
            self.reject("max_connections", "allow at least 1 connection".to_owned());
        }
        self.config.max_connections = connections;
        self
    }

    /// Limits each connection to `per_second` messages with bursts of `burst`; excess messages
    /// are answered with `rate_limited`, and a client that goes on sending past the limit (more
    /// than `burst` refused messages in a row) is closed with 1008. Default: no limit, so that
    /// bulk clients and benchmarks are not throttled.
    pub fn rate_limit(mut self, per_second: f64, burst: u32) -> Self {
        if !(per_second > 0.0 && per_second.is_finite()) || burst == 0 {
            self.reject(
                "rate_limit",
                "use a positive rate and a burst of at least 1".to_owned(),
            );
        }
        self.config.rate_limit = Some(RateLimit { per_second, burst });
        self
    }

    /// Runs `middleware` around the dispatch of every message (see [`crate::middleware`]).
    /// The first installed runs first; [`only`](crate::middleware::only) limits one to some
    /// `Type`s.
    ///
    /// ```
    /// use exws::middleware::{only, CallLog, RateLimitPerType};
    ///
    /// let server = exws::Server::new()
    ///     .middleware(CallLog::new())
    ///     .middleware(only(["chat.send"], RateLimitPerType::new(5.0, 10)));
    /// ```
    pub fn middleware(mut self, middleware: impl crate::middleware::Middleware) -> Self {
        self.middleware.push(middleware);
        self
    }

    /// Answers plain HTTP `GET /health` on the server's port with its
    /// [`HealthReport`](crate::HealthReport) in JSON (connections, uptime, adapter state):
    /// 200, or 503 while the adapter cannot reach its backend, so that a load balancer stops
    /// sending new clients. Off by default. For an axum app, see `Endpoint::health_route`.
    ///
    /// ```text
    /// $ curl -i localhost:8765/health
    /// HTTP/1.1 200 OK
    /// {"status":"ok","connections":3,"uptime_seconds":42,"adapter":{"name":"redis","reachable":true}}
    /// ```
    pub fn serve_health(mut self) -> Self {
        self.config.serve_health = true;
        self
    }

    /// Answers plain HTTP `GET /metrics` on the server's port with exws's metrics in
    /// Prometheus's text format (feature `prometheus`; see [`crate::metrics`]). Installs a
    /// Prometheus recorder as the process's metrics recorder at
    /// [`build`](Server::build)/[`bind`](Server::bind), or reuses the one
    /// [`install_prometheus`](crate::metrics::install_prometheus) installed; another recorder
    /// already installed fails the build. Off by default.
    #[cfg(feature = "prometheus")]
    pub fn serve_metrics(mut self) -> Self {
        self.config.serve_metrics = true;
        self
    }

    /// Answers plain HTTP `GET path` (not a WebSocket upgrade) with `body`, e.g. a page that
    /// talks to this server. WebSocket upgrades are served on every path.
    ///
    /// ```
    /// let server = exws::Server::new()
    ///     .http_file("/", "text/html; charset=utf-8", "<script type=module src=/exws.js></script>".as_bytes())
    ///     .serve_browser_client();
    /// ```
    pub fn http_file(
        mut self,
        path: &str,
        content_type: impl Into<Cow<'static, str>>,
        body: impl Into<Cow<'static, [u8]>>,
    ) -> Self {
        if !path.starts_with('/') {
            self.reject(
                "http_file",
                format!("the path {path:?} must start with '/'"),
            );
        }
        let file = StaticFile {
            content_type: content_type.into(),
            body: body.into(),
        };
        self.config.static_files.insert(path.to_owned(), file);
        self
    }

    /// Serves the browser client module (`exws.js`, no dependencies) at `/exws.js`, so that a
    /// page needs nothing else: `import { ExwsClient } from "/exws.js"`.
    pub fn serve_browser_client(self) -> Self {
        self.http_file(
            "/exws.js",
            "text/javascript; charset=utf-8",
            super::static_files::BROWSER_CLIENT.as_bytes(),
        )
    }

    /// Serves `wss://`: [`bind`](Server::bind), [`listen`](Server::listen) and their
    /// `_with_shutdown` forms accept TLS on their listener (feature `tls`). Each connection's
    /// TLS handshake runs in its own task, within the
    /// [handshake timeout](Server::handshake_timeout) together with the HTTP upgrade; a failed
    /// one is logged (at debug), counted (`exws_tls_handshakes_failed_total`) and ends only that
    /// connection. While the server serves, it reloads a certificate made from files when they
    /// change (see [`TlsConfig`](crate::TlsConfig)). Handlers and authenticators see the TLS
    /// session in [`HandshakeRequest::tls`](crate::HandshakeRequest::tls). An [`Endpoint`] from
    /// [`build`](Server::build) serves whatever stream it is given and ignores this.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let tls = exws::TlsConfig::from_pem_files("cert.pem", "key.pem")?;
    /// exws::Server::new().tls(tls).listen("0.0.0.0:8443").await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: super::TlsConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Sends text frames no handler claims to `fallback` instead of answering `unknown_type`.
    #[cfg_attr(not(feature = "gateway"), allow(dead_code))]
    pub(crate) fn fallback(mut self, fallback: super::Fallback) -> Self {
        self.config.fallback = Some(fallback);
        self
    }

    /// Answers plain HTTP `POST` requests with `handler` instead of 405.
    #[cfg_attr(not(feature = "gateway"), allow(dead_code))]
    pub(crate) fn post_handler(mut self, handler: super::PostHandler) -> Self {
        self.config.post_handler = Some(handler);
        self
    }

    fn reject(&mut self, option: &'static str, reason: String) {
        self.invalid
            .get_or_insert(Error::InvalidOption { option, reason });
    }

    /// Checks the handlers and options and binds the listening socket (port 0 picks a free
    /// port; read it with [`BoundServer::local_addr`]).
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
        let adapter = self.adapter.unwrap_or_else(|| Arc::new(InProcess));
        let hub = Hub::new(
            adapter,
            config.max_rooms_per_connection,
            config.history,
            config.recovery,
        );
        let routes = super::Routes::new(
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

    /// Binds `addr` and serves until the process ends.
    pub async fn listen(self, addr: impl ToSocketAddrs) -> Result<(), Error> {
        self.bind(addr).await?.serve().await
    }

    /// Binds `addr` and serves until `signal` completes, then shuts down gracefully: stops
    /// accepting, lets in-flight handlers finish, and closes every connection with 1001.
    pub async fn listen_with_shutdown<F>(
        self,
        addr: impl ToSocketAddrs,
        signal: F,
    ) -> Result<(), Error>
    where
        F: Future + Send,
    {
        self.bind(addr).await?.serve_with_shutdown(signal).await
    }
}
