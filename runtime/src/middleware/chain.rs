//! The middleware trait, the stack a server keeps, and [`Next`], the rest of the stack.

use super::{Request, Response};
use crate::protocol::CloseCode;
use crate::server::Shared;
use futures_util::future::BoxFuture;
use std::future::Future;
use std::sync::Arc;

/// Code around the dispatch of every message (or of the `Type`s chosen with
/// [`only`](super::only)).
///
/// `call` either answers itself, or passes the request on with `next.run(request)` and
/// returns (or inspects, or replaces) what that gives back.
///
/// ```
/// use exws::middleware::{Middleware, Next, Request, Response};
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// /// Counts the messages that got an `Error` back.
/// #[derive(Default)]
/// struct CountErrors(AtomicU64);
///
/// impl Middleware for CountErrors {
///     async fn call(&self, request: Request, next: Next) -> Response {
///         let response = next.run(request).await;
///         if response.error_code().is_some() {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///         response
///     }
/// }
///
/// let server = exws::Server::new().middleware(CountErrors::default());
/// ```
pub trait Middleware: Send + Sync + 'static {
    /// Handles one message: answer, or call `next.run(request)`.
    fn call(&self, request: Request, next: Next) -> impl Future<Output = Response> + Send;
}

/// A middleware as the server stores it.
trait ErasedMiddleware: Send + Sync {
    fn call(&self, request: Request, next: Next) -> BoxFuture<'_, Response>;
}

impl<M: Middleware> ErasedMiddleware for M {
    fn call(&self, request: Request, next: Next) -> BoxFuture<'_, Response> {
        Box::pin(Middleware::call(self, request, next))
    }
}

/// The middleware of a server, outermost first.
#[derive(Default)]
pub(crate) struct Stack(Vec<Box<dyn ErasedMiddleware>>);

impl Stack {
    pub(crate) fn push(&mut self, middleware: impl Middleware) {
        self.0.push(Box::new(middleware));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("middleware", &self.0.len())
            .finish()
    }
}

/// The rest of the middleware stack, then the message's handlers.
pub struct Next {
    shared: Arc<Shared>,
    position: usize,
}

impl std::fmt::Debug for Next {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Next")
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl Next {
    /// Passes the request to the next middleware, or to the handlers of its `Type` after the
    /// last one, and returns what became of it. The handlers' replies, errors and streams are
    /// on their way to the client when this returns.
    pub async fn run(self, request: Request) -> Response {
        let Next { shared, position } = self;
        match shared.middleware.0.get(position) {
            Some(middleware) => {
                let next = Next {
                    shared: shared.clone(),
                    position: position + 1,
                };
                middleware.call(request, next).await
            }
            None => {
                let started = std::time::Instant::now();
                let handled = crate::session::dispatch_handlers(
                    request.message_type(),
                    request.data(),
                    request.id(),
                    request.context(),
                    &shared,
                )
                .await;
                Response::handled(handled, started.elapsed())
            }
        }
    }
}

/// Runs a message through the server's middleware (not empty), then carries out an answer
/// given in place: the `Error` envelope, or the close.
pub(crate) async fn run(request: Request, shared: &Arc<Shared>) {
    let connection = request.connection().clone();
    let message_type = request.shared_type();
    let id = request.shared_id();
    let next = Next {
        shared: shared.clone(),
        position: 0,
    };
    match next.run(request).await.into_answer() {
        None => {}
        Some(Err((code, reason))) => {
            if let Err(error) = connection.close_with(code, &reason) {
                tracing::warn!(%error, "a middleware asked for an invalid close; closing with 1008");
                let _ = connection.close_with(CloseCode::POLICY, "closed by the server");
            }
        }
        Some(Ok((code, message))) => {
            crate::session::send_error(
                &connection,
                code,
                message,
                Some(&message_type),
                id.as_deref(),
            )
            .await;
        }
    }
}
