//! The test WebSocket client (tokio-tungstenite over this run's transport) with strict,
//! time-bounded expectations, and the helpers that read `Error` envelopes.

use super::timing::within;
use super::transport::{connect_stream, TestStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::net::SocketAddr;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// A WebSocket client with strict, time-bounded expectations.
pub struct Client {
    ws: WebSocketStream<TestStream>,
}

/// Something other than a text frame where a text frame was expected.
#[derive(Debug)]
pub enum Received {
    Text(String),
    /// A ping (the client has queued its pong by then); only [`Client::next_event`] shows them.
    Ping,
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
    /// Connects to `ws://addr/` over this run's transport.
    pub async fn connect(addr: SocketAddr) -> Client {
        Client::connect_to(addr, "/").await
    }

    /// Connects to `target` (a path and query, e.g. `/?user=ada`) of the server at `addr`.
    pub async fn connect_to(addr: SocketAddr, target: &str) -> Client {
        Client::connect_with(addr, target, &[]).await
    }

    /// Connects to `target` with extra `headers`; the upgrade must succeed.
    pub async fn connect_with(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> Client {
        match Client::try_connect_with(addr, target, headers).await {
            Ok(client) => client,
            Err(WsError::Http(response)) => panic!(
                "the upgrade of {target} was refused: HTTP {}: {}",
                response.status(),
                String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
            ),
            Err(error) => panic!("the WebSocket handshake to {target} failed: {error}"),
        }
    }

    /// Connects to `target` with extra `headers`; the handshake's error if it failed.
    pub async fn try_connect_with(
        addr: SocketAddr,
        target: &str,
        headers: &[(&str, &str)],
    ) -> Result<Client, WsError> {
        let mut request = format!("ws://{addr}{target}")
            .into_client_request()
            .expect("a valid WebSocket URL");
        for (name, value) in headers {
            request.headers_mut().append(
                HeaderName::from_bytes(name.as_bytes()).expect("a valid header name"),
                HeaderValue::from_str(value).expect("a valid header value"),
            );
        }
        let stream = connect_stream(addr).await;
        within(
            "the WebSocket handshake",
            tokio_tungstenite::client_async(request, stream),
        )
        .await
        .map(|(ws, _response)| Client { ws })
    }

    /// Asks for an upgrade of `target` with `headers` that must be refused with an HTTP
    /// error; returns its status and body.
    pub async fn refused(
        addr: SocketAddr,
        target: &str,
        headers: &[(&str, &str)],
    ) -> (u16, String) {
        match Client::try_connect_with(addr, target, headers).await {
            Ok(_) => panic!("the upgrade of {target} was accepted, expected a refusal"),
            Err(WsError::Http(response)) => {
                let body = response.body().clone().unwrap_or_default();
                (
                    response.status().as_u16(),
                    String::from_utf8(body).expect("a UTF-8 body"),
                )
            }
            Err(error) => panic!("expected an HTTP refusal of {target}, got {error}"),
        }
    }

    /// Connects to `/` on a socket with a zero linger: dropping the client resets the TCP
    /// connection (RST, no FIN and no close frame), as a crashed peer's kernel might.
    pub async fn connect_resetting(addr: SocketAddr) -> Client {
        let stream = super::transport::connect_stream_with(addr, |tcp| {
            tcp.set_zero_linger().expect("SO_LINGER is set");
        })
        .await;
        let (ws, _response) = within(
            "the WebSocket handshake",
            tokio_tungstenite::client_async(format!("ws://{addr}/"), stream),
        )
        .await
        .expect("the WebSocket handshake succeeds");
        Client { ws }
    }

    /// Connects to `/`; `Err(status)` if the server answered the upgrade with an HTTP error.
    pub async fn try_connect(addr: SocketAddr) -> Result<Client, u16> {
        match Client::try_connect_with(addr, "/", &[]).await {
            Ok(client) => Ok(client),
            Err(WsError::Http(response)) => Err(response.status().as_u16()),
            Err(error) => panic!("the WebSocket handshake failed: {error}"),
        }
    }

    /// A client on a WebSocket the test opened itself (with its own URL or headers) on a
    /// [`connect_stream`].
    pub fn from_websocket(ws: WebSocketStream<TestStream>) -> Client {
        Client { ws }
    }

    /// Continues as a WebSocket client on a stream upgraded with [`raw_upgrade`] (after
    /// writing raw frames to it, for instance).
    pub async fn from_upgraded(stream: TestStream) -> Client {
        let ws = WebSocketStream::from_raw_socket(stream, Role::Client, None).await;
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

    /// Queues a JSON text frame without flushing (pipelining); see [`flush`](Client::flush).
    pub async fn feed_json(&mut self, value: &Value) {
        self.feed_text(value.to_string()).await;
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

    /// The next frame, pings included (the client has queued its pong by then).
    pub async fn next_event(&mut self) -> Received {
        loop {
            let frame = within("the next frame from the server", self.ws.next()).await;
            return match frame {
                None => Received::Ended(None),
                Some(Err(error)) => Received::Ended(Some(error.to_string())),
                Some(Ok(Message::Text(text))) => Received::Text(text.as_str().to_owned()),
                Some(Ok(Message::Binary(bytes))) => Received::Binary(bytes.to_vec()),
                Some(Ok(Message::Ping(_))) => Received::Ping,
                Some(Ok(Message::Close(frame))) => Received::Close(
                    frame.map(|frame| (u16::from(frame.code), frame.reason.as_str().to_owned())),
                ),
                Some(Ok(Message::Pong(_) | Message::Frame(_))) => continue,
            };
        }
    }

    /// The next data or close frame (pings are answered and skipped, pongs skipped).
    pub async fn next_frame(&mut self) -> Received {
        loop {
            match self.next_event().await {
                Received::Ping => continue,
                other => return other,
            }
        }
    }

    /// The next text frame, parsed, if one comes within `limit` (for waits longer than the
    /// harness's step limit); fails on anything else.
    pub async fn recv_for(&mut self, limit: std::time::Duration) -> Option<Value> {
        let text = loop {
            match tokio::time::timeout(limit, self.ws.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(Message::Text(text)))) => break text.as_str().to_owned(),
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(other) => panic!("expected a text frame, got {other:?}"),
            }
        };
        Some(
            serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("the server sent invalid JSON ({error}): {text}")),
        )
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
                Received::Ping => unreachable!("next_frame skips pings"),
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

    /// Closes the WebSocket with `code` and `reason`, waits for the server's answer, then drops
    /// the stream.
    pub async fn close_with(mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        within("closing", self.ws.close(Some(frame)))
            .await
            .expect("send a close frame");
        self.drain().await;
    }

    /// Reads until the server's close frame; returns its code (1005 for a close frame without
    /// one) and reason. Data frames before it fail the test.
    pub async fn recv_close(&mut self) -> (u16, String) {
        match self.next_frame().await {
            Received::Close(Some(close)) => close,
            Received::Close(None) => (1005, String::new()),
            other => panic!("expected a close frame, got {other:?}"),
        }
    }

    /// Reads whatever comes until the end of the stream, then drops it.
    pub async fn drain(mut self) {
        while let Some(Ok(_)) = within("the end of the stream", self.ws.next()).await {}
    }

    /// Drops the connection without a close frame, as a crashed client would.
    pub fn drop_abruptly(self) {
        drop(self.ws.into_inner());
    }

    /// Sends a WebSocket ping with `payload`.
    pub async fn send_ping(&mut self, payload: &[u8]) {
        within(
            "sending a ping",
            self.ws.send(Message::Ping(payload.to_vec().into())),
        )
        .await
        .expect("send a ping");
    }

    /// The underlying stream, e.g. to drop the connection abruptly.
    pub fn into_stream(self) -> TestStream {
        self.ws.into_inner()
    }
}

/// Asserts that `envelope` is an `Error` with `code`, a non-empty message and the other
/// fields of the contract; returns its `Data`.
#[track_caller]
pub fn assert_error(envelope: &Value, code: &str) -> Value {
    assert_eq!(
        envelope["Type"], "Error",
        "not an Error envelope: {envelope}"
    );
    assert_eq!(envelope["Data"]["code"], code, "error code in {envelope}");
    let message = envelope["Data"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "the error has a message: {envelope}");
    envelope["Data"].clone()
}

/// The text of an `Error` envelope's message.
pub fn error_message(envelope: &Value) -> &str {
    envelope["Data"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {envelope}"))
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
