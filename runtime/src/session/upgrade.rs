//! The HTTP/1.1 upgrade: read the request head, check it, answer 101 or an HTTP error.

use crate::auth::{Admission, HandshakeRejection};
use crate::handshake::{choose_protocol, Choice};
use crate::handshake::{HandshakeRequest, TlsInfo};
use crate::server::{Config, Shared, StaticFile};
use futures_util::FutureExt;
use std::borrow::Cow;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// A connection whose upgrade was accepted.
pub(crate) struct Upgraded<S> {
    pub stream: S,
    /// Bytes the client sent after the request head (the first frames, if it did not wait).
    pub leftover: Vec<u8>,
    /// What the authenticator admitted the connection with.
    pub admission: Admission,
    /// The upgrade request, kept as the connection's data.
    pub request: HandshakeRequest,
}

/// An HTTP answer other than 101: a refusal, or a static file.
pub(crate) struct HttpAnswer {
    pub(crate) status: u16,
    pub(crate) content_type: Cow<'static, str>,
    pub(crate) body: Cow<'static, [u8]>,
}

impl HttpAnswer {
    pub(crate) fn shutting_down() -> Self {
        HttpAnswer::new(503, "the server is shutting down; retry later")
    }

    pub(crate) fn at_capacity() -> Self {
        HttpAnswer::new(503, "the server is at its connection limit; retry later")
    }

    pub(crate) fn new(status: u16, body: impl Into<String>) -> Self {
        HttpAnswer {
            status,
            content_type: Cow::Borrowed("text/plain; charset=utf-8"),
            body: Cow::Owned(body.into().into_bytes()),
        }
    }

    fn file(file: &StaticFile) -> Self {
        HttpAnswer {
            status: 200,
            content_type: file.content_type.clone(),
            body: file.body.clone(),
        }
    }

    /// Logs and counts a refusal (a file served is neither).
    pub(crate) fn log(&self, remote_addr: SocketAddr) {
        // A 503 of `/health` is an answer, not a refused handshake.
        if self.status != 200 && self.content_type != crate::server::HEALTH_CONTENT_TYPE {
            let reason = String::from_utf8_lossy(&self.body);
            tracing::debug!(%remote_addr, status = self.status, %reason, "handshake refused");
            crate::metrics::handshake_rejected(self.status);
        }
    }

    fn reason_phrase(&self) -> &'static str {
        match self.status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            426 => "Upgrade Required",
            429 => "Too Many Requests",
            431 => "Request Header Fields Too Large",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Error",
        }
    }
}

impl From<HandshakeRejection> for HttpAnswer {
    fn from(rejection: HandshakeRejection) -> Self {
        HttpAnswer::new(rejection.status(), rejection.reason())
    }
}

/// Reads and answers the upgrade request; `None` if the connection was refused or failed.
pub(crate) async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    remote_addr: SocketAddr,
    tls: Option<TlsInfo>,
    shared: &Shared,
    at_capacity: bool,
    shutting_down: bool,
) -> Option<Upgraded<S>> {
    let admitted = match read_request(&mut stream, remote_addr, shared).await {
        Ok(None) => return None,
        Ok(Some(_)) if shutting_down => Err(HttpAnswer::shutting_down()),
        Ok(Some(_)) if at_capacity => Err(HttpAnswer::at_capacity()),
        Ok(Some((mut request, key, leftover))) => {
            request.tls = tls;
            admit(&request, shared)
                .await
                .map(|admission| (key, leftover, admission, request))
        }
        Err(answer) => Err(answer),
    };
    let (key, leftover, admission, request) = match admitted {
        Ok(parts) => parts,
        Err(answer) => {
            answer.log(remote_addr);
            respond(&mut stream, &answer).await;
            return None;
        }
    };
    let protocol = match &request.protocol {
        Some(protocol) => format!("Sec-WebSocket-Protocol: {protocol}\r\n"),
        None => String::new(),
    };
    // The key was checked to be non-empty; the accept value is its hash.
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{protocol}\r\n",
        derive_accept_key(key.as_bytes())
    );
    if stream.write_all(response.as_bytes()).await.is_err() {
        return None;
    }
    Some(Upgraded {
        stream,
        leftover,
        admission,
        request,
    })
}

/// The `Origin` allow-list, then the authenticator.
pub(crate) async fn admit(
    request: &HandshakeRequest,
    shared: &Shared,
) -> Result<Admission, HttpAnswer> {
    if let (Some(allowed), Some(origin)) = (&shared.config.allowed_origins, request.origin()) {
        let origin = origin.trim().trim_end_matches('/');
        if !allowed
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(origin))
        {
            return Err(HttpAnswer::new(403, "origin not allowed"));
        }
    }
    let Some(authenticator) = &shared.authenticator else {
        return Ok(Admission::anonymous());
    };
    match AssertUnwindSafe(authenticator.authenticate(request))
        .catch_unwind()
        .await
    {
        Ok(result) => result.map_err(HttpAnswer::from),
        Err(_) => {
            tracing::error!(remote_addr = %request.remote_addr(), "the authenticator panicked");
            Err(HttpAnswer::new(500, "authentication failed"))
        }
    }
}

