//! Helpers shared by the integration tests: a server on a loopback port with a shutdown
//! trigger, a small WebSocket client, and raw streams for what a WebSocket client cannot send.
//!
//! Every receive is bounded by [`TIMEOUT`]: a bug fails the test instead of hanging it.
//!
//! `EXWS_TEST_TRANSPORT` picks the transport every server and client here uses, so that one
//! set of tests runs over each: `plain` (the default: the standalone server over TCP), `tls`
//! (the standalone server with [`Server::tls`] and a certificate made by the test; the clients
//! trust it) or `axum` (the server's [`exws::Endpoint`] as the fallback of an axum app).

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use exws::Server;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
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

/// The transport the tests run over, from `EXWS_TEST_TRANSPORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The standalone server over TCP.
    Plain,
    /// The standalone server over TLS (`Server::tls`).
    Tls,
    /// The endpoint mounted as the fallback of an axum app.
    Axum,
}

/// The transport of this test run: `EXWS_TEST_TRANSPORT` = `plain` (default), `tls` or `axum`.
pub fn transport() -> Transport {
    match std::env::var("EXWS_TEST_TRANSPORT").as_deref() {
        Err(_) | Ok("" | "plain") => Transport::Plain,
        Ok("tls") => Transport::Tls,
        Ok("axum") => Transport::Axum,
        Ok(other) => panic!("EXWS_TEST_TRANSPORT={other:?}: use plain, tls or axum"),
    }
}

/// Whether the test should stop here because it is about something `transport` does not
/// have; says so, with `reason`, on stderr.
pub fn skipped_over(transport: Transport, reason: &str) -> bool {
    let skipped = self::transport() == transport;
    if skipped {
        // Straight to stderr: the test harness captures `eprintln!` of passing tests.
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "skipped over {transport:?}: {reason}");
    }
    skipped
}

/// Any byte stream a test client talks over: TCP, or TLS over TCP.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// The one stream type of the test clients, whatever the transport.
pub type TestStream = Box<dyn Stream>;

/// A self-signed certificate for `localhost` and `127.0.0.1`, made once per test binary.
pub struct TestCertificate {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM (PKCS#8).
    pub key_pem: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// Its private key, DER (PKCS#8).
    pub key_der: Vec<u8>,
}

/// This test binary's certificate.
pub fn test_certificate() -> &'static TestCertificate {
    static CERTIFICATE: OnceLock<TestCertificate> = OnceLock::new();
    CERTIFICATE.get_or_init(|| {
        let generated = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .expect("rcgen makes a certificate");
        TestCertificate {
            cert_pem: generated.cert.pem(),
            key_pem: generated.key_pair.serialize_pem(),
            cert_der: generated.cert.der().to_vec(),
            key_der: generated.key_pair.serialize_der(),
        }
    })
}

/// The server's TLS settings with [`test_certificate`].
pub fn test_tls_config() -> exws::TlsConfig {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let certificate = test_certificate();
    let key = PrivatePkcs8KeyDer::from(certificate.key_der.clone());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("rustls's default versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(certificate.cert_der.clone())],
        PrivateKeyDer::Pkcs8(key),
    )
    .expect("the test certificate is usable");
    exws::TlsConfig::from_rustls(Arc::new(config))
}

/// A TLS client that trusts [`test_certificate`] (and nothing else) and offers ALPN
/// `http/1.1`.
pub fn tls_connector() -> tokio_rustls::TlsConnector {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(
                test_certificate().cert_der.clone(),
            ))
            .expect("the test certificate is a valid root");
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("rustls's default versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    });
    tokio_rustls::TlsConnector::from(config.clone())
}

/// Opens a byte stream to a test server over this run's transport: TCP, with a TLS handshake
/// (SNI `localhost`) on top for `tls`.
pub async fn connect_stream(addr: SocketAddr) -> TestStream {
    let tcp = within("TCP connect", TcpStream::connect(addr))
        .await
        .expect("TCP connect to the test server");
    if transport() != Transport::Tls {
        return Box::new(tcp);
    }
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("a valid name");
    let tls = within("the TLS handshake", tls_connector().connect(name, tcp))
        .await
        .expect("the TLS handshake succeeds");
    Box::new(tls)
}

