//! HTTP publish: `POST /publish` on the WebSocket port, for senders that hold no backend
//! connection (a job, a serverless function). The body is one backend action (`broadcast`,
//! `message_to_room`, `message_to_connection`); the request carries
//! `Authorization: Bearer TOKEN`.

use super::backend::to_client;
use super::config::same_token;
use super::protocol::{parse_action, Action};
use super::Core;
use crate::handshake::HandshakeRequest;
use crate::hub::HubError;
use std::sync::Arc;

/// The path publish requests are sent to.
pub(crate) const PUBLISH_PATH: &str = "/publish";

/// Answers one `POST`: 202 when sent, else a status saying why not.
pub(crate) async fn publish(
    core: Arc<Core>,
    request: HandshakeRequest,
    body: Vec<u8>,
) -> (u16, String) {
    if request.path() != PUBLISH_PATH {
        return (404, format!("publish with POST {PUBLISH_PATH}"));
    }
    let Some(expected) = &core.config.publish_token else {
        return (404, "HTTP publish is off".to_owned());
    };
    let given = request
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        None => return (401, "send Authorization: Bearer <publish token>".to_owned()),
        Some(given) if !same_token(given, expected) => {
            return (403, "wrong publish token".to_owned())
        }
        Some(_) => {}
    }
    let Ok(body) = String::from_utf8(body) else {
        return (400, "the body must be UTF-8 JSON".to_owned());
    };
    let action = match parse_action(&body) {
        Ok(action) => action,
        Err(error) => return (400, error.message),
    };
    let Some(hub) = core.hub.get() else {
        return (503, "the gateway is starting".to_owned());
    };
    let sent = match action {
        Action::Broadcast { message } => hub.everyone().send_text(message).await,
        Action::MessageToRoom { room_id, message } => hub.room(&room_id).send_text(message).await,
        Action::MessageToConnection { conn_id, message } => to_client(hub, &conn_id, message).await,
        Action::Response { .. } | Action::Heartbeat | Action::Auth { .. } => {
            return (
                400,
                "publish broadcast, message_to_room or message_to_connection".to_owned(),
            )
        }
    };
    match sent {
        Ok(()) => (202, "sent".to_owned()),
        Err(error @ (HubError::UnknownUser(_) | HubError::UnknownConnection(_))) => {
            (404, error.to_string())
        }
        Err(error @ HubError::InvalidRoom(_)) => (400, error.to_string()),
        Err(error) => (503, error.to_string()),
    }
}
