//! The HTTP upgrade request a WebSocket connection starts with, and what the server decides
//! from it besides authentication: the client's address behind trusted proxies, and the
//! subprotocol.

mod forwarded;
mod protocol;

pub(crate) use forwarded::TrustedProxies;
pub(crate) use protocol::{choose_protocol, Choice};

use std::borrow::Cow;
use std::net::SocketAddr;

/// The client's HTTP upgrade request: what an authenticator decides on.
#[derive(Debug, Clone)]
pub struct HandshakeRequest {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) remote_addr: SocketAddr,
    /// The subprotocol the server chose from the client's `Sec-WebSocket-Protocol`.
    pub(crate) protocol: Option<String>,
    /// The TLS session the request came over, if the server terminated TLS itself.
    pub(crate) tls: Option<TlsInfo>,
}

/// The TLS session of a connection that came over [`Server::tls`](crate::Server::tls)
/// (feature `tls`): what the client asked for and what was negotiated. See
/// [`HandshakeRequest::tls`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    pub(crate) server_name: Option<String>,
    pub(crate) alpn_protocol: Option<String>,
    pub(crate) protocol_version: String,
}

impl TlsInfo {
    /// The host name the client asked for (SNI), e.g. `api.example.com`; `None` if it sent
    /// none (clients connecting to an IP address do not).
    pub fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }

    /// The application protocol negotiated with ALPN (`http/1.1`); `None` if the client
    /// offered none.
    pub fn alpn_protocol(&self) -> Option<&str> {
        self.alpn_protocol.as_deref()
    }

    /// The TLS version: `TLSv1.3` or `TLSv1.2`.
    pub fn protocol_version(&self) -> &str {
        &self.protocol_version
    }
}

impl Default for HandshakeRequest {
    /// An empty `GET /` from `0.0.0.0:0`.
    fn default() -> Self {
        HandshakeRequest {
            method: "GET".to_owned(),
            path: "/".to_owned(),
            query: None,
            headers: Vec::new(),
            remote_addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            protocol: None,
            tls: None,
        }
    }
}

impl HandshakeRequest {
    /// The request method (`GET` for an upgrade).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path, without the query string, e.g. `/ws`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The raw query string (without `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The first value of the query parameter `name`, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        let query = self.query.as_deref()?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// The first value of the header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Every header, in the order received, names as sent.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        self.headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// The value of the cookie `name`, from the `Cookie` headers.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, value)| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.trim_matches('"'))
    }

    /// The `Origin` header, sent by browsers.
    pub fn origin(&self) -> Option<&str> {
        self.header("origin")
    }

    /// The client's address: the peer's, or, when the peer is a
    /// [trusted proxy](crate::Server::trusted_proxies), the client it forwarded for (from
    /// `Forwarded` or `X-Forwarded-For`).
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote_addr
    }

    /// The subprotocol the server chose from the client's `Sec-WebSocket-Protocol` list (see
    /// [`Server::protocols`](crate::Server::protocols)); `None` if the client asked for none.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The TLS session the connection came over, when the server terminates TLS itself
    /// ([`Server::tls`](crate::Server::tls), feature `tls`): the SNI name, ALPN protocol and
    /// TLS version. `None` over plain TCP, and behind a proxy or another HTTP server that
    /// terminates TLS.
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.tls.as_ref()
    }

    /// The subprotocols the client asked for, in its order of preference.
    pub fn requested_protocols(&self) -> impl Iterator<Item = &str> {
        self.headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("sec-websocket-protocol"))
            .flat_map(|(_, value)| value.split(','))
            .map(str::trim)
            .filter(|protocol| !protocol.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: Option<&str>, headers: &[(&str, &str)]) -> HandshakeRequest {
        HandshakeRequest {
            method: "GET".into(),
            path: "/".into(),
            query: query.map(str::to_owned),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            remote_addr: SocketAddr::from(([127, 0, 0, 1], 9)),
            protocol: None,
            tls: None,
        }
    }

    #[test]
    fn reads_query_parameters_decoded() {
        let request = request(Some("a=1&initData=x%3D1%26y&b"), &[]);
        assert_eq!(request.query_param("initData").as_deref(), Some("x=1&y"));
        assert_eq!(request.query_param("missing"), None);
    }

    #[test]
    fn reads_headers_case_insensitively_and_cookies() {
        let request = request(
            None,
            &[
                ("Authorization", "tma abc"),
                ("Cookie", "a=1; session=\"s3\""),
            ],
        );
        assert_eq!(request.header("authorization"), Some("tma abc"));
        assert_eq!(request.cookie("session"), Some("s3"));
        assert_eq!(request.cookie("b"), None);
    }
}
