//! Cleaning up after processes that are gone: a process that crashes, is killed or loses its
//! network for good leaves its connections and their memberships in Redis, and member counts
//! would count them for ever. Every process looks, from time to time, for connections whose
//! process has no subscription on Redis any more (a live process always holds one on its own
//! channel) and removes them with their memberships. It also removes its own leftovers: entries
//! of connections that closed here while Redis could not be told.
//!
//! The check and the removal are one Lua script per batch ([`Scripts::remove_owned`]), so a
//! process that reconnects at that moment either is seen alive (nothing is removed) or writes
//! its entries back after the removal (it restores everything on reconnection).

use super::publisher::Health;
use super::scripts::{Owner, Scripts};
use super::subscriber::node_channel;
use crate::adapter::Inbound;
use crate::connection::ConnectionId;
use redis::aio::ConnectionManager;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Connections removed per script call: bounds how long one call holds Redis.
const BATCH: usize = 200;

/// Hash entries asked for per `HSCAN` round trip.
const SCAN_COUNT: usize = 1000;

/// What the sweeping task needs.
pub(super) struct SweeperConfig {
    pub commands: ConnectionManager,
    pub scripts: Scripts,
    pub inbound: Arc<dyn Inbound>,
    pub prefix: String,
    pub node: String,
    pub interval: Duration,
    pub command_timeout: Duration,
    pub health: Arc<Health>,
}

/// Starts the sweeping task; it ends when `stop` is dropped (with the adapter).
pub(super) fn start(config: SweeperConfig) -> oneshot::Sender<()> {
    let (stop, stopped) = oneshot::channel();
    tokio::spawn(run(config, stopped));
    stop
}

async fn run(mut config: SweeperConfig, mut stopped: oneshot::Receiver<()>) {
    // Generous: a sweep is many round trips on a large deployment.
    let limit = config
        .command_timeout
        .checked_mul(30)
        .unwrap_or(Duration::MAX);
    let mut failures_reported = false;
    loop {
        // Jittered by ±25 %, so that processes started together do not sweep together.
        let delay = config.interval.mul_f64(0.75 + fastrand::f64() / 2.0);
        tokio::select! {
            _ = &mut stopped => return,
            () = tokio::time::sleep(delay) => {}
        }
        if !config.health.reachable() {
            continue;
        }
        let failure = match tokio::time::timeout(limit, sweep(&mut config)).await {
            Ok(Ok(0)) => None,
            Ok(Ok(removed)) => {
                tracing::info!(removed, "removed connections of gone processes from Redis");
                None
            }
            Ok(Err(error)) => Some(error.to_string()),
            Err(_) => Some(format!("a sweep took over {limit:?}")),
        };
        match failure {
            // The first failure in a row is worth a warning (e.g. a Redis user without the
            // right to run scripts); the next ones only while debugging.
            Some(reason) if !failures_reported => {
                tracing::warn!(%reason, "sweeping Redis for gone processes failed");
                failures_reported = true;
            }
            Some(reason) => tracing::debug!(%reason, "sweeping Redis failed again"),
            None => failures_reported = false,
        }
    }
}

/// One sweep; returns how many connections it removed.
async fn sweep(config: &mut SweeperConfig) -> redis::RedisResult<usize> {
    let mut by_node = connections_by_node(config).await?;
    let mut removed = 0;

    // This process's leftovers: read after Redis, so that a connection opened meanwhile (added
    // here before it is written to Redis) is known here.
    if let Some(ids) = by_node.remove(&config.node) {
        let open = config.inbound.connections();
        let open: HashSet<&str> = open.iter().map(ConnectionId::as_str).collect();
        let leftovers: Vec<String> = ids
            .into_iter()
            .filter(|id| !open.contains(id.as_str()))
            .collect();
        for batch in leftovers.chunks(BATCH) {
            let owner = Owner::ThisProcess { node: &config.node };
            let count = config
                .scripts
                .remove_owned(&mut config.commands, &config.prefix, owner, batch)
                .await?;
            if let Some(gone) = count {
                removed += gone.len();
                config.inbound.connections_gone(gone);
            }
        }
    }
    if by_node.is_empty() {
        return Ok(removed);
    }

    // Other processes: gone when nobody listens on their channel.
    let mut pipe = redis::pipe();
    for node in by_node.keys() {
        pipe.cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(node_channel(&config.prefix, node));
    }
    let subscribers: Vec<(String, usize)> = pipe.query_async(&mut config.commands).await?;
    for ((node, ids), (channel, count)) in by_node.iter().zip(subscribers) {
        if count > 0 {
            continue;
        }
        for batch in ids.chunks(BATCH) {
            let owner = Owner::Gone {
                channel: &channel,
                node,
            };
            let count = config
                .scripts
                .remove_owned(&mut config.commands, &config.prefix, owner, batch)
                .await?;
            match count {
                Some(gone) => {
                    removed += gone.len();
                    config.inbound.connections_gone(gone);
                }
                // Back (or never gone): leave the rest of its connections alone.
                None => break,
            }
        }
    }
    Ok(removed)
}

/// The connections Redis has, by process.
async fn connections_by_node(
    config: &mut SweeperConfig,
) -> redis::RedisResult<HashMap<String, Vec<String>>> {
    let conns_key = super::keys::conns(&config.prefix);
    let mut by_node: HashMap<String, Vec<String>> = HashMap::new();
    let mut cursor = "0".to_owned();
    loop {
        let (next, flat): (String, Vec<String>) = redis::cmd("HSCAN")
            .arg(&conns_key)
            .arg(&cursor)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .query_async(&mut config.commands)
            .await?;
        for pair in flat.chunks_exact(2) {
            by_node
                .entry(pair[1].clone())
                .or_default()
                .push(pair[0].clone());
        }
        if next == "0" {
            return Ok(by_node);
        }
        cursor = next;
    }
}
