//! The backend protocol: one JSON object per line, `{"request_id", "action", "params"}`, in
//! both directions. Events the gateway writes, and the actions it reads (checked here, so that
//! a malformed line is an [`ActionError`] and never a crash).

use serde::Serialize;
use serde_json::{json, Map, Value};

/// Who a client is, as the backend named it in its `response`: sent with every event of the
/// client.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientContext {
    /// The id the backend gave the client (`message_to_connection`'s `conn_id`).
    pub client_id: String,
    /// The room the client is in.
    pub room_id: String,
    /// What the backend attached to the client (any JSON; `{}` when it chose none).
    pub metadata: Value,
}

/// One line for a backend, `\n` included.
pub(crate) fn event_line(request_id: &str, action: &str, params: Value) -> String {
    let mut line =
        json!({ "request_id": request_id, "action": action, "params": params }).to_string();
    line.push('\n');
    line
}

/// `new_connection`, `disconnected`: the client's context only.
pub(crate) fn context_event(request_id: &str, action: &str, context: &ClientContext) -> String {
    event_line(request_id, action, json!({ "context": context }))
}

/// `new_message`: one text frame of a client, unchanged.
pub(crate) fn message_event(request_id: &str, context: &ClientContext, message: &str) -> String {
    event_line(
        request_id,
        "new_message",
        json!({ "context": context, "message": message }),
    )
}

/// `error`, about a line of the backend or a connection request.
pub(crate) fn error_event(request_id: &str, context: Value, error: &str) -> String {
    event_line(
        request_id,
        "error",
        json!({ "context": context, "error": error }),
    )
}

/// The heartbeat line sent to every backend.
pub(crate) fn heartbeat_line() -> String {
    event_line("heartbeat", "heartbeat", json!({}))
}

/// A backend's answer to a `connection_request`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Response {
    /// A missing `accepted` means accepted.
    pub accepted: bool,
    pub client_id: Option<String>,
    pub room_id: Option<String>,
    pub metadata: Value,
}

/// What a backend asked for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    Response {
        request_id: String,
        response: Response,
    },
    Broadcast {
        message: String,
    },
    MessageToRoom {
        room_id: String,
        message: String,
    },
    MessageToConnection {
        conn_id: String,
        message: String,
    },
    /// A backend's own heartbeat (or an answer to ours): proof of life, nothing to do.
    Heartbeat,
    /// The first line of a backend that authenticates with a token.
    Auth {
        token: String,
    },
}

/// A line that is not a valid action: what to tell the backend.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct ActionError {
    /// The line's `request_id`, when it had one: the `error` event carries it back.
    pub request_id: String,
    pub message: String,
}

/// Reads one line (without its `\n`).
pub(crate) fn parse_action(line: &str) -> Result<Action, ActionError> {
    let value: Value = serde_json::from_str(line).map_err(|error| ActionError {
        request_id: String::new(),
        message: format!("invalid JSON: {error}"),
    })?;
    let Value::Object(mut object) = value else {
        return Err(ActionError {
            request_id: String::new(),
            message: "a line must be a JSON object {\"request_id\", \"action\", \"params\"}"
                .to_owned(),
        });
    };
    let request_id = match object.remove("request_id") {
        Some(Value::String(id)) => id,
        _ => String::new(),
    };
    let fail = |message: String| ActionError {
        request_id: request_id.clone(),
        message,
    };
    let action = match object.remove("action") {
        Some(Value::String(action)) => action,
        Some(_) => return Err(fail("\"action\" must be a string".to_owned())),
        None => return Err(fail("missing \"action\"".to_owned())),
    };
    let mut params = match object.remove("params") {
        Some(Value::Object(params)) => params,
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err(fail(format!("{action}: \"params\" must be an object"))),
    };
    let mut text = |key: &str| -> Result<String, ActionError> {
        match params.remove(key) {
            Some(Value::String(value)) => Ok(value),
            Some(_) => Err(fail(format!("{action}: \"{key}\" must be a string"))),
            None => Err(fail(format!("{action}: missing \"{key}\""))),
        }
    };
    let parsed = match action.as_str() {
        "broadcast" => Action::Broadcast {
            message: text("message")?,
        },
        "message_to_room" => Action::MessageToRoom {
            room_id: text("room_id")?,
            message: text("message")?,
        },
        "message_to_connection" => Action::MessageToConnection {
            conn_id: text("conn_id")?,
            message: text("message")?,
        },
        "heartbeat" => Action::Heartbeat,
        "auth" => Action::Auth {
            token: text("token")?,
        },
        "response" => {
            if request_id.is_empty() {
                return Err(fail(
                    "response: missing \"request_id\" (the connection_request's)".to_owned(),
                ));
            }
            let response = response(&mut params).map_err(fail)?;
            Action::Response {
                request_id: request_id.clone(),
                response,
            }
        }
        other => return Err(fail(format!("unknown action {other:?}"))),
    };
    Ok(parsed)
}

fn response(params: &mut Map<String, Value>) -> Result<Response, String> {
    let accepted = match params.remove("accepted") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(accepted)) => accepted,
        Some(_) => return Err("response: \"accepted\" must be true or false".to_owned()),
    };
    let mut optional = |key: &str| match params.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(format!("response: \"{key}\" must be a string")),
    };
    let client_id = optional("client_id")?;
    let room_id = optional("room_id")?;
    let metadata = match params.remove("metadata") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(metadata) => metadata,
    };
    Ok(Response {
        accepted,
        client_id,
        room_id,
        metadata,
    })
}

/// A header name in Go's canonical form (`x-test-id` → `X-Test-Id`), as PyStrands backends
/// expect them.
pub(crate) fn canonical_header(name: &str) -> String {
    let mut canonical = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        if upper {
            canonical.extend(c.to_uppercase());
        } else {
            canonical.extend(c.to_lowercase());
        }
        upper = c == '-';
    }
    canonical
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_read_with_their_fields() {
        let line = r#"{"action":"message_to_connection","request_id":"r","params":{"conn_id":"a","message":"hi"}}"#;
        assert_eq!(
            parse_action(line),
            Ok(Action::MessageToConnection {
                conn_id: "a".into(),
                message: "hi".into()
            })
        );
        let line = r#"{"action":"response","request_id":"r1","params":{"client_id":"a"}}"#;
        let Ok(Action::Response { response, .. }) = parse_action(line) else {
            panic!("not a response");
        };
        assert!(response.accepted, "a missing `accepted` means accepted");
        assert_eq!(response.metadata, json!({}));
    }

    #[test]
    fn malformed_lines_are_errors_with_their_request_id() {
        let cases = [
            ("not json", ""),
            (r#"[1]"#, ""),
            (
                r#"{"action":"broadcast","request_id":"x","params":{"message":5}}"#,
                "x",
            ),
            (
                r#"{"action":"message_to_room","request_id":"y","params":{"message":"m"}}"#,
                "y",
            ),
            (r#"{"action":"launch","request_id":"z","params":{}}"#, "z"),
            (r#"{"action":"response","params":{}}"#, ""),
            (
                r#"{"action":"broadcast","request_id":"w","params":[]}"#,
                "w",
            ),
        ];
        for (line, request_id) in cases {
            let error = parse_action(line).expect_err(line);
            assert_eq!(error.request_id, request_id, "{line}");
        }
    }

    #[test]
    fn header_names_take_go_canonical_form() {
        assert_eq!(canonical_header("x-test-id"), "X-Test-Id");
        assert_eq!(canonical_header("sec-websocket-key"), "Sec-Websocket-Key");
        assert_eq!(canonical_header("AUTHORIZATION"), "Authorization");
    }
}