type Parsed = (HandshakeRequest, String, Vec<u8>);

async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    remote_addr: SocketAddr,
    shared: &Shared,
) -> Result<Option<Parsed>, HttpAnswer> {
    let limit = shared.config.max_handshake_size;
    let mut buffer = Vec::with_capacity(1024.min(limit));
    loop {
        if buffer.len() >= limit {
            return Err(HttpAnswer::new(431, "request head too large"));
        }
        let room = (limit - buffer.len()).min(1024);
        buffer.reserve(room);
        let read = match (&mut *stream).take(room as u64).read_buf(&mut buffer).await {
            Ok(0) | Err(_) => return Ok(None),
            Ok(read) => read,
        };
        debug_assert!(read <= room);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(&buffer) {
            Ok(httparse::Status::Partial) => continue,
            Ok(httparse::Status::Complete(head_len)) => {
                let (request, key) = check(&parsed, remote_addr, shared)?;
                let leftover = buffer.split_off(head_len);
                return Ok(Some((request, key, leftover)));
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Err(HttpAnswer::new(431, "too many headers"))
            }
            Err(_) => return Err(HttpAnswer::new(400, "malformed HTTP request")),
        }
    }
}

/// Checks that the request is a WebSocket upgrade; returns it and its `Sec-WebSocket-Key`.
fn check(
    parsed: &httparse::Request<'_, '_>,
    peer: SocketAddr,
    shared: &Shared,
) -> Result<(HandshakeRequest, String), HttpAnswer> {
    let config = &shared.config;
    let method = parsed.method.unwrap_or_default().to_owned();
    let target = parsed.path.unwrap_or("/");
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
        None => (target.to_owned(), None),
    };
    let headers = parsed
        .headers
        .iter()
        .map(|header| {
            (
                header.name.to_owned(),
                String::from_utf8_lossy(header.value).into_owned(),
            )
        })
        .collect();
    let mut request = HandshakeRequest {
        method,
        path,
        query,
        headers,
        remote_addr: peer,
        protocol: None,
        tls: None,
    };
    if request.method == "GET" && request.header("upgrade").is_none() {
        if let Some(file) = config.static_files.get(&request.path) {
            return Err(HttpAnswer::file(file));
        }
        if let Some(answer) = crate::server::http_route(&request.path, shared) {
            return Err(answer);
        }
    }
    let key = check_upgrade(&request)?;
    negotiate(&mut request, config)?;
    Ok((request, key))
}

/// What the server decides from the request besides authentication: the client's address
/// behind trusted proxies, and the subprotocol.
pub(crate) fn negotiate(request: &mut HandshakeRequest, config: &Config) -> Result<(), HttpAnswer> {
    request.remote_addr = config
        .trusted_proxies
        .client_addr(request.remote_addr, request.headers());
    request.protocol = match choose_protocol(request, &config.protocols) {
        Choice::None => None,
        Choice::Chosen(protocol) => Some(protocol),
        Choice::Unsupported => {
            let spoken = if config.protocols.is_empty() {
                "none".to_owned()
            } else {
                config.protocols.join(", ")
            };
            return Err(HttpAnswer::new(
                400,
                format!("unsupported subprotocol: this server speaks {spoken}"),
            ));
        }
    };
    Ok(())
}

/// Checks that `request` is a WebSocket upgrade; returns its `Sec-WebSocket-Key`.
pub(crate) fn check_upgrade(request: &HandshakeRequest) -> Result<String, HttpAnswer> {
    if request.method != "GET" {
        return Err(HttpAnswer::new(405, "WebSocket upgrades use GET"));
    }
    let has_token = |name: &str, token: &str| {
        request.header(name).is_some_and(|value| {
            value
                .split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    };
    if !has_token("upgrade", "websocket") || !has_token("connection", "upgrade") {
        return Err(HttpAnswer::new(
            426,
            "this is a WebSocket endpoint: connect with a WebSocket client",
        ));
    }
    if request.header("sec-websocket-version").map(str::trim) != Some("13") {
        return Err(HttpAnswer::new(
            426,
            "unsupported WebSocket version: use 13",
        ));
    }
    let key = match request.header("sec-websocket-key").map(str::trim) {
        Some(key) if !key.is_empty() => key.to_owned(),
        _ => return Err(HttpAnswer::new(400, "missing Sec-WebSocket-Key")),
    };
    Ok(key)
}

async fn respond<S: AsyncWrite + Unpin>(stream: &mut S, answer: &HttpAnswer) {
    let mut response = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        answer.status,
        answer.reason_phrase(),
        answer.content_type,
        answer.body.len()
    );
    if answer.status == 426 {
        response.push_str("Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
    }
    if answer.status == 503 {
        response.push_str("Retry-After: 1\r\n");
    }
    response.push_str("\r\n");
    let mut bytes = response.into_bytes();
    bytes.extend_from_slice(&answer.body);
    let _ = stream.write_all(&bytes).await;
    let _ = stream.shutdown().await;
}
