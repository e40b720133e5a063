//! The distributed engines (Redis, NATS) behind one interface, so that one adapter suite runs
//! against each: an [`Engine`] starts its real server ([`Backend`]), builds adapters on it,
//! stops, freezes and restarts it, and reads what the adapters stored there (connections,
//! members, subscriptions) through each engine's documented layout.
//!
//! A suite is written once as `async fn test(engine: Engine)` and instantiated per engine by
//! [`engine_tests!`](crate::engine_tests): `redis::test` and `nats::test`, each under its
//! cargo feature.

#[cfg(feature = "nats")]
use super::nats_server::NatsServer;
#[cfg(feature = "redis")]
use super::redis_server::RedisServer;
use exws::Server;
use std::time::Duration;

/// One engine of the adapter contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    #[cfg(feature = "redis")]
    Redis,
    #[cfg(feature = "nats")]
    Nats,
}

/// Adapter settings both engines have.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The key or subject prefix (`exws` when `None`).
    pub prefix: Option<String>,
    pub command_timeout: Option<Duration>,
    pub reconnect_backoff: Option<(Duration, Duration)>,
    pub publish_queue_bytes: Option<usize>,
    pub publish_queue: Option<usize>,
    pub sweep_interval: Option<Duration>,
}

impl Settings {
    /// The defaults but the prefix.
    pub fn prefix(prefix: &str) -> Settings {
        Settings {
            prefix: Some(prefix.to_owned()),
            ..Settings::default()
        }
    }
}

/// `config` (a `RedisAdapterConfig` or a `NatsAdapterConfig`: the engines' configs share these
/// setters) with what `settings` set.
macro_rules! apply_settings {
    ($config:expr, $settings:expr) => {{
        let (mut config, settings) = ($config, $settings);
        if let Some(timeout) = settings.command_timeout {
            config = config.command_timeout(timeout);
        }
        if let Some((min, max)) = settings.reconnect_backoff {
            config = config.reconnect_backoff(min, max);
        }
        if let Some(bytes) = settings.publish_queue_bytes {
            config = config.publish_queue_bytes(bytes);
        }
        if let Some(messages) = settings.publish_queue {
            config = config.publish_queue(messages);
        }
        if let Some(interval) = settings.sweep_interval {
            config = config.sweep_interval(interval);
        }
        config
    }};
}

/// A real server of an engine, started for one test.
pub enum Backend {
    #[cfg(feature = "redis")]
    Redis(RedisServer),
    #[cfg(feature = "nats")]
    Nats(NatsServer),
}

/// A prefix no other test uses (a plain token, valid for every engine).
pub fn unique_prefix(test: &str) -> String {
    format!("exws-test-{}-{test}", std::process::id())
}

/// The prefix `settings` stand for.
fn prefix_of(settings: &Settings) -> String {
    settings.prefix.clone().unwrap_or_else(|| "exws".to_owned())
}

impl Engine {
    /// The adapter's name in the health report.
    pub fn adapter_name(self) -> &'static str {
        match self {
            #[cfg(feature = "redis")]
            Engine::Redis => "redis",
            #[cfg(feature = "nats")]
            Engine::Nats => "nats",
        }
    }

    /// Starts the engine's server.
    pub fn start(self) -> Backend {
        match self {
            #[cfg(feature = "redis")]
            Engine::Redis => Backend::Redis(RedisServer::start()),
            #[cfg(feature = "nats")]
            Engine::Nats => Backend::Nats(NatsServer::start()),
        }
    }
}

impl Backend {
    /// The engine.
    pub fn engine(&self) -> Engine {
        match self {
            #[cfg(feature = "redis")]
            Backend::Redis(_) => Engine::Redis,
            #[cfg(feature = "nats")]
            Backend::Nats(_) => Engine::Nats,
        }
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        match self {
            #[cfg(feature = "redis")]
            Backend::Redis(redis) => redis.url(),
            #[cfg(feature = "nats")]
            Backend::Nats(nats) => nats.url(),
        }
    }

    /// The environment variable that points the examples (and `exws gateway`) at it, with its
    /// value: `EXWS_REDIS_URL` or `EXWS_NATS_URL`.
    pub fn env(&self) -> (&'static str, String) {
        match self {
            #[cfg(feature = "redis")]
            Backend::Redis(redis) => ("EXWS_REDIS_URL", redis.url()),
            #[cfg(feature = "nats")]
            Backend::Nats(nats) => ("EXWS_NATS_URL", nats.url()),
        }
    }

