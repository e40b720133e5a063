//! Helpers of the production-limit tests (`tests/limits.rs`, `tests/heartbeat.rs`,
//! `tests/slow_consumer.rs`, `tests/shutdown_load.rs`): a server on a loopback port that
//! reports its connections and disconnect reasons, a WebSocket client that can show pings, raw
//! TCP for clients that misbehave below the WebSocket layer, and the process's resident memory.
//!
//! Every await that depends on the server is bounded by [`STEP`]: a bug fails the test instead
//! of hanging it.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use exws::{BoundServer, Connection, ConnectionId, DisconnectReason, Hub, Server};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// The longest one step of a test may take before the test fails. Generous: the limits under
/// test are fractions of a second, and a loaded CI machine must not turn into a failure.
pub const STEP: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test with `what` if it takes longer than [`STEP`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    within_for(STEP, what, future).await
}

/// Awaits `future`, failing the test with `what` if it takes longer than `limit`.
pub async fn within_for<F: Future>(limit: Duration, what: &str, future: F) -> F::Output {
    match tokio::time::timeout(limit, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

/// A server bound to `127.0.0.1:0` and served with `serve_with_shutdown` in a background task,
/// with hooks that report every opened connection and every disconnect reason.
pub struct Running {
    addr: SocketAddr,
    hub: Hub,
    trigger: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), exws::Error>>>,
    /// Every connection, as it opens.
    pub opened: mpsc::UnboundedReceiver<Connection>,
    /// Every connection's id and disconnect reason, as it closes.
    pub closed: mpsc::UnboundedReceiver<(ConnectionId, DisconnectReason)>,
}

/// Adds the reporting hooks to `server`, binds it and serves it.
pub async fn start(server: Server) -> Running {
    let (opened_tx, opened) = mpsc::unbounded_channel();
    let (closed_tx, closed) = mpsc::unbounded_channel();
    let server = server
        .on_connect(move |context| {
            let _ = opened_tx.send(context.connection().clone());
            async {}
        })
        .on_disconnect(move |context, reason| {
            let _ = closed_tx.send((context.connection().id().clone(), reason));
            async {}
        });
    let bound: BoundServer = within("bind", server.bind("127.0.0.1:0"))
        .await
        .expect("the test server binds");
    let addr = bound.local_addr();
    let hub = bound.hub();
    let (trigger, signal) = oneshot::channel::<()>();
    let task = tokio::spawn(bound.serve_with_shutdown(async move {
        // A dropped trigger shuts down too: a test that forgets cannot leak a server.
        let _ = signal.await;
    }));
    Running {
        addr,
        hub,
        trigger: Some(trigger),
        task: Some(task),
        opened,
        closed,
    }
}

impl Running {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's hub, as `BoundServer::hub` gave it.
    pub fn hub(&self) -> Hub {
        self.hub.clone()
    }

    /// Opens a WebSocket connection and returns it with the server's handle to it.
    pub async fn connect(&mut self) -> (Client, Connection) {
        let client = Client::connect(self.addr).await;
        let connection = self.next_opened().await;
        (client, connection)
    }

    /// The next connection the server opened.
    pub async fn next_opened(&mut self) -> Connection {
        within("the connect hook", self.opened.recv())
            .await
            .expect("the server is running")
    }

    /// The next disconnect the server reported.
    pub async fn next_closed(&mut self) -> (ConnectionId, DisconnectReason) {
        within("the disconnect hook", self.closed.recv())
            .await
            .expect("the server is running")
    }

    /// The next disconnect reason, within `limit`.
    pub async fn next_closed_within(
        &mut self,
        limit: Duration,
    ) -> (ConnectionId, DisconnectReason) {
        within_for(limit, "the disconnect hook", self.closed.recv())
            .await
            .expect("the server is running")
    }

    /// Asserts that no connection has closed so far.
    pub fn assert_none_closed(&mut self) {
        if let Ok((id, reason)) = self.closed.try_recv() {
            panic!("connection {id} closed unexpectedly: {reason:?}");
        }
    }

    /// Triggers the graceful shutdown without waiting for it.
    pub fn trigger_shutdown(&mut self) {
        if let Some(trigger) = self.trigger.take() {
            let _ = trigger.send(());
        }
    }

    /// Waits for `serve_with_shutdown` to return after [`trigger_shutdown`](Self::trigger_shutdown).
    pub async fn stopped(&mut self) -> Result<(), exws::Error> {
        let task = self.task.take().expect("the server is still running");
        within("serve_with_shutdown to return", task)
            .await
            .expect("the server task did not panic")
    }
}

/// What a client read from the server.
#[derive(Debug)]
pub enum Frame {
    Text(String),
    Ping,
    Close(Option<(u16, String)>),
    /// The stream ended or failed without a close frame.
    Ended(Option<String>),
}

/// A WebSocket client (tokio-tungstenite, which answers pings while it reads).
pub struct Client {
    ws: WebSocketStream<TcpStream>,
}

impl Client {
    /// Connects to `ws://addr/`, expecting the upgrade to succeed.
    pub async fn connect(addr: SocketAddr) -> Client {
        match Client::try_connect(addr).await {
            Ok(client) => client,
            Err(status) => panic!("the upgrade was refused with HTTP {status}"),
        }
    }

    /// Connects to `ws://addr/`; `Err(status)` if the server answered the upgrade with an HTTP
    /// error status.
    pub async fn try_connect(addr: SocketAddr) -> Result<Client, u16> {
        let tcp = within("TCP connect", TcpStream::connect(addr))
            .await
            .expect("TCP connect to the test server");
        let upgrade = tokio_tungstenite::client_async(format!("ws://{addr}/"), tcp);
        match within("the WebSocket handshake", upgrade).await {
            Ok((ws, _response)) => Ok(Client { ws }),
            Err(WsError::Http(response)) => Err(response.status().as_u16()),
            Err(error) => panic!("the WebSocket handshake failed: {error}"),
        }
    }

    /// Sends one text frame.
    pub async fn send_text(&mut self, text: impl Into<String>) {
        within(
            "sending a text frame",
            self.ws.send(Message::text(text.into())),
        )
        .await
        .expect("send a text frame");
    }

    /// Sends a JSON value as one text frame.
    pub async fn send_json(&mut self, value: &Value) {
        self.send_text(value.to_string()).await;
    }

    /// Queues a JSON text frame without flushing (pipelining); see [`flush`](Client::flush).
    pub async fn feed_json(&mut self, value: &Value) {
        within(
            "queueing a text frame",
            self.ws.feed(Message::text(value.to_string())),
        )
        .await
        .expect("queue a text frame");
    }

    /// Flushes frames queued with [`feed_json`](Client::feed_json).
    pub async fn flush(&mut self) {
        within("flushing", self.ws.flush())
            .await
            .expect("flush the client's frames");
    }

    /// The next frame, pings included (the client has queued its pong by then).
    pub async fn next_event(&mut self) -> Frame {
        loop {
            let frame = within("the next frame from the server", self.ws.next()).await;
            return match frame {
                None => Frame::Ended(None),
                Some(Err(error)) => Frame::Ended(Some(error.to_string())),
                Some(Ok(Message::Text(text))) => Frame::Text(text.as_str().to_owned()),
                Some(Ok(Message::Ping(_))) => Frame::Ping,
                Some(Ok(Message::Close(frame))) => Frame::Close(
                    frame.map(|frame| (u16::from(frame.code), frame.reason.as_str().to_owned())),
                ),
                Some(Ok(Message::Binary(bytes))) => {
                    panic!("the server sent a binary frame of {} bytes", bytes.len())
                }
                Some(Ok(Message::Pong(_) | Message::Frame(_))) => continue,
            };
        }
    }

    /// The next data or close frame; pings are answered and skipped.
    pub async fn next_frame(&mut self) -> Frame {
        loop {
            match self.next_event().await {
                Frame::Ping => continue,
                other => return other,
            }
        }
    }

    /// The next text frame, parsed.
    pub async fn recv(&mut self) -> Value {
        match self.next_frame().await {
            Frame::Text(text) => serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("the server sent invalid JSON ({error}): {text}")),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// Sends `{"Type", "Data", "Id"}` and returns the next text frame, parsed.
    pub async fn call(&mut self, message_type: &str, data: Value, id: u64) -> Value {
        self.send_json(&json!({ "Type": message_type, "Data": data, "Id": id }))
            .await;
        self.recv().await
    }

    /// Proves the connection still answers requests (with the [`add`] handler).
    pub async fn assert_alive(&mut self) {
        let reply = self.call("Add", json!({ "a": 20, "b": 22 }), 4242).await;
        assert_eq!(
            reply,
            json!({ "Type": "Sum", "Data": { "sum": 42 }, "Id": 4242 }),
            "the connection still answers requests"
        );
    }

    /// Expects the next data or close frame to be a close frame with `code`; returns its reason.
    pub async fn expect_close(&mut self, code: u16) -> String {
        match self.next_frame().await {
            Frame::Close(Some((received, reason))) => {
                assert_eq!(received, code, "close code (reason {reason:?})");
                reason
            }
            other => panic!("expected a close frame with code {code}, got {other:?}"),
        }
    }

    /// Sends a normal close and reads until the server's answer ends the stream.
    pub async fn close(mut self) {
        within("sending a close frame", self.ws.close(None))
            .await
            .expect("send a close frame");
        loop {
            match self.next_frame().await {
                Frame::Ended(_) => return,
                Frame::Close(_) | Frame::Text(_) | Frame::Ping => continue,
            }
        }
    }
}

/// `Add` requests, answered by [`add`] with a `Sum`.
#[derive(Debug, Deserialize)]
pub struct Add {
    pub a: i64,
    pub b: i64,
}

/// The reply of [`add`].
#[derive(Debug, Serialize)]
pub struct Sum {
    pub sum: i64,
}

/// A cheap handler to prove a connection still works.
#[exws::message]
pub async fn add(request: Add) -> Sum {
    Sum {
        sum: request.a.wrapping_add(request.b),
    }
}

/// An HTTP upgrade request head for `addr`, with RFC 6455's example key.
pub fn upgrade_request(addr: SocketAddr) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// Upgrades a raw TCP connection by hand and returns it after the `101`: a client that reads
/// and writes frames only when the test says so (it never answers a ping by itself).
pub async fn raw_upgrade(addr: SocketAddr) -> TcpStream {
    let mut tcp = within("TCP connect", TcpStream::connect(addr))
        .await
        .expect("TCP connect");
    within(
        "writing the upgrade",
        tcp.write_all(upgrade_request(addr).as_bytes()),
    )
    .await
    .expect("write the upgrade request");
    let head = read_http_head(&mut tcp).await;
    assert!(
        head.starts_with("HTTP/1.1 101 "),
        "expected 101 Switching Protocols, got {head}"
    );
    tcp
}

/// Reads an HTTP response head byte by byte (nothing after it), up to the blank line.
pub async fn read_http_head(tcp: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = within("the HTTP response head", tcp.read(&mut byte))
            .await
            .expect("read the HTTP response head");
        assert_eq!(
            read,
            1,
            "the server closed in the middle of the response head: {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Sends `request` on a new TCP connection and returns the server's whole answer (read until
/// the server closes).
pub async fn http_exchange(addr: SocketAddr, request: &[u8]) -> std::io::Result<String> {
    let mut tcp = within("TCP connect", TcpStream::connect(addr)).await?;
    within("writing the request", tcp.write_all(request)).await?;
    let mut response = Vec::new();
    within("the HTTP response", tcp.read_to_end(&mut response)).await?;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// The status code of an HTTP response.
pub fn status_of(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {response:?}"))
}

/// WebSocket opcodes.
pub const TEXT: u8 = 0x1;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// A frame the server sent, read from a raw socket.
#[derive(Debug)]
pub struct RawFrame {
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// The code and reason of a close frame.
    pub fn close_code(&self) -> Option<(u16, String)> {
        if self.opcode != CLOSE || self.payload.len() < 2 {
            return None;
        }
        let code = u16::from_be_bytes([self.payload[0], self.payload[1]]);
        Some((
            code,
            String::from_utf8_lossy(&self.payload[2..]).into_owned(),
        ))
    }
}

/// Reads one (unmasked, unfragmented) server frame from a raw socket; `None` at the end of the
/// stream (or a reset) before a frame starts.
pub async fn read_raw_frame(tcp: &mut TcpStream) -> Option<RawFrame> {
    let mut head = [0u8; 2];
    match tcp.read_exact(&mut head).await {
        Ok(_) => {}
        Err(_) => return None,
    }
    assert_eq!(head[1] & 0x80, 0, "server frames are not masked");
    let len = match head[1] & 0x7f {
        126 => {
            let mut len = [0u8; 2];
            tcp.read_exact(&mut len).await.expect("a frame length");
            u64::from(u16::from_be_bytes(len))
        }
        127 => {
            let mut len = [0u8; 8];
            tcp.read_exact(&mut len).await.expect("a frame length");
            u64::from_be_bytes(len)
        }
        len => u64::from(len),
    };
    let mut payload = vec![0u8; usize::try_from(len).expect("a frame that fits in memory")];
    tcp.read_exact(&mut payload)
        .await
        .expect("a whole frame payload");
    Some(RawFrame {
        opcode: head[0] & 0x0f,
        payload,
    })
}

/// A complete masked client frame (FIN set), as RFC 6455 requires clients to send.
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x5au8, 0x0f, 0xc3, 0x96];
    let mut frame = vec![0x80 | opcode];
    match payload.len() {
        len @ 0..=125 => frame.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(
        payload
            .iter()
            .enumerate()
            .map(|(index, byte)| byte ^ mask[index % 4]),
    );
    frame
}

/// The process's resident set size, from `/proc/self/status` (`VmRSS`), in bytes. The servers
/// of these tests run in the test process, so this is the server's memory (plus the test's).
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .expect("a VmRSS line in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("unexpected VmRSS line {line:?}"));
    kib * 1024
}

/// Samples [`rss_bytes`] on its own thread (so a busy runtime cannot make it miss a peak)
/// every few milliseconds and keeps the maximum.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    max: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    pub fn start() -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let max = Arc::new(AtomicU64::new(rss_bytes()));
        let thread = {
            let (stop, max) = (stop.clone(), max.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    max.fetch_max(rss_bytes(), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        RssSampler {
            stop,
            max,
            thread: Some(thread),
        }
    }

    /// The largest RSS seen so far.
    pub fn max(&self) -> u64 {
        self.max.load(Ordering::Relaxed)
    }

    /// Stops sampling; returns the largest RSS seen.
    pub fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the sampler thread");
        }
        self.max.fetch_max(rss_bytes(), Ordering::Relaxed);
        self.max()
    }
}

/// Bytes as MiB, for messages.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
