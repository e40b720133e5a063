//! What the server runs besides its handlers: hooks, middleware, the
//! adapter, and the gateway's extension points.

use crate::adapter::Adapter;
use crate::context::Context;
use crate::hooks::HandlerFailure;
use crate::server::builder::Server;
use crate::server::{Fallback, PostHandler};
use crate::session::DisconnectReason;
use std::future::Future;
use std::sync::Arc;

impl Server {
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

    /// The adapter that carries hub messages between processes. Default:
    /// [`InProcess`](crate::adapter::InProcess) (one process). With [`RedisAdapter`](crate::adapter::RedisAdapter)
    /// (feature `redis`), every process on the same Redis acts as one server.
    pub fn adapter(mut self, adapter: impl Adapter) -> Self {
        self.adapter = Some(Arc::new(adapter));
        self
    }

    /// Sends text frames no handler claims to `fallback` instead of answering `unknown_type`.
    #[cfg_attr(not(feature = "gateway"), allow(dead_code))]
    pub(crate) fn fallback(mut self, fallback: Fallback) -> Self {
        self.config.fallback = Some(fallback);
        self
    }

    /// Answers plain HTTP `POST` requests with `handler` instead of 405.
    #[cfg_attr(not(feature = "gateway"), allow(dead_code))]
    pub(crate) fn post_handler(mut self, handler: PostHandler) -> Self {
        self.config.post_handler = Some(handler);
        self
    }

    /// Turns presence on: every join and leave of an application room is sent to the room's
    /// watchers as a `PresenceDiff`, and clients may open the built-in `PresenceWatch` stream
    /// (see `docs/PROTOCOL.md`, "Presence"), with `config`'s access rule and each
    /// connection's meta. Off by default: then no diff is sent, `PresenceWatch` is a `Type`
    /// like any other (a handler may take it), and
    /// [`Hub::presence`](crate::Hub::presence) lists rooms with `null` metas.
    ///
    /// With presence on, no handler may observe `PresenceWatch` ([`bind`](Server::bind)
    /// fails).
    pub fn presence(mut self, config: crate::hub::PresenceConfig) -> Self {
        self.config.presence = Some(config);
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
}
