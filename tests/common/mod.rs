//! Helpers shared by the integration tests: a server on a loopback port with a shutdown
//! trigger, a small WebSocket client, and raw TCP for what a WebSocket client cannot send.
//!
//! Every receive is bounded by [`TIMEOUT`]: a bug fails the test instead of hanging it.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use exws::Server;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// The longest any single step of a test may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Awaits `future`, failing the test with `what` if it takes longer than [`TIMEOUT`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(TIMEOUT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {TIMEOUT:?} waiting for {what}"),
    }
}

/// Waits until `condition` holds, checking every 10 ms; fails the test with `what` after
/// [`TIMEOUT`].
pub async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    within(what, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// A server bound to `127.0.0.1:0`, served in a background task until [`shutdown`]
/// (or the end of the test's runtime).
///
/// [`shutdown`]: TestServer::shutdown
pub struct TestServer {
    addr: SocketAddr,
    trigger: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), exws::Error>>>,
}

impl TestServer {
    /// Binds `server` to a free loopback port and serves it with `serve_with_shutdown`.
    pub async fn start(server: Server) -> TestServer {
        let bound = within("bind", server.bind("127.0.0.1:0"))
            .await
            .expect("the test server binds");
        TestServer::serve(bound)
    }

    /// Serves an already bound server (whose hub the test kept) with `serve_with_shutdown`.
    pub fn serve(bound: exws::BoundServer) -> TestServer {
        let addr = bound.local_addr();
        let (trigger, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(bound.serve_with_shutdown(async move {
            // A dropped trigger also shuts down, so a test that forgets cannot leak a server.
            let _ = signal.await;
        }));
        TestServer {
            addr,
            trigger: Some(trigger),
            task: Some(task),
        }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Opens a WebSocket connection.
    pub async fn connect(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// Triggers the graceful shutdown without waiting for it.
    pub fn trigger_shutdown(&mut self) {
        if let Some(trigger) = self.trigger.take() {
            let _ = trigger.send(());
        }
    }

    /// Waits for `serve_with_shutdown` to return (after [`trigger_shutdown`]) and gives its
    /// result.
    ///
    /// [`trigger_shutdown`]: TestServer::trigger_shutdown
    pub async fn stopped(&mut self) -> Result<(), exws::Error> {
        let task = self.task.take().expect("the server is still running");
        within("serve_with_shutdown to return", task)
            .await
            .expect("the server task did not panic")
    }

    /// Drops the server's future at once (aborts its task), without a graceful shutdown.
    pub async fn abort(mut self) {
        let task = self.task.take().expect("the server is still running");
        task.abort();
        let ended = within("the aborted server task to end", task).await;
        assert!(
            ended.is_err_and(|error| error.is_cancelled()),
            "the server task was cancelled"
        );
    }

    /// Triggers the graceful shutdown and waits for `serve_with_shutdown` to return.
    pub async fn shutdown(mut self) -> Result<(), exws::Error> {
        self.trigger_shutdown();
        self.stopped().await
    }
}

/// A WebSocket client with strict, time-bounded expectations.
pub struct Client {
    ws: WebSocketStream<TcpStream>,
}

/// Something other than a text frame where a text frame was expected.
#[derive(Debug)]
pub enum Received {
    Text(String),
    Close(Option<(u16, String)>),
    Binary(Vec<u8>),
    /// The stream ended or failed without a close frame.
    Ended(Option<String>),
}

impl Received {
    /// The text of a text frame, `None` for anything else.
    pub fn text(self) -> Option<String> {
        match self {
            Received::Text(text) => Some(text),
            _ => None,
        }
    }
}

impl Client {
    /// Connects to `ws://addr/`.
    pub async fn connect(addr: SocketAddr) -> Client {
        let tcp = within("TCP connect", TcpStream::connect(addr))
            .await
            .expect("TCP connect to the test server");
        let (ws, _response) = within(
            "the WebSocket handshake",
            tokio_tungstenite::client_async(format!("ws://{addr}/"), tcp),
        )
        .await
        .expect("the WebSocket handshake succeeds");
        Client { ws }
    }

    /// A client on a WebSocket the test opened itself (with its own URL or headers).
    pub fn from_websocket(ws: WebSocketStream<TcpStream>) -> Client {
        Client { ws }
    }

    /// Continues as a WebSocket client on a stream upgraded with [`raw_upgrade`] (after
    /// writing raw frames to it, for instance).
    pub async fn from_upgraded(tcp: TcpStream) -> Client {
        let ws = WebSocketStream::from_raw_socket(tcp, Role::Client, None).await;
        Client { ws }
    }

    /// Sends one text frame.
    pub async fn send_text(&mut self, text: impl AsRef<str>) {
        let message = Message::text(text.as_ref());
        within("sending a text frame", self.ws.send(message))
            .await
            .expect("send a text frame");
    }

    /// Sends a JSON value as one text frame.
    pub async fn send_json(&mut self, value: &Value) {
        self.send_text(value.to_string()).await;
    }

    /// Sends one binary frame.
    pub async fn send_binary(&mut self, bytes: &[u8]) {
        let message = Message::binary(bytes.to_vec());
        within("sending a binary frame", self.ws.send(message))
            .await
            .expect("send a binary frame");
    }

    /// Queues a text frame without flushing (for pipelining); see [`flush`](Client::flush).
    pub async fn feed_text(&mut self, text: impl AsRef<str>) {
        let message = Message::text(text.as_ref());
        within("queueing a text frame", self.ws.feed(message))
            .await
            .expect("queue a text frame");
    }

    /// Flushes frames queued with [`feed_text`](Client::feed_text).
    pub async fn flush(&mut self) {
        within("flushing", self.ws.flush())
            .await
            .expect("flush the client's frames");
    }

    /// The next data or close frame (pings and pongs are skipped).
    pub async fn next_frame(&mut self) -> Received {
        loop {
            let frame = within("the next frame from the server", self.ws.next()).await;
            return match frame {
                None => Received::Ended(None),
                Some(Err(error)) => Received::Ended(Some(error.to_string())),
                Some(Ok(Message::Text(text))) => Received::Text(text.as_str().to_owned()),
                Some(Ok(Message::Binary(bytes))) => Received::Binary(bytes.to_vec()),
                Some(Ok(Message::Close(frame))) => Received::Close(
                    frame.map(|frame| (u16::from(frame.code), frame.reason.as_str().to_owned())),
                ),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            };
        }
    }

    /// The next text frame, exactly as sent by the server.
    pub async fn recv_text(&mut self) -> String {
        match self.next_frame().await {
            Received::Text(text) => text,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// The next text frame, parsed.
    pub async fn recv(&mut self) -> Value {
        let text = self.recv_text().await;
        serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("the server sent invalid JSON ({error}): {text}"))
    }

    /// The next `count` text frames, sorted by `Type` (for replies whose order is not
    /// specified).
    pub async fn recv_sorted_by_type(&mut self, count: usize) -> Vec<Value> {
        let mut frames = Vec::with_capacity(count);
        for _ in 0..count {
            frames.push(self.recv().await);
        }
        frames.sort_by_key(|frame| frame["Type"].as_str().unwrap_or_default().to_owned());
        frames
    }

    /// Sends `text` and returns the next text frame, parsed.
    pub async fn request_text(&mut self, text: impl AsRef<str>) -> Value {
        self.send_text(text).await;
        self.recv().await
    }

    /// Sends `{"Type": message_type, "Data": data}` and returns the next text frame, parsed.
    pub async fn call(&mut self, message_type: &str, data: Value) -> Value {
        self.send_json(&json!({ "Type": message_type, "Data": data }))
            .await;
        self.recv().await
    }

    /// Sends `{"Type": message_type, "Data": data, "Id": id}` and returns the next text frame.
    pub async fn call_with_id(&mut self, message_type: &str, data: Value, id: Value) -> Value {
        self.send_json(&json!({ "Type": message_type, "Data": data, "Id": id }))
            .await;
        self.recv().await
    }

    /// Expects the next frame to be an `Error` envelope with `code`; returns the envelope.
    pub async fn expect_error(&mut self, code: &str) -> Value {
        let envelope = self.recv().await;
        assert_error(&envelope, code);
        envelope
    }

    /// Expects the next frame to be a close frame with `code`; returns its reason.
    pub async fn expect_close(&mut self, code: u16) -> String {
        match self.next_frame().await {
            Received::Close(Some((received, reason))) => {
                assert_eq!(received, code, "close code (reason {reason:?})");
                reason
            }
            other => panic!("expected a close frame with code {code}, got {other:?}"),
        }
    }

    /// Expects the connection to end (close frame or end of stream) and nothing else, then
    /// drops it (closing the TCP connection, which the server may be waiting for).
    pub async fn expect_end(mut self) {
        loop {
            match self.next_frame().await {
                Received::Close(_) => continue,
                Received::Ended(_) => return,
                other => panic!("expected the connection to end, got {other:?}"),
            }
        }
    }

    /// The calculator round trip: proves the connection still works.
    pub async fn assert_alive(&mut self) {
        let reply = self
            .call("CalculateRequest", json!({ "numbers": [20, 22] }))
            .await;
        assert_eq!(
            reply,
            json!({ "Type": "CalculateResponse", "Data": { "result": 42 } }),
            "the connection still answers requests"
        );
    }

    /// Closes the WebSocket normally and waits for the server's answer.
    pub async fn close(mut self) {
        within("closing", self.ws.close(None))
            .await
            .expect("send a close frame");
        self.expect_end().await;
    }

    /// The underlying TCP stream, e.g. to drop the connection abruptly.
    pub fn into_tcp(self) -> TcpStream {
        self.ws.into_inner()
    }
}

/// Asserts that `envelope` is an `Error` with `code`, a non-empty message and the other
/// fields of the contract.
pub fn assert_error(envelope: &Value, code: &str) {
    assert_eq!(
        envelope["Type"], "Error",
        "not an Error envelope: {envelope}"
    );
    assert_eq!(envelope["Data"]["code"], code, "error code in {envelope}");
    let message = envelope["Data"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "the error has a message: {envelope}");
}

/// The text of an `Error` envelope's message.
pub fn error_message(envelope: &Value) -> &str {
    envelope["Data"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {envelope}"))
}

/// The calculator handler of the quick start, shared by the test binaries.
#[exws::message]
pub async fn calculate(
    request: exws_workspace::calculator::CalculateRequest,
) -> exws_workspace::calculator::CalculateResponse {
    exws_workspace::calculator::CalculateResponse {
        result: request.numbers.iter().sum(),
    }
}

/// Performs a WebSocket upgrade by hand and returns the raw TCP stream after the `101`, for
/// tests that must write bytes no WebSocket client would (half frames, abrupt drops).
pub async fn raw_upgrade(addr: SocketAddr) -> TcpStream {
    raw_upgrade_with(addr, "Connection: Upgrade\r\n", &[]).await
}

/// [`raw_upgrade`] with its own `Connection` (and any other) header lines, each ending in
/// CRLF, and `early` bytes written in the same write as the request head, before the `101`.
pub async fn raw_upgrade_with(addr: SocketAddr, headers: &str, early: &[u8]) -> TcpStream {
    let mut tcp = within("TCP connect", TcpStream::connect(addr))
        .await
        .expect("TCP connect");
    let mut request = format!(
        "GET /ws?x=1 HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n{headers}\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes();
    request.extend_from_slice(early);
    within("writing the upgrade", tcp.write_all(&request))
        .await
        .expect("write the upgrade request");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = within("the upgrade response", tcp.read(&mut byte))
            .await
            .expect("read the upgrade response");
        assert_eq!(read, 1, "the server closed during the upgrade");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(
        head.starts_with("HTTP/1.1 101 "),
        "expected 101 Switching Protocols, got {head}"
    );
    // RFC 6455's example key and its accept value.
    assert!(
        head.lines()
            .any(|line| line.split_once(':').is_some_and(|(name, value)| {
                name.eq_ignore_ascii_case("sec-websocket-accept")
                    && value.trim() == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
            })),
        "the 101 carries the right Sec-WebSocket-Accept: {head}"
    );
    tcp
}

/// A complete masked client frame (FIN set) with `opcode` and `payload`, as RFC 6455 requires
/// clients to send.
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    raw_frame(true, opcode, payload)
}

/// A masked client frame; `fin: false` makes it a fragment of a longer message.
pub fn raw_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let mut frame = vec![if fin { 0x80 } else { 0 } | opcode];
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

/// Sends `request` (a raw HTTP request head) and returns the status code and body of the
/// server's answer (read until the server closes).
pub async fn http_exchange(addr: SocketAddr, request: &str) -> (u16, String, String) {
    let mut tcp = within("TCP connect", TcpStream::connect(addr))
        .await
        .expect("TCP connect");
    within("writing the request", tcp.write_all(request.as_bytes()))
        .await
        .expect("write the request");
    let mut response = Vec::new();
    within("the HTTP response", tcp.read_to_end(&mut response))
        .await
        .expect("read the response");
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {response:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, head.to_owned(), body.to_owned())
}
