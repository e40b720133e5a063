//! An HTTP answer other than the 101 of an accepted upgrade, as every transport writes it.

use crate::auth::HandshakeRejection;
use crate::server::StaticFile;
use std::borrow::Cow;
use std::net::SocketAddr;

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

    pub(super) fn file(file: &StaticFile) -> Self {
        HttpAnswer {
            status: 200,
            content_type: file.content_type.clone(),
            body: file.body.clone(),
        }
    }

    /// Logs and counts a refusal (a file served is neither).
    pub(crate) fn log(&self, remote_addr: SocketAddr) {
        // A 503 of `/health` is an answer, not a refused handshake.
        if !(200..300).contains(&self.status)
            && self.content_type != crate::server::HEALTH_CONTENT_TYPE
        {
            let reason = String::from_utf8_lossy(&self.body);
            tracing::debug!(%remote_addr, status = self.status, %reason, "handshake refused");
            crate::metrics::handshake_rejected(self.status);
        }
    }

    pub(super) fn reason_phrase(&self) -> &'static str {
        match self.status {
            200 => "OK",
            202 => "Accepted",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            409 => "Conflict",
            411 => "Length Required",
            413 => "Content Too Large",
            426 => "Upgrade Required",
            429 => "Too Many Requests",
            431 => "Request Header Fields Too Large",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            504 => "Gateway Timeout",
            _ => "Error",
        }
    }
}

impl From<HandshakeRejection> for HttpAnswer {
    fn from(rejection: HandshakeRejection) -> Self {
        HttpAnswer::new(rejection.status(), rejection.reason())
    }
}
