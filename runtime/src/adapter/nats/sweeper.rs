//! Cleaning up after processes that are gone: a process that crashes, is killed or loses its
//! network for good leaves its entries in the state stream, and member counts would count its
//! connections for ever. Every process looks, from time to time, for connections whose process
//! no longer answers on its subject (NATS says "no responders" at once: a live process always
//! subscribes to it) and removes them with their users and memberships. It also removes its own
//! leftovers: entries of connections that closed here while NATS could not be told.
//!
//! A removal is a purge of the entries written before the stream sequence read at the start of
//! the sweep: a process that reconnects meanwhile subscribes before it writes its entries back,
//! so it is either seen alive or its entries come after that sequence and stay.

use super::gone;
use super::jetstream::JetStream;
use super::subjects::Subjects;
use crate::adapter::{AdapterError, Inbound};
use crate::connection::ConnectionId;
use async_nats::Client;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// What sweeping needs.
pub(super) struct SweeperConfig {
    pub client: Client,
    pub inbound: Arc<dyn Inbound>,
    pub subjects: Subjects,
    pub node: String,
    pub interval: Duration,
    pub command_timeout: Duration,
}

/// When the next sweep is due, and whether the last one failed.
pub(super) struct Sweeping {
    due: Instant,
    failures_reported: bool,
}

impl Sweeping {
    pub(super) fn new(config: &SweeperConfig) -> Self {
        Sweeping {
            due: Instant::now() + jittered(config.interval),
            failures_reported: false,
        }
    }

    /// Waits until the next sweep is due.
    pub(super) async fn next(&self) {
        tokio::time::sleep_until(self.due).await;
    }

    /// Sweeps once (if NATS is reachable), and sets the next one.
    pub(super) async fn sweep(&mut self, config: &SweeperConfig) {
        self.due = Instant::now() + jittered(config.interval);
        if config.client.connection_state() != async_nats::connection::State::Connected {
            return;
        }
        // Generous: a sweep is many round trips on a large deployment.
        let limit = config.command_timeout.saturating_mul(30);
        let failure = match tokio::time::timeout(limit, sweep(config)).await {
            Ok(Ok(0)) => None,
            Ok(Ok(removed)) => {
                tracing::info!(removed, "removed connections of gone processes from NATS");
                None
            }
            Ok(Err(error)) => Some(error.to_string()),
            Err(_) => Some(format!("a sweep took over {limit:?}")),
        };
        match failure {
            Some(reason) if !self.failures_reported => {
                tracing::warn!(%reason, "sweeping NATS for gone processes failed");
                self.failures_reported = true;
            }
            Some(reason) => tracing::debug!(%reason, "sweeping NATS failed again"),
            None => self.failures_reported = false,
        }
    }
}

/// Jittered by ±25 %, so that processes started together do not sweep together.
fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.75 + fastrand::f64() / 2.0)
}

/// One sweep; returns how many connections it removed.
async fn sweep(config: &SweeperConfig) -> Result<usize, AdapterError> {
    let jetstream = JetStream::new(
        config.client.clone(),
        config.subjects.stream(),
        config.command_timeout,
    );
    let listed = jetstream.subjects(&config.subjects.conns()).await?;
    let mut by_node: HashMap<String, Vec<ConnectionId>> = HashMap::new();
    for subject in &listed.names {
        if let Some((node, id)) = config.subjects.parse_conn(subject) {
            by_node.entry(node).or_default().push(id);
        }
    }
    let before = listed.last_seq + 1;
    let mut removed = 0;

    // This process's leftovers: read after NATS, so that a connection opened meanwhile (added
    // here before it is written to NATS) is known here.
    if let Some(ids) = by_node.remove(&config.node) {
        let open: HashSet<ConnectionId> = config.inbound.connections().into_iter().collect();
        for id in ids.iter().filter(|id| !open.contains(*id)) {
            gone::forget(&jetstream, &config.subjects, &config.node, id, before).await?;
            removed += 1;
        }
    }

    // Other processes: gone when nothing answers on their subject.
    for (node, ids) in by_node {
        if !gone::is_gone(
            &config.client,
            &config.subjects,
            &node,
            config.command_timeout,
        )
        .await
        {
            continue;
        }
        for id in &ids {
            gone::forget(&jetstream, &config.subjects, &node, id, before).await?;
            removed += 1;
        }
    }
    Ok(removed)
}
