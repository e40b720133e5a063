//! The default adapter: one process, nothing to tell anyone.

use super::{Adapter, AdapterError, Inbound, Outgoing, PresenceRecord};
use crate::auth::UserId;
use crate::connection::ConnectionId;
use futures_util::future::{self, BoxFuture};
use futures_util::FutureExt;
use std::sync::Arc;

/// The default adapter: every connection is on this process, so the hub's own delivery is the
/// whole delivery. Nothing to configure.
#[derive(Debug, Clone, Copy, Default)]
pub struct InProcess;

impl Adapter for InProcess {
    fn name(&self) -> &'static str {
        "in_process"
    }

    fn start(&self, _inbound: Arc<dyn Inbound>) -> BoxFuture<'_, Result<(), AdapterError>> {
        future::ready(Ok(())).boxed()
    }

    fn connection_opened<'a>(
        &'a self,
        _id: &'a ConnectionId,
        _user: Option<&'a UserId>,
    ) -> BoxFuture<'a, Result<(), AdapterError>> {
        future::ready(Ok(())).boxed()
    }

    fn connection_closed<'a>(
        &'a self,
        _id: &'a ConnectionId,
        _rooms: &'a [String],
    ) -> BoxFuture<'a, Result<(), AdapterError>> {
        future::ready(Ok(())).boxed()
    }

    fn room_joined<'a>(
        &'a self,
        _room: &'a str,
        _id: &'a ConnectionId,
        _first_here: bool,
    ) -> BoxFuture<'a, Result<Option<usize>, AdapterError>> {
        future::ready(Ok(None)).boxed()
    }

    fn room_left<'a>(
        &'a self,
        _room: &'a str,
        _id: &'a ConnectionId,
        _last_here: bool,
    ) -> BoxFuture<'a, Result<(), AdapterError>> {
        future::ready(Ok(())).boxed()
    }

    fn publish(&self, _message: Outgoing) -> BoxFuture<'_, Result<bool, AdapterError>> {
        future::ready(Ok(false)).boxed()
    }

    fn room_members<'a>(
        &'a self,
        _room: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<ConnectionId>>, AdapterError>> {
        future::ready(Ok(None)).boxed()
    }

    // ---- presence ----

    /// Nothing to keep: the hub holds this process's metas, and they are all there is.
    fn connection_meta<'a>(
        &'a self,
        _id: &'a ConnectionId,
        _meta: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<(), AdapterError>> {
        future::ready(Ok(())).boxed()
    }

    /// `None`: this process's members are the whole presence, and the hub answers from them.
    fn presences<'a>(
        &'a self,
        _room: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<PresenceRecord>>, AdapterError>> {
        future::ready(Ok(None)).boxed()
    }
}
