//! Mounting an [`Endpoint`] on a route of an axum app (feature `axum`): the app's port, its
//! tower layers (tracing, CORS, timeouts run before the upgrade) and its own routes, with the
//! same authenticator, `Origin` check, limits, hooks, hub and adapters as the standalone
//! server.

use super::Endpoint;
use crate::handshake::HandshakeRequest;
use crate::session::{self, Admitted, ConnectionSlot, HttpAnswer};
use ::axum::body::Body;
use ::axum::extract::{ConnectInfo, Request};
use ::axum::http::{header, HeaderValue, StatusCode};
use ::axum::response::Response;
use ::axum::routing::{get, MethodRouter};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

impl Endpoint {
    /// A `GET` route of an axum app that upgrades to this endpoint's WebSocket, for
    /// `Router::route`. Works with any router state. The client's address comes from axum's
    /// `ConnectInfo`: serve the app with `into_make_service_with_connect_info::<SocketAddr>()`
    /// (without it the address is `0.0.0.0:0`).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum::{routing::get, Router};
    /// use std::net::SocketAddr;
    ///
    /// let chat = exws::Server::new().build().await?;
    /// let app = Router::new()
    ///     .route("/health", get(|| async { "ok" }))
    ///     .route("/ws", chat.axum_route());
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:8765").await?;
    /// axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
    /// chat.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn axum_route<S>(&self) -> MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let endpoint = self.clone();
        get(move |request: Request| {
            let endpoint = endpoint.clone();
            async move { endpoint.upgrade(request).await }
        })
    }

    /// Answers an HTTP request with this endpoint's WebSocket upgrade (101 and a session), or
    /// with the refusal the standalone server would give (400, 401, 403, 426, 503...). For an
    /// axum handler of your own; [`axum_route`](Endpoint::axum_route) is this as a route.
    pub async fn upgrade(&self, mut request: Request) -> Response {
        let shared = self.shared();
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |info| info.0);
        let (parts, _body) = {
            let upgrade = request.extensions_mut().remove::<OnUpgrade>();
            let (parts, body) = request.into_parts();
            ((parts, upgrade), body)
        };
        let (parts, on_upgrade) = parts;
        let mut handshake = HandshakeRequest {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            remote_addr: peer,
            protocol: None,
            tls: None,
        };
        let slot = ConnectionSlot::take(shared);
        // The handshake timeout runs from the request's arrival: axum's server read it.
        let deadline = tokio::time::Instant::now() + shared.config.handshake_timeout;
        let admitted = async {
            let admitted = session::admit_upgrade(
                &mut handshake,
                shared,
                &slot,
                self.is_shutting_down(),
                deadline,
            )
            .await?;
            let on_upgrade = on_upgrade.ok_or_else(|| {
                HttpAnswer::new(
                    426,
                    "this connection cannot be upgraded: use HTTP/1.1 with Upgrade: websocket",
                )
            })?;
            Ok::<_, HttpAnswer>((admitted, on_upgrade))
        }
        .await;
        let (Admitted { accept, admission }, on_upgrade) = match admitted {
            Ok(admitted) => admitted,
            Err(answer) => {
                answer.log(handshake.remote_addr());
                return refusal(answer);
            }
        };
        let protocol = handshake.protocol.clone();
        let shared_for_session = shared.clone();
        let shutdown = self.shutdown_token().clone();
        let session = async move {
            let upgraded = match on_upgrade.await {
                Ok(upgraded) => upgraded,
                Err(error) => {
                    tracing::debug!(%error, "the HTTP upgrade did not complete");
                    return;
                }
            };
            let config = session::websocket_config(&shared_for_session.config);
            let websocket = WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                Some(config),
            )
            .await;
            session::serve_websocket(
                websocket,
                admission,
                handshake,
                shared_for_session,
                shutdown,
                slot,
            )
            .await;
        };
        tokio::spawn(self.track(session));

        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        if let Ok(accept) = HeaderValue::from_str(&accept) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        }
        if let Some(protocol) = protocol.and_then(|protocol| HeaderValue::from_str(&protocol).ok())
        {
            headers.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
        }
        response
    }
}

/// A refusal as an HTTP response, with the headers the standalone server sends.
fn refusal(answer: HttpAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::FORBIDDEN);
    let mut response = Response::new(Body::from(answer.body.into_owned()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(content_type) = HeaderValue::from_str(&answer.content_type) {
        headers.insert(header::CONTENT_TYPE, content_type);
    }
    if answer.status == 426 {
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
    }
    if answer.status == 503 {
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}
