//! Raw bytes below the WebSocket client, over this run's transport: a hand-made upgrade, masked
//! client frames, a reader of the server's frames, and HTTP exchanges, for tests that must send
//! what no WebSocket client would (half frames, silent clients, oversized heads).

use super::timing::within;
use super::transport::{connect_stream, TestStream};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// WebSocket opcodes.
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

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

/// An HTTP upgrade request head for `/` of `addr`, with RFC 6455's example key.
pub fn upgrade_request(addr: SocketAddr) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// Reads an HTTP response head byte by byte (nothing after it), up to the blank line.
pub async fn read_http_head(stream: &mut TestStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = within("the HTTP response head", stream.read(&mut byte))
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

/// Sends `request` on a new connection and returns the server's whole answer, read until the
/// server closes (an HTTP error answer to an upgrade closes the connection).
pub async fn http_answer(addr: SocketAddr, request: &[u8]) -> std::io::Result<String> {
    let mut stream = connect_stream(addr).await;
    within("writing the request", stream.write_all(request)).await?;
    let mut response = Vec::new();
    let mut chunk = [0u8; 4096];
    within("the HTTP response", async {
        loop {
            match stream.read(&mut chunk).await {
                // A TLS peer that closes without close_notify ends the answer too.
                Ok(0) | Err(_) => return,
                Ok(read) => response.extend_from_slice(&chunk[..read]),
            }
        }
    })
    .await;
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

/// A frame the server sent, read from a raw stream.
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

/// Reads one (unmasked, unfragmented) server frame from a raw stream; `None` at the end of the
/// stream (or a reset) before a frame starts. Not bounded in time: wrap it in `within`.
pub async fn read_raw_frame(stream: &mut TestStream) -> Option<RawFrame> {
    let mut head = [0u8; 2];
    if stream.read_exact(&mut head).await.is_err() {
        return None;
    }
    assert_eq!(head[1] & 0x80, 0, "server frames are not masked");
    let len = match head[1] & 0x7f {
        126 => {
            let mut len = [0u8; 2];
            stream.read_exact(&mut len).await.expect("a frame length");
            u64::from(u16::from_be_bytes(len))
        }
        127 => {
            let mut len = [0u8; 8];
            stream.read_exact(&mut len).await.expect("a frame length");
            u64::from_be_bytes(len)
        }
        len => u64::from(len),
    };
    let mut payload = vec![0u8; usize::try_from(len).expect("a frame that fits in memory")];
    stream
        .read_exact(&mut payload)
        .await
        .expect("a whole frame payload");
    Some(RawFrame {
        opcode: head[0] & 0x0f,
        payload,
    })
}

/// An HTTP answer to an upgrade, read off the stream as it came.
#[derive(Debug)]
pub struct RawResponse {
    /// E.g. `HTTP/1.1 401 Unauthorized`.
    pub status_line: String,
    pub status: u16,
    /// `(lower-case name, value)`.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Whether the server closed the connection after the answer; `None` over axum, whose
    /// HTTP server (not exws) decides whether a connection is kept for the next request.
    pub closed: Option<bool>,
}

impl RawResponse {
    /// The first value of the header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Asserts that the server closed the connection after the answer (where exws owns the
    /// connection: not over axum).
    #[track_caller]
    pub fn assert_closed(&self) {
        if let Some(closed) = self.closed {
            assert!(
                closed,
                "the server keeps a refused connection open: {self:?}"
            );
        }
    }
}

/// Sends a WebSocket upgrade request for `target` with `headers` and reads the answer as it
/// came: the head, the `Content-Length` body, and whether the server then closed.
pub async fn upgrade_answer(
    addr: SocketAddr,
    target: &str,
    headers: &[(&str, &str)],
) -> RawResponse {
    let mut stream = connect_stream(addr).await;
    let mut head = format!(
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    within("writing the upgrade", stream.write_all(head.as_bytes()))
        .await
        .expect("the request is sent");
    let head = read_http_head(&mut stream).await;
    let mut lines = head.trim_end().split("\r\n");
    let status_line = lines.next().expect("a status line").to_owned();
    let status = status_of(&status_line);
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let mut response = RawResponse {
        status_line,
        status,
        headers,
        body: String::new(),
        closed: None,
    };
    if status == 101 {
        return response;
    }
    let length: usize = response
        .header("content-length")
        .map(|length| length.parse().expect("a numeric Content-Length"))
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    within("the body", stream.read_exact(&mut body))
        .await
        .expect("the whole body");
    response.body = String::from_utf8(body).expect("a UTF-8 body");
    if super::transport::transport() != super::transport::Transport::Axum {
        let mut rest = [0u8; 64];
        response.closed = Some(matches!(
            within("the end of the answer", stream.read(&mut rest)).await,
            Ok(0) | Err(_)
        ));
    }
    response
}