    /// The `exws gateway` flag for it: `--redis` or `--nats`.
    pub fn gateway_flag(&self) -> &'static str {
        match self {
            #[cfg(feature = "redis")]
            Backend::Redis(_) => "--redis",
            #[cfg(feature = "nats")]
            Backend::Nats(_) => "--nats",
        }
    }

    /// `server` with an adapter of this engine built from `settings`, and the adapter's node id.
    pub fn attach(&self, server: Server, settings: &Settings) -> (Server, String) {
        match self {
            #[cfg(feature = "redis")]
            Backend::Redis(redis) => {
                use exws::adapter::{RedisAdapter, RedisAdapterConfig};
                let config = RedisAdapterConfig::new(redis.url()).prefix(prefix_of(settings));
                let config = apply_settings!(config, settings);
                let adapter = RedisAdapter::with_config(config).expect("a valid Redis URL");
                let node = adapter.node_id().to_owned();
                (server.adapter(adapter), node)
            }
            #[cfg(feature = "nats")]
            Backend::Nats(nats) => {
                use exws::adapter::{NatsAdapter, NatsAdapterConfig};
                let config = NatsAdapterConfig::new(nats.url()).prefix(prefix_of(settings));
                let config = apply_settings!(config, settings);
                let adapter = NatsAdapter::with_config(config).expect("valid NATS settings");
                let node = adapter.node_id().to_owned();
                (server.adapter(adapter), node)
            }
        }
    }

    /// `server` with an adapter of this engine on `prefix`, default settings otherwise.
    pub fn adapter(&self, server: Server, prefix: &str) -> Server {
        self.attach(server, &Settings::prefix(prefix)).0
    }

    /// Kills the server; everything it held is lost.
    pub fn stop(&mut self) {
        match self {
            #[cfg(feature = "redis")]
            Backend::Redis(redis) => redis.stop(),
            #[cfg(feature = "nats")]
            Backend::Nats(nats) => nats.stop(),
        }
    }

    /// Starts the server again, empty, on the same port.
    pub fn restart(&mut self) {
        match self {
            #[cfg(feature = "redis")]
            Backend::Redis(redis) => redis.restart(),
            #[cfg(feature = "nats")]
            Backend::Nats(nats) => nats.restart(),
        }
    }

    /// Freezes the server (`SIGSTOP`).
    pub fn pause(&mut self) {
        match self {
            #[cfg(feature = "redis")]
            Backend::Redis(redis) => redis.pause(),
            #[cfg(feature = "nats")]
            Backend::Nats(nats) => nats.pause(),
        }
    }

    /// Lets a frozen server go on (`SIGCONT`).
    pub fn resume(&mut self) {
        match self {
            #[cfg(feature = "redis")]
            Backend::Redis(redis) => redis.resume(),
            #[cfg(feature = "nats")]
            Backend::Nats(nats) => nats.resume(),
        }
    }

    /// The connections the backend knows, sorted.
    pub async fn connections(&self, prefix: &str) -> Vec<String> {
        match self {
            #[cfg(feature = "redis")]
            Backend::Redis(redis) => redis.hash_keys(&format!("{prefix}:conns")).await,
            #[cfg(feature = "nats")]
            Backend::Nats(nats) => {
                let subjects =
                    nats_subjects(nats, prefix, &format!("{prefix}.state.conn.*.*")).await;
                sorted(subjects.iter().filter_map(|subject| last_token(subject)))
            }
        }
    }

    /// The connections with a user the backend knows, sorted.
    pub async fn connections_with_users(&self, prefix: &str) -> Vec<String> {
        match self {
            #[cfg(feature = "redis")]
            Backend::Redis(redis) => redis.hash_keys(&format!("{prefix}:connusers")).await,
            #[cfg(feature = "nats")]
            Backend::Nats(nats) => {
                let subjects = nats_subjects(nats, prefix, &format!("{prefix}.state.user.*")).await;
                sorted(subjects.iter().filter_map(|subject| last_token(subject)))
            }
        }
    }

    /// The members of `room` the backend knows, sorted.
    pub async fn room_members(&self, prefix: &str, room: &str) -> Vec<String> {
        match self {
            #[cfg(feature = "redis")]
            Backend::Redis(redis) => redis.set_members(&format!("{prefix}:room:{room}")).await,
            #[cfg(feature = "nats")]
            Backend::Nats(nats) => {
                let filter = format!("{prefix}.state.member.{}.*", token(room));
                let subjects = nats_subjects(nats, prefix, &filter).await;
                sorted(subjects.iter().filter_map(|subject| last_token(subject)))
            }
        }
    }

    /// The rooms the backend has connection `id` in, sorted.
    pub async fn rooms_of(&self, prefix: &str, id: &str) -> Vec<String> {
        match self {
            #[cfg(feature = "redis")]
            Backend::Redis(redis) => redis.set_members(&format!("{prefix}:connrooms:{id}")).await,
            #[cfg(feature = "nats")]
            Backend::Nats(nats) => {
                let filter = format!("{prefix}.state.member.*.{}", token(id));
                let subjects = nats_subjects(nats, prefix, &filter).await;
                sorted(subjects.iter().filter_map(|subject| {
                    let mut tokens = subject.rsplit('.');
                    tokens.next();
                    untoken(tokens.next()?)
                }))
            }
        }
    }

    /// How many subscriptions follow `room`'s messages (one per process with members there).
    pub async fn room_subscribers(&self, prefix: &str, room: &str) -> usize {
        match self {
            #[cfg(feature = "redis")]
            Backend::Redis(redis) => {
                redis
                    .subscribers(&format!("{prefix}:msg:room:{room}"))
                    .await
            }
            #[cfg(feature = "nats")]
            Backend::Nats(nats) => {
                let subject = format!("{prefix}.room.{}", token(room));
                nats.subscriptions()
                    .iter()
                    .filter(|each| **each == subject)
                    .count()
            }
        }
    }

    /// Whether process `node` listens for its direct messages.
    pub async fn listens_for_node(&self, prefix: &str, node: &str) -> bool {
        match self {
            #[cfg(feature = "redis")]
            Backend::Redis(redis) => {
                redis
                    .subscribers(&format!("{prefix}:msg:node:{node}"))
                    .await
                    > 0
            }
            #[cfg(feature = "nats")]
            Backend::Nats(nats) => nats
                .subscriptions()
                .contains(&format!("{prefix}.node.{node}")),
        }
    }

    /// Writes the entries of a connection `id` held by process `node`, in `rooms`, as an
    /// adapter does (each engine's documented layout).
    pub async fn plant_connection(&self, prefix: &str, id: &str, node: &str, rooms: &[&str]) {
        match self {
            #[cfg(feature = "redis")]
            Backend::Redis(redis) => {
                let _: () = redis
                    .query(
                        redis::cmd("HSET")
                            .arg(format!("{prefix}:conns"))
                            .arg(id)
                            .arg(node),
                    )
                    .await;
                for room in rooms {
                    let _: () = redis
                        .query(
                            redis::cmd("SADD")
                                .arg(format!("{prefix}:room:{room}"))
                                .arg(id),
                        )
                        .await;
                    let _: () = redis
                        .query(
                            redis::cmd("SADD")
                                .arg(format!("{prefix}:connrooms:{id}"))
                                .arg(*room),
                        )
                        .await;
                }
            }
            #[cfg(feature = "nats")]
            Backend::Nats(nats) => {
                let mut subjects = vec![format!("{prefix}.state.conn.{node}.{}", token(id))];
                for room in rooms {
                    subjects.push(format!(
                        "{prefix}.state.member.{}.{}",
                        token(room),
                        token(id)
                    ));
                }
                for subject in subjects {
                    let ack = nats.request_json(&subject, serde_json::Value::Null).await;
                    assert!(ack.get("error").is_none(), "writing {subject}: {ack}");
                }
            }
        }
    }
}

