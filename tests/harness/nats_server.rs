//! A real `nats-server` with JetStream for the NATS adapter tests: a child process on
//! `127.0.0.1` and a free port (with its monitoring endpoint on another), that can be stopped,
//! frozen and restarted on the same ports and is killed when the guard is dropped.
//!
//! The NATS tests run in CI (`--all-features`), so a missing `nats-server` fails them with an
//! explanation instead of skipping them.

use super::ports::free_port;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long `nats-server` may take to listen after it was started.
const STARTUP: Duration = Duration::from_secs(10);

/// Serializes port choice and start-up within one test binary.
static STARTING: Mutex<()> = Mutex::new(());

/// A `nats-server -js` child process; killed on drop.
pub struct NatsServer {
    port: u16,
    monitor_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// Why one start attempt failed.
enum StartError {
    PortTaken(String),
    Fatal(String),
}

impl NatsServer {
    /// Starts `nats-server -js` on free ports of 127.0.0.1 and waits until it listens.
    pub fn start() -> NatsServer {
        let _starting = STARTING.lock().unwrap_or_else(|poison| poison.into_inner());
        let mut last = String::new();
        for _ in 0..20 {
            let port = free_port();
            let monitor_port = free_port();
            if monitor_port == port {
                continue;
            }
            let dir =
                std::env::temp_dir().join(format!("exws-nats-test-{}-{port}", std::process::id()));
            let mut server = NatsServer {
                port,
                monitor_port,
                dir,
                child: None,
            };
            match server.spawn() {
                Ok(()) => return server,
                Err(StartError::PortTaken(log)) => last = log,
                Err(StartError::Fatal(message)) => panic!("{message}"),
            }
        }
        panic!("nats-server found no free port in 20 attempts; its last log:\n{last}");
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (as a crash would) and waits for the process to end.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server (`SIGSTOP`): connections stay open but nothing is answered.
    pub fn pause(&mut self) {
        self.signal("STOP");
    }

    /// Lets a [paused](NatsServer::pause) server go on (`SIGCONT`).
    pub fn resume(&mut self) {
        self.signal("CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("nats-server is running");
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap_or_else(|error| panic!("cannot run `kill -{signal}`: {error}"));
        assert!(status.success(), "`kill -{signal}` failed: {status}");
    }

    /// Starts the server again on the same ports (stopping it first if it runs), with an empty
    /// store (everything JetStream held is lost), and waits until it listens.
    pub fn restart(&mut self) {
        self.stop();
        let _starting = STARTING.lock().unwrap_or_else(|poison| poison.into_inner());
        let deadline = Instant::now() + STARTUP;
        loop {
            match self.spawn() {
                Ok(()) => return,
                Err(StartError::PortTaken(_)) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(StartError::PortTaken(log)) => panic!(
                    "nats-server could not listen on port {} again; its log:\n{log}",
                    self.port
                ),
                Err(StartError::Fatal(message)) => panic!("{message}"),
            }
        }
    }

    /// A new client connection to it, to inspect what the adapters stored.
    pub async fn client(&self) -> async_nats::Client {
        tokio::time::timeout(STARTUP, async_nats::connect(self.url()))
            .await
            .expect("connecting to NATS timed out")
            .expect("connect to NATS")
    }

    /// One request on a new connection, its reply's JSON.
    pub async fn request_json(&self, subject: &str, body: serde_json::Value) -> serde_json::Value {
        let client = self.client().await;
        let reply = tokio::time::timeout(
            STARTUP,
            client.request(subject.to_owned(), body.to_string().into()),
        )
        .await
        .expect("a NATS request timed out")
        .unwrap_or_else(|error| panic!("NATS request on {subject} failed: {error}"));
        serde_json::from_slice(&reply.payload).expect("a JSON reply")
    }

    /// GET `path` on the monitoring endpoint, its JSON.
    pub fn monitor(&self, path: &str) -> serde_json::Value {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.monitor_port));
        let mut stream = TcpStream::connect_timeout(&addr, STARTUP).expect("reach the monitor");
        let _ = stream.set_read_timeout(Some(STARTUP));
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .expect("ask the monitor");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .expect("read the monitor's answer");
        let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        serde_json::from_str(body)
            .unwrap_or_else(|error| panic!("the monitor's {path} is not JSON ({error}): {body}"))
    }

    /// Every subscription's subject, one entry per subscription (`/connz?subs=1`).
    pub fn subscriptions(&self) -> Vec<String> {
        let connz = self.monitor("/connz?subs=1&limit=10000");
        connz["connections"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|connection| {
                connection["subscriptions_list"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|subject| subject.as_str().map(str::to_owned))
            })
            .collect()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("nats.log")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts the process on `self.port` and waits until its ports file names that port.
    fn spawn(&mut self) -> Result<(), StartError> {
        let _ = std::fs::remove_dir_all(&self.dir);
        std::fs::create_dir_all(self.dir.join("store"))
            .unwrap_or_else(|error| panic!("cannot create {}: {error}", self.dir.display()));
        let spawned = Command::new("nats-server")
            .args(["-a", "127.0.0.1"])
            .args(["-p", &self.port.to_string()])
            .args(["-m", &self.monitor_port.to_string()])
            .arg("-js")
            .arg("-sd")
            .arg(self.dir.join("store"))
            .arg("-l")
            .arg(self.log_path())
            .arg("--ports_file_dir")
            .arg(&self.dir)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) if error.kind() == ErrorKind::NotFound => {
                return Err(StartError::Fatal(
                    "`nats-server` is not on PATH: the NATS adapter tests (feature `nats`, run \
                     by `cargo test --all-features`) need a real NATS with JetStream. Install it \
                     (e.g. `apt-get install nats-server`) or run without `--features nats`."
                        .to_owned(),
                ))
            }
            Err(error) => {
                return Err(StartError::Fatal(format!(
                    "cannot start `nats-server`: {error}"
                )))
            }
        };
        let ports_file = self.dir.join(format!("nats-server_{}.ports", child.id()));
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
                        "nats-server on port {} exited at start-up ({status}); its log:\n{log}",
                        self.port
                    ))
                });
            }
            let listening = std::fs::read_to_string(&ports_file)
                .is_ok_and(|ports| ports.contains(&format!("127.0.0.1:{}", self.port)));
            if listening && self.log().contains("Server is ready") {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(StartError::Fatal(format!(
                    "nats-server on port {} did not listen within {STARTUP:?}; its log:\n{}",
                    self.port,
                    self.log()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.resume();
        }
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
