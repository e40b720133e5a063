//! The request a handler of a recoverable connection is answering: its `Id` and `Type`, so
//! that a room subscription it opens is recorded in the session.

use std::future::Future;

tokio::task_local! {
    static CURRENT: (String, String);
}

/// The `Id` (JSON text) and `Type` of the request being handled, inside
/// [`with_request`].
pub(crate) fn current_request() -> Option<(String, String)> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Runs `future` (a handler) with `request` (its `Id` and `Type`) as the current request.
pub(crate) async fn with_request<F: Future>(request: (String, String), future: F) -> F::Output {
    CURRENT.scope(request, future).await
}
