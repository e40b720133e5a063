//! The channel's messages: each a `Type` with its `Data` schema and its use of `Id`, kept
//! under a legal component key, and rendered as an AsyncAPI message object.

use super::components::schema_ref;
use super::{CHANNEL, ENVELOPE, ID};
use crate::protocol::message_type;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// One message of the channel.
pub(super) struct Message {
    pub(super) message_type: String,
    pub(super) data: Option<Value>,
    /// Whether it always carries an `Id`.
    pub(super) id: IdUse,
    pub(super) summary: Option<String>,
    pub(super) description: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum IdUse {
    /// Never: a pushed message.
    Never,
    /// When the request had one: a reply, an error.
    Echoed,
    /// Always: a stream request, a stream item, `StreamEnd`.
    Always,
    /// Never an `Id`, always a `Call`: a server call and the client's answer.
    Call,
}

impl IdUse {
    /// `Always` for what belongs to a stream, `Echoed` otherwise.
    pub(super) fn streaming(streaming: bool) -> Self {
        if streaming {
            IdUse::Always
        } else {
            IdUse::Echoed
        }
    }
}

impl Message {
    /// The `Error` envelope, the answer any request may get.
    pub(super) fn error() -> Self {
        Message {
            message_type: message_type::ERROR.to_owned(),
            data: Some(schema_ref(super::ERROR_DATA)),
            id: IdUse::Echoed,
            summary: Some("A request failed (or a stream ended with an error).".to_owned()),
            description: "Answers any request that could not be handled: `Data.code` says why \
                          (one of `exws.ErrorCode`), `Data.type` is the request's `Type`, `Id` \
                          the request's `Id` when it had one."
                .to_owned(),
        }
    }

    /// `StreamEnd`, the last message of every stream.
    pub(super) fn stream_end() -> Self {
        Message {
            message_type: message_type::STREAM_END.to_owned(),
            data: None,
            id: IdUse::Always,
            summary: Some("A stream ended: no more items with this `Id`.".to_owned()),
            description: String::new(),
        }
    }

    /// `AnswerError`, a client's refusal of a server call.
    pub(super) fn answer_error() -> Self {
        Message {
            message_type: "AnswerError".to_owned(),
            data: Some(json!({
                "type": "object",
                "properties": {
                    "code": { "type": "string" },
                    "message": { "type": "string" },
                },
                "required": ["code", "message"],
            })),
            id: IdUse::Call,
            summary: Some("The client refused a server call.".to_owned()),
            description: "`code` says why: `unknown_type` when the client has no handler for \
                          the call's `Type`, `handler_error` when its handler failed, or the \
                          client's own."
                .to_owned(),
        }
    }

    /// `StreamCancel`, a client's request to end a stream early.
    pub(super) fn stream_cancel() -> Self {
        Message {
            message_type: message_type::STREAM_CANCEL.to_owned(),
            data: None,
            id: IdUse::Always,
            summary: Some("Ends the stream with this `Id` early.".to_owned()),
            description: "The server stops producing and answers `StreamEnd` with the `Id`."
                .to_owned(),
        }
    }
}

/// The channel's messages by key, each key a legal component name.
#[derive(Default)]
pub(super) struct Messages {
    by_key: BTreeMap<String, Message>,
}

impl Messages {
    /// Adds `message` (or finds an equal one) and returns its key.
    pub(super) fn add(&mut self, message: Message) -> String {
        let base = component_key(&message.message_type);
        let mut key = base.clone();
        let mut n = 2;
        loop {
            match self.by_key.get(&key) {
                None => {
                    self.by_key.insert(key.clone(), message);
                    return key;
                }
                Some(existing)
                    if existing.message_type == message.message_type
                        && existing.data == message.data
                        && existing.id == message.id =>
                {
                    return key;
                }
                Some(_) => {
                    key = format!("{base}.{n}");
                    n += 1;
                }
            }
        }
    }

    /// The channel's `messages` (references) and the components' `messages` (the objects).
    pub(super) fn into_maps(self) -> (Map<String, Value>, Map<String, Value>) {
        let mut channel_messages = Map::new();
        let mut component_messages = Map::new();
        for (key, message) in self.by_key {
            channel_messages.insert(
                key.clone(),
                json!({ "$ref": format!("#/components/messages/{key}") }),
            );
            component_messages.insert(key, message_object(message));
        }
        (channel_messages, component_messages)
    }
}

/// A component key (`^[\w\d.\-_]+$`) for a `Type`: other characters become `_`.
fn component_key(message_type: &str) -> String {
    let key: String = message_type
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if key.is_empty() {
        "_".to_owned()
    } else {
        key
    }
}

/// A reference to the channel's message under `key`.
pub(super) fn message_ref(key: &str) -> Value {
    json!({ "$ref": format!("#/channels/{CHANNEL}/messages/{key}") })
}

/// The AsyncAPI message object: the envelope with this `Type` as a `const`, its `Data` and its
/// `Id`.
fn message_object(message: Message) -> Value {
    let mut properties = Map::new();
    properties.insert("Type".to_owned(), json!({ "const": message.message_type }));
    let mut required = vec![Value::from("Type")];
    if let Some(data) = message.data {
        properties.insert("Data".to_owned(), data);
        required.push(Value::from("Data"));
    }
    match message.id {
        IdUse::Never => {}
        IdUse::Echoed => {
            properties.insert("Id".to_owned(), schema_ref(ID));
        }
        IdUse::Always => {
            properties.insert("Id".to_owned(), schema_ref(ID));
            required.push(Value::from("Id"));
        }
        IdUse::Call => {
            properties.insert(
                "Call".to_owned(),
                json!({
                    "type": "integer",
                    "minimum": 1,
                    "description": "The server's number for the call, echoed by the answer.",
                }),
            );
            required.push(Value::from("Call"));
        }
    }
    let mut object = json!({
        "name": message.message_type,
        "title": message.message_type,
        "contentType": "application/json",
        "payload": {
            "allOf": [schema_ref(ENVELOPE)],
            "type": "object",
            "properties": properties,
            "required": required,
        },
    });
    match message.id {
        IdUse::Never => {}
        IdUse::Call => {
            object["correlationId"] = json!({ "$ref": "#/components/correlationIds/Call" });
        }
        IdUse::Echoed | IdUse::Always => {
            object["correlationId"] = json!({ "$ref": "#/components/correlationIds/Id" });
        }
    }
    if let Some(summary) = message.summary {
        object["summary"] = Value::String(summary);
    }
    if !message.description.is_empty() {
        object["description"] = Value::String(message.description);
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_keys_are_legal_and_distinct_messages_get_distinct_keys() {
        assert_eq!(component_key("chat.message"), "chat.message");
        assert_eq!(component_key("a b/c"), "a_b_c");
        assert_eq!(component_key(""), "_");
        let mut messages = Messages::default();
        let message = |data: Value| Message {
            message_type: "T".to_owned(),
            data: Some(data),
            id: IdUse::Echoed,
            summary: None,
            description: String::new(),
        };
        let first = messages.add(message(json!({"type": "string"})));
        let again = messages.add(message(json!({"type": "string"})));
        let other = messages.add(message(json!({"type": "integer"})));
        assert_eq!((first.as_str(), again.as_str()), ("T", "T"));
        assert_eq!(other, "T.2");
    }
}
