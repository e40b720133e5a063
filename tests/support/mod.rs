//! Helpers of the handshake, extractor and lifecycle-hook tests (`tests/auth.rs`,
//! `tests/telegram.rs`, `tests/hooks.rs`): an in-process server on port 0, a WebSocket client
//! that can send custom headers, a raw HTTP upgrade, and a timeout around every await.

#![allow(dead_code)]

use exws::{BoundServer, Error, Server};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue, Request};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// The limit of every single await in the tests.
pub const LIMIT: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test if it takes longer than [`LIMIT`].
pub async fn within<F: Future>(future: F) -> F::Output {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {LIMIT:?}"),
    }
}

/// Polls `condition` until it holds, failing the test after [`LIMIT`].
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let waited = tokio::time::timeout(LIMIT, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "timed out after {LIMIT:?} waiting for {what}"
    );
}

/// A server serving on `127.0.0.1:0` in a task, until [`TestServer::stop`].
pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), Error>>>,
}

impl TestServer {
    /// Binds `server` to a free loopback port and serves it.
    pub async fn start(server: Server) -> TestServer {
        let bound: BoundServer = within(server.bind("127.0.0.1:0"))
            .await
            .expect("the server binds");
        let addr = bound.local_addr();
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(bound.serve_with_shutdown(async move {
            let _ = signal.await;
        }));
        TestServer {
            addr,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// `ws://127.0.0.1:<port><path_and_query>`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("ws://{}{}", self.addr, path_and_query)
    }

    /// Shuts the server down gracefully and waits until every connection is gone (so every
    /// disconnect hook has run).
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let task = self.task.take().expect("the server runs");
        within(task)
            .await
            .expect("the server task does not panic")
            .expect("the server stops without an error");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A client connection: a WebSocket over a plain TCP stream (so tests can drop the socket).
pub type Ws = WebSocketStream<TcpStream>;

/// An upgrade request for `url` with extra `headers`.
pub fn request(url: &str, headers: &[(&str, &str)]) -> Request<()> {
    let mut request = url.into_client_request().expect("a valid WebSocket URL");
    for (name, value) in headers {
        request.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).expect("a valid header name"),
            HeaderValue::from_str(value).expect("a valid header value"),
        );
    }
    request
}

/// Connects with the upgrade request; the handshake's error if it was refused.
pub async fn try_connect(request: Request<()>) -> Result<Ws, WsError> {
    let host = request.uri().host().expect("a host").to_owned();
    let port = request.uri().port_u16().expect("a port");
    let stream = within(TcpStream::connect((host.as_str(), port)))
        .await
        .expect("the TCP connection opens");
    within(tokio_tungstenite::client_async(request, stream))
        .await
        .map(|(ws, _response)| ws)
}

/// Connects to `url` with `headers`; the upgrade must succeed.
pub async fn connect(url: &str, headers: &[(&str, &str)]) -> Ws {
    match try_connect(request(url, headers)).await {
        Ok(ws) => ws,
        Err(error) => panic!("connecting to {url} failed: {}", describe(&error)),
    }
}

/// Connects to `url` with `headers`; the upgrade must be refused with an HTTP error. Returns
/// its status and body.
pub async fn refused(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    match try_connect(request(url, headers)).await {
        Ok(_) => panic!("the handshake to {url} was accepted, expected a refusal"),
        Err(WsError::Http(response)) => {
            let body = response.body().clone().unwrap_or_default();
            (
                response.status().as_u16(),
                String::from_utf8(body).expect("a UTF-8 body"),
            )
        }
        Err(error) => panic!("expected an HTTP refusal, got {error}"),
    }
}

fn describe(error: &WsError) -> String {
    match error {
        WsError::Http(response) => format!(
            "HTTP {}: {}",
            response.status(),
            String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
        ),
        error => error.to_string(),
    }
}

/// Sends one envelope.
pub async fn send(ws: &mut Ws, envelope: Value) {
    within(ws.send(Message::text(envelope.to_string())))
        .await
        .expect("the message is sent");
}

