//! The admission of a WebSocket upgrade, one path for every transport (the standalone
//! listener, TLS, [`Endpoint::serve_connection`](crate::Endpoint::serve_connection) and the
//! axum route): each transport parses its request into a [`HandshakeRequest`], calls
//! [`admit_upgrade`], and writes the 101 or the refusal it returns in its own way.
//!
//! # The handshake timeout
//!
//! One policy: [`handshake_timeout`](crate::Server::handshake_timeout) bounds a connection's
//! handshake from the moment its transport has it (the accepted TCP connection for the
//! standalone server and `serve_connection`, the TLS handshake included; the request's arrival
//! for axum, whose HTTP server reads the request itself) to its answer. A request not read by
//! then is dropped without an answer; an authenticator still running then is cancelled and the
//! client gets `503` (`Retry-After: 1`).

use super::{ConnectionSlot, HttpAnswer};
use crate::auth::Admission;
use crate::handshake::{choose_protocol, Choice, HandshakeRequest};
use crate::server::{Config, Shared};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// An upgrade that was admitted: what the transport needs to answer 101 and open the session.
pub(crate) struct Admitted {
    /// The `Sec-WebSocket-Accept` value of the 101 answer.
    pub accept: String,
    /// What the authenticator admitted the connection with.
    pub admission: Admission,
}

/// Admits (or refuses) the upgrade `request`, the same way for every transport, in this order:
/// a WebSocket upgrade at all (`405`, `426`, `400`); the client's address behind trusted
/// proxies and the subprotocol (`400`); the server not shutting down and under its connection
/// limit (`503`); the `Origin` allow-list (`403`); the authenticator (its own refusal, `500`
/// if it panics, `503` if it is still running at `deadline`).
///
/// `request` gets the negotiated address and subprotocol; `deadline` is the connection's
/// handshake deadline (see the module's documentation).
pub(crate) async fn admit_upgrade(
    request: &mut HandshakeRequest,
    shared: &Shared,
    slot: &ConnectionSlot,
    shutting_down: bool,
    deadline: Instant,
) -> Result<Admitted, HttpAnswer> {
    let key = check_upgrade(request)?;
    negotiate(request, &shared.config)?;
    if shutting_down {
        return Err(HttpAnswer::shutting_down());
    }
    if slot.over_limit {
        return Err(HttpAnswer::at_capacity());
    }
    let admission = match tokio::time::timeout_at(deadline, authenticate(request, shared)).await {
        Ok(admission) => admission?,
        Err(_) => return Err(HttpAnswer::new(503, "authentication timed out")),
    };
    Ok(Admitted {
        accept: derive_accept_key(key.as_bytes()),
        admission,
    })
}

/// The `Origin` allow-list, then the authenticator.
async fn authenticate(
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

/// What the server decides from the request besides authentication: the client's address
/// behind trusted proxies, and the subprotocol.
fn negotiate(request: &mut HandshakeRequest, config: &Config) -> Result<(), HttpAnswer> {
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
fn check_upgrade(request: &HandshakeRequest) -> Result<String, HttpAnswer> {
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
