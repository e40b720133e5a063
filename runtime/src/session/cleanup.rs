//! The end of a session, owned in one place: whatever ends it (a close, a failure, a dropped
//! server future, a task aborted at the shutdown timeout), the disconnect hooks run exactly
//! once and the hub (with its adapter) forgets the connection.

use super::DisconnectReason;
use crate::context::Context;
use crate::server::Shared;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Owns the end of one session. [`Cleanup::finish`] runs it on the normal path; dropping the
/// guard without finishing (the session's future was dropped) runs it too, in a task of its
/// own, with the reason the connection recorded, or [`DisconnectReason::Aborted`] if no close
/// was asked for yet (the session was still serving).
pub(super) struct Cleanup {
    parts: Option<(Context, Arc<Shared>)>,
}

impl Cleanup {
    /// Takes charge of the end of the session of `context`, before it is registered anywhere.
    pub(super) fn new(context: Context, shared: Arc<Shared>) -> Self {
        Cleanup {
            parts: Some((context, shared)),
        }
    }

    /// Runs the cleanup for the reason the connection recorded and waits for it. It runs in a
    /// task of its own, so that dropping this future midway does not cut it short (nor run it
    /// twice).
    pub(super) async fn finish(mut self) {
        if let Some(parts) = self.parts.take() {
            if let Some(task) = spawn(parts) {
                let _ = task.await;
            }
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(parts) = self.parts.take() {
            // Only recorded if no close was asked for before the session was dropped.
            parts
                .0
                .connection()
                .close_because(DisconnectReason::Aborted);
            spawn(parts);
        }
    }
}

/// Starts the cleanup: the disconnect hooks (for at most the handler grace period), then the
/// hub forgets the connection. Without a runtime to run it (the runtime itself is going away),
/// only this process's hub is cleaned, at once.
fn spawn((context, shared): (Context, Arc<Shared>)) -> Option<JoinHandle<()>> {
    let connection = context.connection().clone();
    connection.stop_queueing();
    let reason = connection
        .close_reason()
        .cloned()
        .unwrap_or(DisconnectReason::Aborted);
    crate::metrics::connection_closed(reason.label());
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        shared.hub.forget_here(connection.id());
        return None;
    };
    Some(runtime.spawn(async move {
        let hooks = shared.hooks.disconnected(&context, &reason);
        if tokio::time::timeout(shared.config.handler_grace, hooks)
            .await
            .is_err()
        {
            tracing::warn!(
                id = %connection.id(),
                "a disconnect hook ran past the handler grace period and was cancelled"
            );
        }
        // A recoverable session: its record as it is (before its rooms are left), kept for
        // the recovery window unless it closed for good.
        let keeps = connection
            .recover()
            .and_then(|_| crate::recovery::keeps_session(&reason));
        let record = match keeps {
            Some(true) => shared.hub.session_record(&connection),
            _ => None,
        };
        shared.hub.unregister(connection.id()).await;
        match (keeps, record) {
            (Some(true), Some(record)) => shared.hub.store_record(&connection, record).await,
            (Some(false), _) => shared.hub.discard_session(&connection).await,
            _ => {}
        }
        tracing::debug!(id = %connection.id(), %reason, "connection closed");
    }))
}
