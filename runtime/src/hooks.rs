//! Lifecycle hooks: code that runs when a connection opens, when it closes, and when a
//! handler fails. Registered with builder methods of [`Server`](crate::Server).

use crate::context::Context;
use crate::handler::Handler;
use crate::protocol::ErrorCode;
use crate::session::DisconnectReason;
use futures_util::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

type HookFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
type ConnectHook = Arc<dyn Fn(Context) -> HookFuture + Send + Sync>;
type DisconnectHook = Arc<dyn Fn(Context, DisconnectReason) -> HookFuture + Send + Sync>;
type FailureHook = Arc<dyn Fn(HandlerFailure) -> HookFuture + Send + Sync>;

/// A handler that failed: returned `Err`, panicked, or its reply could not be serialized.
#[derive(Debug, Clone)]
pub struct HandlerFailure {
    pub(crate) context: Context,
    pub(crate) handler: &'static Handler,
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
}

impl HandlerFailure {
    /// The connection's context.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The handler that failed.
    pub fn handler(&self) -> &'static Handler {
        self.handler
    }

    /// `handler_error` or `handler_panic`.
    pub fn code(&self) -> ErrorCode {
        self.code.clone()
    }

    /// The error text the client was sent (for a panic, the panic message, which the client
    /// was not sent).
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Every hook of a server, run in the order they were added.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    connect: Vec<ConnectHook>,
    disconnect: Vec<DisconnectHook>,
    failure: Vec<FailureHook>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("connect", &self.connect.len())
            .field("disconnect", &self.disconnect.len())
            .field("failure", &self.failure.len())
            .finish()
    }
}

impl Hooks {
    pub(crate) fn add_connect<F, Fut>(&mut self, hook: F)
    where
        F: Fn(Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.connect
            .push(Arc::new(move |context| Box::pin(hook(context))));
    }

    pub(crate) fn add_disconnect<F, Fut>(&mut self, hook: F)
    where
        F: Fn(Context, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.disconnect.push(Arc::new(move |context, reason| {
            Box::pin(hook(context, reason))
        }));
    }

    pub(crate) fn add_failure<F, Fut>(&mut self, hook: F)
    where
        F: Fn(HandlerFailure) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.failure
            .push(Arc::new(move |failure| Box::pin(hook(failure))));
    }

    pub(crate) async fn connected(&self, context: &Context) {
        for hook in &self.connect {
            guard("connect", || hook(context.clone())).await;
        }
    }

    pub(crate) async fn disconnected(&self, context: &Context, reason: &DisconnectReason) {
        for hook in &self.disconnect {
            guard("disconnect", || hook(context.clone(), reason.clone())).await;
        }
    }

    pub(crate) fn has_failure_hooks(&self) -> bool {
        !self.failure.is_empty()
    }

    pub(crate) async fn failed(&self, failure: HandlerFailure) {
        for hook in &self.failure {
            guard("handler failure", || hook(failure.clone())).await;
        }
    }
}

/// Runs a hook; a panic in it is logged and does not reach the connection.
async fn guard(kind: &'static str, start: impl FnOnce() -> HookFuture) {
    let result = match std::panic::catch_unwind(AssertUnwindSafe(start)) {
        Ok(future) => AssertUnwindSafe(future).catch_unwind().await,
        Err(panic) => Err(panic),
    };
    if result.is_err() {
        tracing::error!(hook = kind, "a lifecycle hook panicked");
    }
}
