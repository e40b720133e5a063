//! What the gateway tests share: a gateway on free ports, WebSocket clients, raw TCP
//! backends (for malformed lines and precise control), and the real PyPI `pystrands` client as
//! a backend (`gateway_backend.py`, run by the virtual environment `scripts/test` makes).

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use exws::gateway::{Gateway, GatewayConfig, GatewayStatus};
use exws::{Hub, Server};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The longest any step of a test waits for something that must happen.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Options of a test gateway: the backend port on a free loopback port.
pub fn test_config() -> GatewayConfig {
    GatewayConfig::default().backend_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
}

/// A gateway serving on free ports until dropped.
pub struct TestGateway {
    pub ws: SocketAddr,
    pub backend: SocketAddr,
    pub hub: Hub,
    pub status: GatewayStatus,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts a gateway without Rust handlers.
pub async fn start(config: GatewayConfig) -> TestGateway {
    start_with(Server::with_handlers([]), config).await
}

/// Starts a gateway on `server`.
pub async fn start_with(server: Server, config: GatewayConfig) -> TestGateway {
    let bound = Gateway::new(config)
        .bind(server, "127.0.0.1:0")
        .await
        .expect("the gateway binds");
    let (stop, stopped) = oneshot::channel::<()>();
    let gateway = TestGateway {
        ws: bound.ws_addr(),
        backend: bound.backend_addr(),
        hub: bound.hub(),
        status: bound.status(),
        stop: Some(stop),
    };
    tokio::spawn(
        bound
            .serve()
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .into_future(),
    );
    gateway
}

impl TestGateway {
    /// Waits until `count` backends are connected.
    pub async fn wait_backends(&self, count: usize) {
        eventually(|| self.status.backends() == count).await;
    }
}

/// Waits until `condition` holds (checked every 10 ms, for at most [`PATIENCE`]).
pub async fn eventually(condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the condition never held"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A WebSocket client of the gateway.
pub struct Client {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// Connects to `ws://addr{path}` with extra headers; `Err(status)` when the handshake is
/// refused.
pub async fn try_connect(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Client, u16> {
    let mut request = format!("ws://{addr}{path}")
        .into_client_request()
        .expect("a valid URL");
    for (name, value) in headers {
        request.headers_mut().insert(
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                .expect("a valid header name"),
            value.parse().expect("a valid header value"),
        );
    }
    let connecting = tokio_tungstenite::connect_async(request);
    match tokio::time::timeout(PATIENCE, connecting).await {
        Ok(Ok((socket, _))) => Ok(Client { socket }),
        Ok(Err(WsError::Http(response))) => Err(response.status().as_u16()),
        Ok(Err(error)) => panic!("connecting failed: {error}"),
        Err(_) => panic!("the handshake hung"),
    }
}

/// Connects as client `id` (header `X-Client-Id`) in `room`.
pub async fn connect(addr: SocketAddr, id: &str, room: &str) -> Client {
    match try_connect(addr, &format!("/ws/{room}"), &[("X-Client-Id", id)]).await {
        Ok(client) => client,
        Err(status) => panic!("{id} was refused with {status}"),
    }
}

impl Client {
    pub async fn send(&mut self, text: &str) {
        self.socket
            .send(Message::text(text))
            .await
            .expect("the gateway takes the message");
    }

    /// The next text frame.
    pub async fn next_text(&mut self) -> String {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a message arrives in time");
            match frame {
                Some(Ok(Message::Text(text))) => return text.as_str().to_owned(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Waits until the gateway closes the connection.
    pub async fn closed(&mut self) {
        loop {
            match tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("the connection closes in time")
            {
                None | Some(Err(_) | Ok(Message::Close(_))) => return,
                Some(Ok(_)) => continue,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
        while let Ok(Some(Ok(_))) = tokio::time::timeout(PATIENCE, self.socket.next()).await {}
    }
}

/// A backend speaking the protocol by hand over a raw TCP socket.
pub struct RawBackend {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl RawBackend {
    pub async fn connect(addr: SocketAddr) -> RawBackend {
        let stream = TcpStream::connect(addr)
            .await
            .expect("the backend port accepts");
        Self::over(stream)
    }

    /// Connects with a small, fixed receive buffer (`bytes`, no autotuning), so that a backend
    /// that stops reading fills the gateway's side after a few megabytes instead of tens.
    pub async fn connect_with_receive_buffer(addr: SocketAddr, bytes: u32) -> RawBackend {
        let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
        socket
            .set_recv_buffer_size(bytes)
            .expect("SO_RCVBUF can be set");
        let stream = socket
            .connect(addr)
            .await
            .expect("the backend port accepts");
        Self::over(stream)
    }

    fn over(stream: TcpStream) -> RawBackend {
        let (read, writer) = stream.into_split();
        RawBackend {
            reader: BufReader::new(read),
            writer,
        }
    }

    /// The next line from the gateway, heartbeats included; `None` when it closed.
    pub async fn next_line(&mut self) -> Option<Value> {
        let mut line = String::new();
        let read = tokio::time::timeout(PATIENCE, self.reader.read_line(&mut line))
            .await
            .expect("a line arrives in time")
            .expect("the socket reads");
        if read == 0 {
            return None;
        }
        Some(
            serde_json::from_str(&line)
                .unwrap_or_else(|error| panic!("not JSON ({error}): {line:?}")),
        )
    }

    /// The next event that is not a heartbeat.
    pub async fn next_event(&mut self) -> Value {
        loop {
            let line = self
                .next_line()
                .await
                .expect("the gateway keeps the backend");
            if line["action"] != "heartbeat" {
                return line;
            }
        }
    }

    /// The next event, which must be `action`.
    pub async fn expect(&mut self, action: &str) -> Value {
        let event = self.next_event().await;
        assert_eq!(event["action"], action, "{event}");
        event
    }

    pub async fn send(&mut self, line: Value) {
        self.send_raw(format!("{line}\n").as_bytes()).await;
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.writer
            .write_all(bytes)
            .await
            .expect("the gateway reads");
    }

    /// Answers the next `connection_request`, admitting `client_id` into `room`.
    pub async fn admit(&mut self, client_id: &str, room: &str) {
        let request = self.expect("connection_request").await;
        self.send(json!({
            "request_id": request["request_id"],
            "action": "response",
            "params": {"accepted": true, "client_id": client_id, "room_id": room, "metadata": {}},
        }))
        .await;
    }

    /// Waits until the gateway closes this backend's socket (reading what it still sends).
    pub async fn closed(&mut self) {
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(PATIENCE, self.reader.read_to_end(&mut sink))
            .await
            .expect("the gateway closes the backend in time");
    }

    pub fn into_parts(self) -> (BufReader<OwnedReadHalf>, OwnedWriteHalf) {
        (self.reader, self.writer)
    }
}

/// Connects a raw backend and answers `client_id`'s handshake with it, in `room`.
pub async fn admitted(
    gateway: &TestGateway,
    backend: &mut RawBackend,
    client_id: &str,
    room: &str,
) -> Client {
    let addr = gateway.ws;
    let id = client_id.to_owned();
    let room_path = room.to_owned();
    let connecting = tokio::spawn(async move { connect(addr, &id, &room_path).await });
    backend.admit(client_id, room).await;
    let client = connecting.await.expect("the client task runs");
    let event = backend.expect("new_connection").await;
    assert_eq!(event["params"]["context"]["client_id"], client_id);
    client
}

/// The Python of the virtual environment with `pystrands==1.0.0` (`EXWS_TEST_PYTHON`, else
/// `target/pyenv/bin/python`, which `scripts/test` makes).
fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("EXWS_TEST_PYTHON") {
        return PathBuf::from(python);
    }
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test (it makes the virtual environment with pystrands==1.0.0), \
         or set EXWS_TEST_PYTHON",
        python.display()
    );
    python
}

/// The real PyPI `pystrands` client as a backend (`gateway_backend.py`), killed on drop.
pub struct PyBackend {
    child: tokio::process::Child,
    events: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl PyBackend {
    /// Starts it against `gateway` and waits until it is connected.
    pub async fn start(gateway: &TestGateway) -> PyBackend {
        let before = gateway.status.backends();
        let backend = PyBackend::start_on(gateway.backend.port()).await;
        gateway.wait_backends(before + 1).await;
        backend
    }

    /// Starts it against the backend port `port` of 127.0.0.1; returns once it connected.
    pub async fn start_on(port: u16) -> PyBackend {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/harness/gateway_backend.py");
        let mut child = tokio::process::Command::new(python())
            .arg(script)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut backend = PyBackend {
            child,
            events: BufReader::new(stdout).lines(),
        };
        assert_eq!(backend.next_event().await["event"], "ready");
        backend
    }

    /// The next event the backend printed.
    pub async fn next_event(&mut self) -> Value {
        let line = tokio::time::timeout(PATIENCE, self.events.next_line())
            .await
            .expect("the backend prints in time")
            .expect("stdout reads")
            .expect("the backend runs");
        serde_json::from_str(&line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"))
    }

    /// The next event, which must be `event`.
    pub async fn expect(&mut self, event: &str) -> Value {
        let printed = self.next_event().await;
        assert_eq!(printed["event"], event, "{printed}");
        printed
    }

    /// Kills the backend (its socket closes).
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A free TCP port of 127.0.0.1 (free when asked; the caller binds it soon after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// `exws gateway` as an OS process, killed on drop.
pub struct GatewayProcess {
    child: std::process::Child,
    pub ws: SocketAddr,
    pub backend: SocketAddr,
}

impl GatewayProcess {
    /// Runs `cli gateway --ws-port .. --tcp-port .. extra...` and waits until both ports
    /// accept; starts again on other ports when a chosen port was taken meanwhile.
    pub async fn start(cli: &std::path::Path, extra: &[&str]) -> GatewayProcess {
        for _ in 0..5 {
            if let Some(gateway) = GatewayProcess::try_start(cli, extra).await {
                return gateway;
            }
        }
        panic!("exws gateway never started (see its stderr above)");
    }

    async fn try_start(cli: &std::path::Path, extra: &[&str]) -> Option<GatewayProcess> {
        let (ws_port, tcp_port) = (free_port(), free_port());
        let child = std::process::Command::new(cli)
            .arg("gateway")
            .args([
                "--ws-port",
                &ws_port.to_string(),
                "--tcp-port",
                &tcp_port.to_string(),
            ])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .expect("the CLI starts");
        let mut gateway = GatewayProcess {
            child,
            ws: SocketAddr::from(([127, 0, 0, 1], ws_port)),
            backend: SocketAddr::from(([127, 0, 0, 1], tcp_port)),
        };
        let deadline = tokio::time::Instant::now() + PATIENCE;
        for addr in [gateway.ws, gateway.backend] {
            while TcpStream::connect(addr).await.is_err() {
                if matches!(gateway.child.try_wait(), Ok(Some(_))) {
                    return None;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "exws gateway never listened on {addr}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Some(gateway)
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
