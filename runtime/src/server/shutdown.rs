//! A ready-made shutdown signal.

/// Completes on Ctrl-C (SIGINT) or, on Unix, SIGTERM: pass it to
/// `with_graceful_shutdown` of [`Server::listen`](crate::Server::listen) or
/// [`BoundServer::serve`](crate::BoundServer::serve).
///
/// If a signal handler cannot be installed, that signal is never awaited (and a warning is
/// logged) rather than ending the server at once.
///
/// # Cancel safety
///
/// Cancel safe: a signal that comes while no future waits is not remembered, so create the
/// future once and keep it (e.g. pass it to `with_graceful_shutdown`).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