/// The subjects of the state stream of `prefix` that match `filter` (documented layout:
/// stream `{prefix}-state`).
#[cfg(feature = "nats")]
async fn nats_subjects(nats: &NatsServer, prefix: &str, filter: &str) -> Vec<String> {
    let info = nats
        .request_json(
            &format!("$JS.API.STREAM.INFO.{prefix}-state"),
            serde_json::json!({ "subjects_filter": filter }),
        )
        .await;
    if info.get("error").is_some() {
        // No stream (yet, or after a restart): nothing stored.
        return Vec::new();
    }
    info["state"]["subjects"]
        .as_object()
        .map(|subjects| subjects.keys().cloned().collect())
        .unwrap_or_default()
}

/// A name as one NATS subject token (the adapter's documented rule: itself when it is only
/// ASCII letters, digits, `-` and `_`, else `~` and its bytes in hex).
#[cfg(feature = "nats")]
pub fn token(raw: &str) -> String {
    let plain = !raw.is_empty()
        && raw
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if plain {
        return raw.to_owned();
    }
    let hex: String = raw.bytes().map(|byte| format!("{byte:02x}")).collect();
    format!("~{hex}")
}

#[cfg(feature = "nats")]
fn untoken(token: &str) -> Option<String> {
    let Some(hex) = token.strip_prefix('~') else {
        return Some(token.to_owned());
    };
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(hex.get(at..at + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

#[cfg(feature = "nats")]
fn last_token(subject: &str) -> Option<String> {
    untoken(subject.rsplit('.').next()?)
}

fn sorted(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut items: Vec<String> = items.collect();
    items.sort();
    items
}

/// Instantiates engine-generic tests (`async fn name(engine: Engine)`) once per engine:
/// `redis::name` (feature `redis`) and `nats::name` (feature `nats`), each a multi-threaded
/// tokio test.
#[macro_export]
macro_rules! engine_tests {
    ($($name:ident),* $(,)?) => {
        #[cfg(feature = "redis")]
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::harness::engine::Engine::Redis).await;
                }
            )*
        }
        #[cfg(feature = "nats")]
        mod nats {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::harness::engine::Engine::Nats).await;
                }
            )*
        }
    };
}
