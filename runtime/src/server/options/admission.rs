//! Who may connect, and how: authentication, `Origin`, proxies, subprotocols, TLS.

use crate::auth::{Authenticator, SharedAuthenticator};
use crate::server::builder::Server;

impl Server {
    /// Authenticates every handshake before the WebSocket opens: the authenticator admits the
    /// client (optionally as a user, with an id and metadata) or refuses it with an HTTP status
    /// (401/403) and a short reason. See [`auth`](crate::auth). A second call replaces the
    /// first authenticator.
    pub fn authenticator(mut self, authenticator: impl Authenticator) -> Self {
        self.authenticator = Some(SharedAuthenticator::new(authenticator));
        self
    }

    /// Only admits browsers whose `Origin` header is one of `origins` (e.g.
    /// `"https://app.example.com"`, compared ASCII case-insensitively); others get 403. This
    /// guards against cross-site WebSocket hijacking. Requests without `Origin` (non-browser
    /// clients) are admitted: authenticate them. Default: any origin.
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let origins: Vec<String> = origins
            .into_iter()
            .map(|origin| origin.into().trim_end_matches('/').to_owned())
            .collect();
        self.config.allowed_origins = Some(origins);
        self
    }

    /// Believes the forwarding headers (`Forwarded`, then `X-Forwarded-For`) of these reverse
    /// proxies: addresses (`"10.0.0.7"`, `"::1"`) or networks (`"10.0.0.0/8"`). When a
    /// connection comes from one, its [remote address](crate::Connection::remote_addr) (and
    /// the authenticator's) is the nearest address in the chain that is not a trusted proxy.
    /// Headers from any other peer are ignored: they are trivial to forge. Default: none.
    pub fn trusted_proxies<I, S>(mut self, proxies: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        match crate::handshake::TrustedProxies::parse(proxies) {
            Ok(proxies) => self.config.trusted_proxies = proxies,
            Err(error) => self.reject("trusted_proxies", error.to_string()),
        }
        self
    }

    /// The WebSocket subprotocols the server speaks (`Sec-WebSocket-Protocol`). A client that
    /// asks for some gets the first of its own list that the server speaks, or its upgrade is
    /// refused with 400 if there is none; a client that asks for none connects without one.
    /// Handlers read the choice with
    /// [`connection.handshake().protocol()`](crate::HandshakeRequest::protocol). Default: none.
    pub fn protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let protocols: Vec<String> = protocols.into_iter().map(Into::into).collect();
        let valid = |protocol: &String| {
            !protocol.is_empty()
                && protocol
                    .bytes()
                    .all(|byte| byte.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&byte))
        };
        if let Some(bad) = protocols.iter().find(|protocol| !valid(protocol)) {
            self.reject(
                "protocols",
                format!("{bad:?} is not a valid subprotocol token (RFC 6455: printable ASCII, no separators)"),
            );
        }
        self.config.protocols = protocols;
        self
    }

    /// Serves `wss://`: [`bind`](Server::bind), [`listen`](Server::listen) and their
    /// `_with_shutdown` forms accept TLS on their listener (feature `tls`). Each connection's
    /// TLS handshake runs in its own task, within the
    /// [handshake timeout](Server::handshake_timeout) together with the HTTP upgrade; a failed
    /// one is logged (at debug), counted (`exws_tls_handshakes_failed_total`) and ends only that
    /// connection. While the server serves, it reloads a certificate made from files when they
    /// change (see [`TlsConfig`](crate::TlsConfig)). Handlers and authenticators see the TLS
    /// session in [`HandshakeRequest::tls`](crate::HandshakeRequest::tls). An [`Endpoint`](crate::Endpoint) from
    /// [`build`](Server::build) serves whatever stream it is given and ignores this.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let tls = exws::TlsConfig::from_pem_files("cert.pem", "key.pem")?;
    /// exws::Server::new().tls(tls).listen("0.0.0.0:8443").await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: crate::server::tls::TlsConfig) -> Self {
        self.tls = Some(config);
        self
    }
}
