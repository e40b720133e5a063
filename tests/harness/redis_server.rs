//! A real `redis-server` for the Redis adapter tests: a child process on `127.0.0.1` and a
//! free port, without persistence, that can be stopped and restarted on the same port and is
//! killed when the guard is dropped.
//!
//! The Redis tests run in CI (`--all-features`), so a missing `redis-server` fails them with
//! an explanation instead of skipping them.

use super::ports::free_port;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long `redis-server` may take to answer `PING` after it was started.
const STARTUP: Duration = Duration::from_secs(10);

/// Serializes port choice and start-up within one test binary, so that two tests never pick
/// the same port.
static STARTING: Mutex<()> = Mutex::new(());

/// A `redis-server` child process; killed on drop.
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// Why one start attempt failed.
enum StartError {
    /// The port was taken: try another (or wait for it).
    PortTaken(String),
    /// Anything else: the test cannot go on.
    Fatal(String),
}

impl RedisServer {
    /// Starts `redis-server` on a free port of 127.0.0.1 and waits until it answers `PING`.
    pub fn start() -> RedisServer {
        let _starting = STARTING.lock().unwrap_or_else(|poison| poison.into_inner());
        let mut last = String::new();
        for _ in 0..20 {
            let port = free_port();
            let dir =
                std::env::temp_dir().join(format!("exws-redis-test-{}-{port}", std::process::id()));
            std::fs::create_dir_all(&dir)
                .unwrap_or_else(|error| panic!("cannot create {}: {error}", dir.display()));
            let mut server = RedisServer {
                port,
                dir,
                child: None,
            };
            match server.spawn() {
                Ok(()) => return server,
                Err(StartError::PortTaken(log)) => last = log,
                Err(StartError::Fatal(message)) => panic!("{message}"),
            }
        }
        panic!("redis-server found no free port in 20 attempts; its last log:\n{last}");
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (as a crash would) and waits for the process to end. Everything it
    /// held is lost: it has no persistence.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server (`SIGSTOP`): connections stay open but nothing is answered, as in a
    /// network partition or an overloaded Redis. Undo with [`resume`](RedisServer::resume).
    pub fn pause(&mut self) {
        self.signal("STOP");
    }

    /// Lets a [paused](RedisServer::pause) server go on (`SIGCONT`), with its data intact.
    pub fn resume(&mut self) {
        self.signal("CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("redis-server is running");
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap_or_else(|error| panic!("cannot run `kill -{signal}`: {error}"));
        assert!(status.success(), "`kill -{signal}` failed: {status}");
    }

    /// Starts the server again on the same port (stopping it first if it runs), empty, and
    /// waits until it answers `PING`.
    pub fn restart(&mut self) {
        self.stop();
        let _starting = STARTING.lock().unwrap_or_else(|poison| poison.into_inner());
        let deadline = Instant::now() + STARTUP;
        loop {
            match self.spawn() {
                Ok(()) => return,
                Err(StartError::PortTaken(log)) if Instant::now() < deadline => {
                    // The old socket may linger a moment; anything else on the port is fatal
                    // once the deadline passes.
                    let _ = log;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(StartError::PortTaken(log)) => panic!(
                    "redis-server could not listen on port {} again: another process took it; \
                     its log:\n{log}",
                    self.port
                ),
                Err(StartError::Fatal(message)) => panic!("{message}"),
            }
        }
    }

    /// A new connection to it, to inspect what the adapters stored.
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.url()).expect("a valid Redis URL");
        tokio::time::timeout(STARTUP, client.get_multiplexed_async_connection())
            .await
            .expect("connecting to Redis timed out")
            .expect("connect to Redis")
    }

    /// Runs one command on a new connection.
    pub async fn query<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> T {
        let mut connection = self.connection().await;
        tokio::time::timeout(STARTUP, command.query_async(&mut connection))
            .await
            .expect("a Redis command timed out")
            .unwrap_or_else(|error| panic!("Redis command failed: {error}"))
    }

    /// How many clients subscribe to `channel` (`PUBSUB NUMSUB`).
    pub async fn subscribers(&self, channel: &str) -> usize {
        let (_channel, count): (String, usize) = self
            .query(redis::cmd("PUBSUB").arg("NUMSUB").arg(channel))
            .await;
        count
    }

    /// How many times the server ran `command` (e.g. `"pubsub|numsub"`, as `INFO commandstats`
    /// names it; Redis before 7 names subcommands by their command only): a marker that
    /// something polling Redis has run.
    pub async fn command_calls(&self, command: &str) -> u64 {
        let stats: String = self.query(redis::cmd("INFO").arg("commandstats")).await;
        let older = command.split('|').next().unwrap_or(command);
        [command, older]
            .iter()
            .find_map(|name| {
                let line = stats
                    .lines()
                    .find(|line| line.starts_with(&format!("cmdstat_{name}:")))?;
                let calls = line.split("calls=").nth(1)?.split(',').next()?;
                calls.parse().ok()
            })
            .unwrap_or(0)
    }

    /// The channels with at least one subscriber that match `pattern`, sorted
    /// (`PUBSUB CHANNELS`).
    pub async fn channels(&self, pattern: &str) -> Vec<String> {
        let mut channels: Vec<String> = self
            .query(redis::cmd("PUBSUB").arg("CHANNELS").arg(pattern))
            .await;
        channels.sort();
        channels
    }

    /// The members of a set, sorted (`SMEMBERS`).
    pub async fn set_members(&self, key: &str) -> Vec<String> {
        let mut members: Vec<String> = self.query(redis::cmd("SMEMBERS").arg(key)).await;
        members.sort();
        members
    }

    /// The fields of a hash, sorted (`HKEYS`).
    pub async fn hash_keys(&self, key: &str) -> Vec<String> {
        let mut keys: Vec<String> = self.query(redis::cmd("HKEYS").arg(key)).await;
        keys.sort();
        keys
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("redis.log")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts the process on `self.port` and waits until it answers `PING` as itself.
    fn spawn(&mut self) -> Result<(), StartError> {
        let _ = std::fs::remove_file(self.log_path());
        let spawned = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.log_path())
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) if error.kind() == ErrorKind::NotFound => {
                return Err(StartError::Fatal(
                    "`redis-server` is not on PATH: the Redis adapter tests (feature `redis`, \
                     run by `cargo test --all-features`) need a real Redis. Install it (e.g. \
                     `apt-get install redis-server`) or run without `--features redis`."
                        .to_owned(),
                ))
            }
            Err(error) => {
                return Err(StartError::Fatal(format!(
                    "cannot start `redis-server`: {error}"
                )))
            }
        };
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                let log = format!("{}{stderr}", self.log());
                return Err(if log.contains("in use") {
                    StartError::PortTaken(log)
                } else {
                    StartError::Fatal(format!(
                        "redis-server on port {} exited at start-up ({status}); its log:\n{log}",
                        self.port
                    ))
                });
            }
            if answers_ping_as(self.port, child.id()) {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(StartError::Fatal(format!(
                    "redis-server on port {} did not answer PING within {STARTUP:?}; its log:\n{}",
                    self.port,
                    self.log()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // A paused server must be able to die.
        if self.child.is_some() {
            self.resume();
        }
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the Redis on `port` answers `PING` and is the process `pid` (not another test's
/// server that won a race for the port).
fn answers_ping_as(port: u16, pid: u32) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"PING\r\nINFO server\r\n").is_err() {
        return false;
    }
    // Read until the INFO reply is complete: "+PONG\r\n$<len>\r\n<text>\r\n".
    let mut reply = Vec::new();
    let mut buffer = [0; 4096];
    while !info_complete(&reply) {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return false,
            Ok(read) => reply.extend_from_slice(&buffer[..read]),
        }
    }
    let reply = String::from_utf8_lossy(&reply);
    reply.starts_with("+PONG\r\n")
        && reply
            .lines()
            .any(|line| line.trim() == format!("process_id:{pid}"))
}

/// Whether `reply` holds a `+PONG` and the whole bulk string that follows it.
fn info_complete(reply: &[u8]) -> bool {
    let text = String::from_utf8_lossy(reply);
    let Some(rest) = text.strip_prefix("+PONG\r\n") else {
        // An error, or not there yet: complete once a line ended.
        return text.contains("\r\n") && !text.starts_with("+PONG");
    };
    let Some((length, body)) = rest
        .strip_prefix('$')
        .and_then(|rest| rest.split_once("\r\n"))
    else {
        return false;
    };
    length
        .parse::<usize>()
        .map_or(true, |length| body.len() >= length + 2)
}
