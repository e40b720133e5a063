//! Client admission: each WebSocket handshake becomes a `connection_request` to a backend,
//! and its `response` admits the client (with the id, room and metadata the backend chose) or
//! refuses it with an HTTP status. A handshake never waits longer than the request timeout.

use super::client::GatewayClient;
use super::protocol::{canonical_header, error_event, event_line, ClientContext};
use super::{metrics, Core};
use crate::auth::{Admission, Authenticator, HandshakeRejection};
use crate::handshake::HandshakeRequest;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The gateway's authenticator: asks a backend.
pub(crate) struct BackendAdmission {
    pub(crate) core: Arc<Core>,
}

impl Authenticator for BackendAdmission {
    async fn authenticate(
        &self,
        request: &HandshakeRequest,
    ) -> Result<Admission, HandshakeRejection> {
        let outcome = admit(&self.core, request).await;
        metrics::connection_request(match &outcome {
            Ok(_) => "accepted",
            Err((outcome, _)) => outcome,
        });
        outcome.map_err(|(_, rejection)| rejection)
    }
}

type Refusal = (&'static str, HandshakeRejection);

async fn admit(core: &Core, request: &HandshakeRequest) -> Result<Admission, Refusal> {
    let prefix = &core.config.path_prefix;
    if !request.path().starts_with(prefix.as_str()) {
        return Err((
            "invalid",
            HandshakeRejection::with_status(
                404,
                format!("WebSocket clients connect under {prefix}"),
            ),
        ));
    }
    let params = request_params(request);
    let timeout = core.config.request_timeout;
    let deadline = tokio::time::Instant::now() + timeout;
    // While every backend's write queue is full (a burst of handshakes, or clients flooding
    // them), the request waits for room, within the same timeout as the answer.
    let sent = tokio::time::timeout_at(
        deadline,
        core.pool
            .request(|request_id| event_line(request_id, "connection_request", params.clone())),
    )
    .await;
    let mut pending = match sent {
        Ok(Some(pending)) => pending,
        Ok(None) => {
            core.pool.send_any(error_event(
                &core.next_event_id(),
                params,
                "no backend available to handle connection request",
            ));
            return Err((
                "no_backend",
                HandshakeRejection::with_status(
                    503,
                    "no backend is connected to the gateway; retry later",
                ),
            ));
        }
        Err(_) => {
            return Err((
                "busy",
                HandshakeRejection::with_status(
                    503,
                    format!(
                        "every backend's queue stayed full for {timeout:?}: the backends are \
                         overloaded; retry later"
                    ),
                ),
            ));
        }
    };
    let request_id = pending.request_id.clone();
    let response = match tokio::time::timeout_at(deadline, &mut pending.answered).await {
        Ok(Ok(response)) => response,
        Ok(Err(_)) | Err(_) => {
            return Err((
                "timeout",
                HandshakeRejection::with_status(
                    504,
                    format!("the backend did not answer within {timeout:?}; retry later"),
                ),
            ));
        }
    };
    drop(pending);
    if !response.accepted {
        return Err((
            "refused",
            HandshakeRejection::forbidden("the backend refused the connection"),
        ));
    }
    let client_id = response.client_id.unwrap_or_else(|| request_id.clone());
    let room_id = response
        .room_id
        .unwrap_or_else(|| request.path().to_owned());
    if client_id.is_empty() || client_id.len() > 256 || client_id.chars().any(char::is_control) {
        return Err((
            "invalid",
            HandshakeRejection::with_status(502, "the backend chose an invalid client_id"),
        ));
    }
    if crate::hub::check_room(&room_id).is_err() {
        return Err((
            "invalid",
            HandshakeRejection::with_status(502, "the backend chose an invalid room_id"),
        ));
    }
    let duplicate = || {
        (
            "duplicate",
            HandshakeRejection::with_status(
                409,
                format!("client id {client_id:?} is already connected"),
            ),
        )
    };
    let Some(reservation) = core.ids.reserve(&client_id) else {
        return Err(duplicate());
    };
    if let Some(hub) = core.hub.get() {
        // Another process of the same Redis may hold it.
        match hub
            .user_connections(&crate::auth::UserId::from(client_id.as_str()))
            .await
        {
            Ok(connections) if !connections.is_empty() => return Err(duplicate()),
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(%error, "could not check the client id on other processes")
            }
        }
    }
    let context = ClientContext {
        client_id: client_id.clone(),
        room_id,
        metadata: response.metadata,
    };
    Ok(Admission::user(GatewayClient::new(context, reservation)).with_user_id(client_id))
}

/// `connection_request`'s params: headers in Go's canonical form with list values (no
/// `Host`), the path as `url`, the peer's address.
fn request_params(request: &HandshakeRequest) -> Value {
    let mut headers: Map<String, Value> = Map::new();
    for (name, value) in request.headers() {
        if name.eq_ignore_ascii_case("host") {
            continue;
        }
        let entry = headers
            .entry(canonical_header(name))
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(values) = entry {
            values.push(Value::String(value.to_owned()));
        }
    }
    json!({
        "headers": headers,
        "remote_addr": request.remote_addr().to_string(),
        "url": request.path(),
    })
}
