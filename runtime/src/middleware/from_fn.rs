//! Middleware from an `async fn`.

use super::{Middleware, Next, Request, Response};
use std::future::Future;

/// A middleware from an `async fn(Request, Next) -> Response` (or a closure returning a
/// future), like axum's `middleware::from_fn`.
///
/// ```
/// use exws::middleware::{from_fn, Next, Request, Response};
///
/// async fn trace_types(request: Request, next: Next) -> Response {
///     let message_type = request.message_type().to_owned();
///     let response = next.run(request).await;
///     tracing::debug!(%message_type, outcome = response.outcome(), "handled");
///     response
/// }
///
/// let server = exws::Server::new().middleware(from_fn(trace_types));
/// ```
pub fn from_fn<F, Fut>(function: F) -> FromFn<F>
where
    F: Fn(Request, Next) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    FromFn(function)
}

/// The middleware [`from_fn`] makes.
#[derive(Clone, Copy)]
pub struct FromFn<F>(F);

impl<F> std::fmt::Debug for FromFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FromFn")
    }
}

impl<F, Fut> Middleware for FromFn<F>
where
    F: Fn(Request, Next) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    fn call(&self, request: Request, next: Next) -> impl Future<Output = Response> + Send {
        (self.0)(request, next)
    }
}