/// The next text frame as JSON, skipping pings and pongs; fails on a close or the end.
pub async fn recv(ws: &mut Ws) -> Value {
    loop {
        let frame = within(ws.next())
            .await
            .expect("the connection is open")
            .expect("the connection reads");
        match frame {
            Message::Text(text) => {
                return serde_json::from_str(text.as_str()).expect("a JSON envelope");
            }
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Sends `{"Type": message_type, "Data": data}` and returns the next envelope.
pub async fn call(ws: &mut Ws, message_type: &str, data: Value) -> Value {
    send(ws, json!({"Type": message_type, "Data": data})).await;
    recv(ws).await
}

/// Reads until the server's close frame; returns its code and reason.
pub async fn recv_close(ws: &mut Ws) -> (u16, String) {
    loop {
        let frame = within(ws.next()).await;
        match frame {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.as_str().to_owned());
            }
            Some(Ok(Message::Close(None))) => return (1005, String::new()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(other)) => panic!("expected a close frame, got {other:?}"),
            Some(Err(error)) => panic!("expected a close frame, got the error {error}"),
            None => panic!("expected a close frame, the connection ended"),
        }
    }
}

/// Closes the connection from the client side with `code` and `reason`, waits for the
/// server's answer, then drops the socket.
pub async fn close(mut ws: Ws, code: u16, reason: &str) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    };
    within(ws.close(Some(frame)))
        .await
        .expect("the close frame is sent");
    drain(ws).await;
}

/// Reads until the end of the stream (after a close), then drops the socket.
pub async fn drain(mut ws: Ws) {
    while let Some(Ok(_)) = within(ws.next()).await {}
}

/// Asserts that `envelope` is an `Error` with this `code`; returns its `Data`.
#[track_caller]
pub fn assert_error(envelope: &Value, code: &str) -> Value {
    assert_eq!(
        envelope["Type"], "Error",
        "expected an Error, got {envelope}"
    );
    assert_eq!(
        envelope["Data"]["code"], code,
        "unexpected error: {envelope}"
    );
    envelope["Data"].clone()
}

/// An HTTP answer read off the socket as it came.
#[derive(Debug)]
pub struct RawResponse {
    /// E.g. `HTTP/1.1 401 Unauthorized`.
    pub status_line: String,
    pub status: u16,
    /// `(lower-case name, value)`.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Whether the server closed the connection after the answer.
    pub closed: bool,
}

impl RawResponse {
    /// The first value of the header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Sends a WebSocket upgrade request for `path_and_query` with `headers` over a plain TCP
/// stream and reads the answer: the head, the `Content-Length` body, and whether the server
/// then closed the connection.
pub async fn raw_upgrade(
    addr: SocketAddr,
    path_and_query: &str,
    headers: &[(&str, &str)],
) -> RawResponse {
    let mut stream = within(TcpStream::connect(addr))
        .await
        .expect("the TCP connection opens");
    let mut head = format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    within(stream.write_all(head.as_bytes()))
        .await
        .expect("the request is sent");

    let mut received = Vec::new();
    let head_end = loop {
        if let Some(end) = find(&received, b"\r\n\r\n") {
            break end + 4;
        }
        let mut chunk = [0u8; 1024];
        let read = within(stream.read(&mut chunk))
            .await
            .expect("the answer reads");
        assert!(
            read > 0,
            "the server closed before a full answer: {received:?}"
        );
        received.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8(received[..head_end].to_vec()).expect("a UTF-8 head");
    let mut lines = head.trim_end().split("\r\n");
    let status_line = lines.next().expect("a status line").to_owned();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .expect("a numeric status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let mut response = RawResponse {
        status_line,
        status,
        headers,
        body: String::new(),
        closed: false,
    };
    if status == 101 {
        return response;
    }
    let length: usize = response
        .header("content-length")
        .map(|length| length.parse().expect("a numeric Content-Length"))
        .unwrap_or(0);
    let mut body = received[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 1024];
        let read = within(stream.read(&mut chunk))
            .await
            .expect("the body reads");
        assert!(read > 0, "the server closed before the full body");
        body.extend_from_slice(&chunk[..read]);
    }
    response.body = String::from_utf8(body).expect("a UTF-8 body");
    let mut rest = [0u8; 64];
    response.closed = matches!(within(stream.read(&mut rest)).await, Ok(0) | Err(_));
    response
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Percent-encodes `text` for a query parameter value (every byte but unreserved ones).
pub fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}
