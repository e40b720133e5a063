//! The standalone server's HTTP/1.1 upgrade, over any byte stream: read the request head,
//! have it admitted ([`admit_upgrade`]), write 101 or the refusal.

use super::admission::{admit_upgrade, Admitted};
use super::{ConnectionSlot, HttpAnswer};
use crate::auth::Admission;
use crate::handshake::{HandshakeRequest, TlsInfo};
use crate::server::Shared;
use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

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

/// Reads the upgrade request, has it admitted and answers it; `None` if the connection was
/// refused or failed. The caller bounds it by `deadline`, which the authenticator's wait
/// also ends at.
pub(crate) async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    remote_addr: SocketAddr,
    tls: Option<TlsInfo>,
    shared: &Shared,
    slot: &ConnectionSlot,
    shutting_down: bool,
    deadline: Instant,
) -> Option<Upgraded<S>> {
    let admitted = match read_request(&mut stream, remote_addr, shared).await {
        Ok(None) => return None,
        Ok(Some((mut request, leftover))) => {
            request.tls = tls;
            admit_upgrade(&mut request, shared, slot, shutting_down, deadline)
                .await
                .map(|admitted| (admitted, leftover, request))
        }
        Err(answer) => Err(answer),
    };
    let (Admitted { accept, admission }, leftover, request) = match admitted {
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
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n{protocol}\r\n"
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

/// A request head read, and the bytes after it.
type Parsed = (HandshakeRequest, Vec<u8>);

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
            Ok(httparse::Status::Partial) => {}
            Ok(httparse::Status::Complete(head_len)) => {
                if let (Some("POST"), Some(handler)) = (parsed.method, &shared.config.post_handler)
                {
                    let request = request_of(&parsed, remote_addr);
                    let leftover = buffer.split_off(head_len);
                    let limit = shared.config.max_message_size;
                    return Err(post(stream, request, leftover, handler, limit).await);
                }
                let request = parse(&parsed, remote_addr, shared)?;
                let leftover = buffer.split_off(head_len);
                return Ok(Some((request, leftover)));
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Err(HttpAnswer::new(431, "too many headers"))
            }
            Err(_) => return Err(HttpAnswer::new(400, "malformed HTTP request")),
        }
    }
}

/// The request as a [`HandshakeRequest`]; a `GET` of a static file (not an upgrade) is
/// answered with the file.
fn parse(
    parsed: &httparse::Request<'_, '_>,
    peer: SocketAddr,
    shared: &Shared,
) -> Result<HandshakeRequest, HttpAnswer> {
    let request = request_of(parsed, peer);
    if request.method == "GET" && request.header("upgrade").is_none() {
        if let Some(file) = shared.config.static_files.get(&request.path) {
            return Err(HttpAnswer::file(file));
        }
        if let Some(answer) = crate::server::http_route(&request.path, shared) {
            return Err(answer);
        }
    }
    Ok(request)
}

/// The request as handlers and authenticators see it.
fn request_of(parsed: &httparse::Request<'_, '_>, peer: SocketAddr) -> HandshakeRequest {
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
    HandshakeRequest {
        method,
        path,
        query,
        headers,
        remote_addr: peer,
        protocol: None,
        tls: None,
    }
}

/// Reads the body of a `POST` (its `Content-Length`, at most `limit` bytes) and answers it
/// with the server's POST handler.
async fn post<S: AsyncRead + Unpin>(
    stream: &mut S,
    request: HandshakeRequest,
    mut body: Vec<u8>,
    handler: &crate::server::PostHandler,
    limit: usize,
) -> HttpAnswer {
    let Some(length) = request.header("content-length") else {
        return HttpAnswer::new(411, "send the body with a Content-Length");
    };
    let Ok(length) = length.trim().parse::<usize>() else {
        return HttpAnswer::new(400, "invalid Content-Length");
    };
    if length > limit {
        return HttpAnswer::new(413, format!("the body is over {limit} bytes"));
    }
    if body.len() > length {
        body.truncate(length);
    }
    while body.len() < length {
        let wanted = (length - body.len()) as u64;
        match (&mut *stream).take(wanted).read_buf(&mut body).await {
            Ok(0) | Err(_) => return HttpAnswer::new(400, "the body ended early"),
            Ok(_) => {}
        }
    }
    let (status, text) = handler.call(request, body).await;
    HttpAnswer::new(status, text)
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
