//! Whether a process is gone, and forgetting one of its connections: shared by the sweep and
//! by a direct message that finds its receiver's process gone.

use super::jetstream::JetStream;
use super::subjects::Subjects;
use crate::adapter::AdapterError;
use crate::connection::ConnectionId;
use async_nats::{Client, RequestErrorKind};
use bytes::Bytes;
use std::time::Duration;

/// Whether NATS says nothing subscribes to `node`'s subject (a process that does not answer
/// in time is not taken for gone).
pub(super) async fn is_gone(
    client: &Client,
    subjects: &Subjects,
    node: &str,
    timeout: Duration,
) -> bool {
    let asked = tokio::time::timeout(timeout, client.request(subjects.node(node), Bytes::new()));
    matches!(asked.await, Ok(Err(error)) if error.kind() == RequestErrorKind::NoResponders)
}

/// Removes connection `id` of `node` with its user and every membership, as far as they were
/// written before stream sequence `before`.
pub(super) async fn forget(
    jetstream: &JetStream,
    subjects: &Subjects,
    node: &str,
    id: &ConnectionId,
    before: u64,
) -> Result<(), AdapterError> {
    jetstream
        .purge(&subjects.memberships(id), Some(before))
        .await?;
    jetstream.purge(&subjects.user(id), Some(before)).await?;
    jetstream
        .purge(&subjects.conn(node, id), Some(before))
        .await
}
