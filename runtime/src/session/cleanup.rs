//! The end of a session, owned in one place: whatever ends it (a close, a failure, a dropped
//! server future, a task aborted at the shutdown timeout), the disconnect hooks run exactly
//! once and the hub (with its adapter) forgets the connection.

use super::DisconnectReason;
use crate::server::Shared;
use crate::Context;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Owns the end of one session. [`Cleanup::finish`] runs it on the normal path; dropping the
/// guard without finishing (the session's future was dropped) runs it too, in a task of its
/// own, with the reason recorded by [`Cleanup::ending`], or [`DisconnectReason::Aborted`] if
/// the session was still serving.
pub(super) struct Cleanup {
    parts: Option<(Context, Arc<Shared>)>,
    /// Why the session ends, once known: what the hooks hear if the session is dropped while
    /// it is still closing.
    reason: Option<DisconnectReason>,
}

impl Cleanup {
    /// Takes charge of the end of the session of `context`, before it is registered anywhere.
    pub(super) fn new(context: Context, shared: Arc<Shared>) -> Self {
        Cleanup {
            parts: Some((context, shared)),
            reason: None,
        }
    }

    /// Records why the session ends, before it closes (which may take a while).
    pub(super) fn ending(&mut self, reason: &DisconnectReason) {
        self.reason = Some(reason.clone());
    }

    /// Runs the cleanup for `reason` and waits for it. It runs in a task of its own, so that
    /// dropping this future midway does not cut it short (nor run it twice).
    pub(super) async fn finish(mut self, reason: DisconnectReason) {
        if let Some(parts) = self.parts.take() {
            if let Some(task) = spawn(parts, reason) {
                let _ = task.await;
            }
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(parts) = self.parts.take() {
            let reason = self.reason.take().unwrap_or(DisconnectReason::Aborted);
            spawn(parts, reason);
        }
    }
}

/// Starts the cleanup: the disconnect hooks (for at most the handler grace period), then the
/// hub forgets the connection. Without a runtime to run it (the runtime itself is going away),
/// only this process's hub is cleaned, at once.
fn spawn((context, shared): (Context, Arc<Shared>), reason: DisconnectReason) -> Option<JoinHandle<()>> {
    let connection = context.connection().clone();
    connection.mark_closed();
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
        shared.hub.unregister(connection.id()).await;
        tracing::debug!(id = %connection.id(), %reason, "connection closed");
    }))
}