/// Binds `server` to `127.0.0.1:0`, with the test certificate for the `tls` transport. Serve
/// it with [`TestServer::serve`].
pub async fn bind(server: Server) -> exws::BoundServer {
    let server = match transport() {
        Transport::Tls => server.tls(test_tls_config()),
        Transport::Plain | Transport::Axum => server,
    };
    within("bind", server.bind("127.0.0.1:0"))
        .await
        .expect("the test server binds")
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
    /// Binds `server` to a free loopback port and serves it over this run's transport.
    pub async fn start(server: Server) -> TestServer {
        TestServer::serve(bind(server).await)
    }

    /// Serves a server bound with [`bind`] (whose hub the test kept) with
    /// `serve_with_shutdown`, or, for the `axum` transport, its endpoint as the fallback of an
    /// axum app on another loopback port (the bound listener is closed).
    pub fn serve(bound: exws::BoundServer) -> TestServer {
        if transport() == Transport::Axum {
            let endpoint = bound.endpoint().clone();
            drop(bound);
            return TestServer::serve_axum(endpoint);
        }
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

    /// Serves `endpoint` as the fallback of an axum app on `127.0.0.1:0` until the shutdown
    /// trigger, then stops the app and shuts the endpoint down.
    fn serve_axum(endpoint: exws::Endpoint) -> TestServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("the axum app binds");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let listener = TcpListener::from_std(listener).expect("a Tokio listener");
        let addr = listener.local_addr().expect("the axum app's address");
        let app = axum::Router::new().fallback({
            let endpoint = endpoint.clone();
            move |request: axum::extract::Request| {
                let endpoint = endpoint.clone();
                async move { endpoint.upgrade(request).await }
            }
        });
        let (trigger, signal) = oneshot::channel::<()>();
        let (stop_endpoint, endpoint_stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let app = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = signal.await;
                let _ = stop_endpoint.send(());
            });
            let shutdown = async {
                let _ = endpoint_stopped.await;
                endpoint.shutdown().await;
            };
            let (served, ()) = tokio::join!(std::future::IntoFuture::into_future(app), shutdown);
            served.expect("axum::serve serves until the shutdown");
            Ok(())
        });
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

    /// `ws://127.0.0.1:PORT/`, or `wss://` over TLS.
    pub fn url(&self) -> String {
        match transport() {
            Transport::Tls => format!("wss://{}/", self.addr),
            Transport::Plain | Transport::Axum => format!("ws://{}/", self.addr),
        }
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
    ws: WebSocketStream<TestStream>,
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
    /// Connects to `ws://addr/` over this run's transport.
    pub async fn connect(addr: SocketAddr) -> Client {
        Client::connect_to(addr, "/").await
    }

    /// Connects to `target` (a path and query, e.g. `/?user=ada`) of the server at `addr`.
    pub async fn connect_to(addr: SocketAddr, target: &str) -> Client {
        let stream = connect_stream(addr).await;
        let (ws, _response) = within(
            "the WebSocket handshake",
            tokio_tungstenite::client_async(format!("ws://{addr}{target}"), stream),
        )
        .await
        .expect("the WebSocket handshake succeeds");
        Client { ws }
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

    /// The underlying stream, e.g. to drop the connection abruptly.
    pub fn into_stream(self) -> TestStream {
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

/// Performs a WebSocket upgrade by hand and returns the raw stream (over this run's
/// transport) after the `101`, for tests that must write bytes no WebSocket client would
/// (half frames, abrupt drops).
pub async fn raw_upgrade(addr: SocketAddr) -> TestStream {
    raw_upgrade_with(addr, "Connection: Upgrade\r\n", &[]).await
}

/// [`raw_upgrade`] with its own `Connection` (and any other) header lines, each ending in
/// CRLF, and `early` bytes written in the same write as the request head, before the `101`.
pub async fn raw_upgrade_with(addr: SocketAddr, headers: &str, early: &[u8]) -> TestStream {
    let mut tcp = connect_stream(addr).await;
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

/// Sends `request` (a raw HTTP request head, over this run's transport) and returns the
/// status code, head and body of the server's answer (read to its `Content-Length`, or until
/// the server closes).
pub async fn http_exchange(addr: SocketAddr, request: &str) -> (u16, String, String) {
    let mut stream = connect_stream(addr).await;
    within("writing the request", stream.write_all(request.as_bytes()))
        .await
        .expect("write the request");
    let mut response = Vec::new();
    within("the HTTP response", async {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(head_end) = response.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&response[..head_end]).to_lowercase();
                let length = head.lines().find_map(|line| {
                    line.strip_prefix("content-length:")
                        .and_then(|value| value.trim().parse::<usize>().ok())
                });
                if length.is_some_and(|length| response.len() >= head_end + 4 + length) {
                    return;
                }
            }
            match stream.read(&mut chunk).await {
                // An HTTP server that keeps the connection open answered in full above; one
                // that closes (with or without TLS's close_notify) ends the answer here.
                Ok(0) | Err(_) => return,
                Ok(read) => response.extend_from_slice(&chunk[..read]),
            }
        }
    })
    .await;
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
