//! Cleaning up after processes that are gone: a process that crashes, is killed or loses its
//! network leaves its connections and their memberships in Redis, and member counts would count
//! them for ever. Every process looks, from time to time, for connections whose process has no
//! subscription on Redis any more (a live process always holds one on its own channel) and
//! removes them with their memberships.
//!
//! The check and the removal are one Lua script per batch, so a process that reconnects at that
//! moment either is seen alive (nothing is removed) or writes its entries back after the
//! removal (it restores everything on reconnection). A connection id that another process holds
//! by now (an application-chosen id that reconnected elsewhere) is left alone.

use super::publisher::Health;
use super::subscriber::node_channel;
use redis::aio::ConnectionManager;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Connections removed per script call: bounds how long one call holds Redis.
const BATCH: usize = 200;

/// Hash entries asked for per `HSCAN` round trip.
const SCAN_COUNT: usize = 1000;

/// Removes the connections of a gone process: `KEYS[1]` is the connection hash; `ARGV` is the
/// process's channel, its node id, the key prefix, then the connection ids. Returns how many
/// were removed, or -1 if the process is alive.
const REMOVE_GONE: &str = r"
local alive = redis.call('PUBSUB', 'NUMSUB', ARGV[1])
if tonumber(alive[2]) ~= 0 then
  return -1
end
local removed = 0
for i = 4, #ARGV do
  local id = ARGV[i]
  if redis.call('HGET', KEYS[1], id) == ARGV[2] then
    local rooms_key = ARGV[3] .. ':connrooms:' .. id
    local rooms = redis.call('SMEMBERS', rooms_key)
    for _, room in ipairs(rooms) do
      redis.call('SREM', ARGV[3] .. ':room:' .. room, id)
    end
    redis.call('DEL', rooms_key)
    redis.call('HDEL', KEYS[1], id)
    removed = removed + 1
  end
end
return removed
";

/// What the sweeping task needs.
pub(super) struct SweeperConfig {
    pub commands: ConnectionManager,
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
    let script = redis::Script::new(REMOVE_GONE);
    loop {
        // Jittered, so that processes started together do not sweep together.
        let delay = config.interval.mul_f64(0.75 + fastrand::f64() / 2.0);
        tokio::select! {
            _ = &mut stopped => return,
            () = tokio::time::sleep(delay) => {}
        }
        if !config.health.reachable() {
            continue;
        }
        // Generous: a sweep is many round trips on a large deployment.
        let limit = config.command_timeout * 30;
        match tokio::time::timeout(limit, sweep(&mut config, &script)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(removed)) => {
                tracing::info!(removed, "removed connections of gone processes from Redis");
            }
            Ok(Err(error)) => tracing::debug!(%error, "sweeping Redis failed"),
            Err(_) => tracing::debug!("sweeping Redis timed out"),
        }
    }
}

/// One sweep; returns how many connections it removed.
async fn sweep(config: &mut SweeperConfig, script: &redis::Script) -> redis::RedisResult<usize> {
    let conns_key = format!("{}:conns", config.prefix);
    let by_node = other_nodes_connections(config, &conns_key).await?;
    if by_node.is_empty() {
        return Ok(0);
    }
    let mut pipe = redis::pipe();
    for node in by_node.keys() {
        pipe.cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(node_channel(&config.prefix, node));
    }
    let subscribers: Vec<(String, usize)> = pipe.query_async(&mut config.commands).await?;
    let mut removed = 0;
    for ((node, ids), (_, count)) in by_node.iter().zip(subscribers) {
        if count > 0 {
            continue;
        }
        for batch in ids.chunks(BATCH) {
            let mut call = script.key(&conns_key);
            call.arg(node_channel(&config.prefix, node))
                .arg(node)
                .arg(&config.prefix)
                .arg(batch);
            let outcome: i64 = call.invoke_async(&mut config.commands).await?;
            if outcome < 0 {
                // Back (or never gone): leave the rest of its connections alone.
                break;
            }
            removed += usize::try_from(outcome).unwrap_or(0);
        }
    }
    Ok(removed)
}

/// The connections Redis has for processes other than this one, by process.
async fn other_nodes_connections(
    config: &mut SweeperConfig,
    conns_key: &str,
) -> redis::RedisResult<HashMap<String, Vec<String>>> {
    let mut by_node: HashMap<String, Vec<String>> = HashMap::new();
    let mut cursor = "0".to_owned();
    loop {
        let (next, flat): (String, Vec<String>) = redis::cmd("HSCAN")
            .arg(conns_key)
            .arg(&cursor)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .query_async(&mut config.commands)
            .await?;
        for pair in flat.chunks_exact(2) {
            let (id, node) = (&pair[0], &pair[1]);
            if *node != config.node {
                by_node.entry(node.clone()).or_default().push(id.clone());
            }
        }
        if next == "0" {
            return Ok(by_node);
        }
        cursor = next;
    }
}
