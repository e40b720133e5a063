//! Presence: the chat handlers on a server with presence on, users from the handshake
//! (`?user=ada`), each connection's meta from it (`?tab=1` → `{"tab": "1"}`), and the expected
//! shapes of presence entries.

use super::chat::chat_server;
use exws::auth::{Admission, HandshakeRejection};
use exws::{HandshakeRequest, PresenceConfig, Server};
use serde_json::{json, Value};

/// Admits `?user=ID` as user `ID`; without it, a connection without a user.
pub async fn by_user(request: HandshakeRequest) -> Result<Admission, HandshakeRejection> {
    Ok(match request.query_param("user") {
        Some(user) => Admission::anonymous().with_user_id(user.into_owned()),
        None => Admission::anonymous(),
    })
}

/// Presence settings whose meta is `{"tab": <the handshake's ?tab=>}` (no `tab`: no meta).
pub fn tab_presence() -> PresenceConfig {
    PresenceConfig::new().meta(
        |connection| match connection.handshake().query_param("tab") {
            Some(tab) => json!({ "tab": tab }),
            None => Value::Null,
        },
    )
}

/// The chat server with users from the handshake and presence on, with [`tab_presence`].
pub fn presence_server() -> Server {
    chat_server()
        .authenticator(by_user)
        .presence(tab_presence())
}

/// A presence entry as the wire has it: `user` (or `null`) and `(connection, tab)` metas in
/// the order given (sort them as the server does: by connection id).
pub fn entry(user: Option<&str>, metas: &[(&str, Option<&str>)]) -> Value {
    let mut metas: Vec<(&str, Option<&str>)> = metas.to_vec();
    metas.sort();
    json!({
        "user": user,
        "metas": metas
            .iter()
            .map(|(connection, tab)| json!({
                "connection": connection,
                "meta": tab.map_or(Value::Null, |tab| json!({ "tab": tab })),
            }))
            .collect::<Vec<_>>(),
    })
}
