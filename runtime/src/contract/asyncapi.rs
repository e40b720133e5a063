//! The AsyncAPI 3.0 document of a server: one channel (the endpoint), an operation per request
//! `Type` with its replies (AsyncAPI request/reply), the stream operations, the messages the
//! server pushes, the `Error` envelope with its codes, and the envelope described once.

use super::schemas::{reference, Schemas};
use super::{ContractError, Declared, MissingSchema};
use crate::handler::HandlerInfo;
use crate::protocol::{message_type, ErrorCode};
use crate::ReplyKind;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The channel's key.
const CHANNEL: &str = "exws";
const ENVELOPE: &str = "exws.Envelope";
const ID: &str = "exws.Id";
const ERROR_DATA: &str = "exws.ErrorData";
const ERROR_CODE: &str = "exws.ErrorCode";

/// The `x-exws-reply` of an operation: what a request of that `Type` gets back.
fn reply_word(kind: ReplyKind) -> &'static str {
    match kind {
        ReplyKind::Nothing => "none",
        ReplyKind::Single { .. } => "single",
        ReplyKind::Optional { .. } => "optional",
        ReplyKind::Stream { .. } => "stream",
        ReplyKind::RoomStream => "room",
    }
}

/// One message of the channel.
struct Message {
    message_type: String,
    data: Option<Value>,
    /// Whether it always carries an `Id`.
    id: IdUse,
    summary: Option<String>,
    description: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum IdUse {
    /// Never: a pushed message.
    Never,
    /// When the request had one: a reply, an error.
    Echoed,
    /// Always: a stream request, a stream item, `StreamEnd`.
    Always,
}

/// The channel's messages by key, each key a legal component name.
#[derive(Default)]
struct Messages {
    by_key: BTreeMap<String, Message>,
}

impl Messages {
    /// Adds `message` (or finds an equal one) and returns its key.
    fn add(&mut self, message: Message) -> String {
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

fn message_ref(key: &str) -> Value {
    json!({ "$ref": format!("#/channels/{CHANNEL}/messages/{key}") })
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": reference(name) })
}

/// The handlers of one request `Type`.
struct Operation<'a> {
    message_type: &'static str,
    handlers: Vec<&'a HandlerInfo>,
}

/// Makes the document. `handlers` in the order of [`Server::handlers`](crate::Server::handlers).
pub(crate) fn document(
    handlers: &[&HandlerInfo],
    declared: &Declared,
) -> Result<Value, ContractError> {
    // Every handler's schemas, or the list of what is missing.
    let mut missing = Vec::new();
    let described: Vec<_> = handlers
        .iter()
        .map(|info| {
            let schemas = info.schemas();
            let handler = format!("{}::{}", info.module_path(), info.function());
            if schemas.request.is_none() {
                missing.push(MissingSchema {
                    handler: handler.clone(),
                    role: "request",
                    rust_type: info.request_type().to_owned(),
                });
            }
            let role = match info.reply_kind() {
                ReplyKind::Single { .. } | ReplyKind::Optional { .. } => Some("reply"),
                ReplyKind::Stream { .. } => Some("stream item"),
                _ => None,
            };
            if let (Some(role), None) = (role, schemas.reply) {
                missing.push(MissingSchema {
                    handler,
                    role,
                    rust_type: info.reply_type().unwrap_or_default().to_owned(),
                });
            }
            (*info, schemas)
        })
        .collect();
    if !missing.is_empty() {
        return Err(ContractError::MissingSchemas(missing));
    }
    for (index, push) in declared.pushes.iter().enumerate() {
        if let Some(first) = declared.pushes[..index]
            .iter()
            .find(|other| other.message_type == push.message_type)
        {
            return Err(ContractError::DuplicatePush {
                message_type: push.message_type.to_string(),
                first: first.rust_type,
                second: push.rust_type,
            });
        }
    }

    let mut schemas = Schemas::new();
    let requests: Vec<_> = described
        .iter()
        .map(|(info, handler)| {
            let request = handler.request.map(|schema| schemas.input(schema));
            let reply = handler.reply.map(|schema| schemas.output(schema));
            (*info, request, reply)
        })
        .collect();
    let pushes: Vec<_> = declared
        .pushes
        .iter()
        .map(|push| (push, schemas.output(push.schema)))
        .collect();
    let finished = schemas.finish();

    let mut messages = Messages::default();
    let error_key = messages.add(Message {
        message_type: message_type::ERROR.to_owned(),
        data: Some(schema_ref(ERROR_DATA)),
        id: IdUse::Echoed,
        summary: Some("A request failed (or a stream ended with an error).".to_owned()),
        description: "Answers any request that could not be handled: `Data.code` says why \
                      (one of `exws.ErrorCode`), `Data.type` is the request's `Type`, `Id` \
                      the request's `Id` when it had one."
            .to_owned(),
    });

    // Operations, one per request `Type`, in `Type` order.
    let mut grouped: Vec<Operation<'_>> = Vec::new();
    for (info, _, _) in &requests {
        match grouped.last_mut() {
            Some(last) if last.message_type == info.message_type() => last.handlers.push(info),
            _ => grouped.push(Operation {
                message_type: info.message_type(),
                handlers: vec![info],
            }),
        }
    }
    let mut operations = Map::new();
    let mut any_stream = false;
    let mut stream_end_key = None;
    for operation in &grouped {
        let members: Vec<_> = requests
            .iter()
            .filter(|(info, _, _)| info.message_type() == operation.message_type)
            .collect();
        let streaming = members
            .iter()
            .any(|(info, _, _)| info.reply_kind().is_stream());
        any_stream |= streaming;
        let mut datas: Vec<Value> = Vec::new();
        for (_, request, _) in &members {
            if let Some(data) = request {
                if !datas.contains(data) {
                    datas.push(data.clone());
                }
            }
        }
        let data = match datas.len() {
            0 => Value::Bool(true),
            1 => datas.remove(0),
            _ => json!({ "allOf": datas }),
        };
        let docs: Vec<&str> = operation
            .handlers
            .iter()
            .map(|info| info.doc())
            .filter(|doc| !doc.is_empty())
            .collect();
        let description = docs.join("\n\n");
        let request_key = messages.add(Message {
            message_type: operation.message_type.to_owned(),
            data: Some(data),
            id: if streaming {
                IdUse::Always
            } else {
                IdUse::Echoed
            },
            summary: docs
                .first()
                .and_then(|doc| doc.lines().next())
                .map(str::to_owned),
            description: description.clone(),
        });
        let mut replies = Vec::new();
        let mut words = Vec::new();
        for (info, _, reply) in &members {
            let kind = info.reply_kind();
            let word = reply_word(kind);
            if !words.contains(&word) {
                words.push(word);
            }
            let (Some(reply_type), Some(index)) = (kind.reply_type(), reply) else {
                continue;
            };
            let data = finished.output(*index);
            let doc = type_doc(&finished.components, &data);
            let key = messages.add(Message {
                message_type: reply_type.to_owned(),
                data: Some(data),
                id: if kind.is_stream() {
                    IdUse::Always
                } else {
                    IdUse::Echoed
                },
                summary: Some(if kind.is_stream() {
                    format!(
                        "An item of the stream opened by `{}`.",
                        operation.message_type
                    )
                } else {
                    format!("The reply to `{}`.", operation.message_type)
                }),
                description: doc.unwrap_or_default(),
            });
            if !replies.contains(&key) {
                replies.push(key);
            }
        }
        if streaming {
            let key = stream_end_key
                .get_or_insert_with(|| {
                    messages.add(Message {
                        message_type: message_type::STREAM_END.to_owned(),
                        data: None,
                        id: IdUse::Always,
                        summary: Some("A stream ended: no more items with this `Id`.".to_owned()),
                        description: String::new(),
                    })
                })
                .clone();
            replies.push(key);
        }
        replies.push(error_key.clone());
        let mut value = json!({
            "action": "receive",
            "channel": { "$ref": format!("#/channels/{CHANNEL}") },
            "title": operation.message_type,
            "messages": [message_ref(&request_key)],
            "reply": {
                "channel": { "$ref": format!("#/channels/{CHANNEL}") },
                "messages": replies.iter().map(|key| message_ref(key)).collect::<Vec<_>>(),
            },
            "x-exws-reply": if words.len() == 1 { words[0] } else { "mixed" },
            "x-exws-handlers": operation.handlers.iter()
                .map(|info| format!("{}::{}", info.module_path(), info.function()))
                .collect::<Vec<_>>(),
        });
        if !description.is_empty() {
            value["description"] = Value::String(description);
        }
        operations.insert(format!("call.{request_key}"), value);
    }
    if any_stream {
        let key = messages.add(Message {
            message_type: message_type::STREAM_CANCEL.to_owned(),
            data: None,
            id: IdUse::Always,
            summary: Some("Ends the stream with this `Id` early.".to_owned()),
            description: "The server stops producing and answers `StreamEnd` with the `Id`."
                .to_owned(),
        });
        let end = stream_end_key.clone().unwrap_or_default();
        operations.insert(
            format!("call.{key}"),
            json!({
                "action": "receive",
                "channel": { "$ref": format!("#/channels/{CHANNEL}") },
                "title": message_type::STREAM_CANCEL,
                "messages": [message_ref(&key)],
                "reply": {
                    "channel": { "$ref": format!("#/channels/{CHANNEL}") },
                    "messages": [message_ref(&end)],
                },
                "x-exws-reply": "cancel",
            }),
        );
    }
    for (push, index) in &pushes {
        let data = finished.output(*index);
        let description = type_doc(&finished.components, &data).unwrap_or_else(|| {
            "Sent by the server on its own (a room message, a welcome...).".to_owned()
        });
        let key = messages.add(Message {
            message_type: push.message_type.to_string(),
            data: Some(data),
            id: IdUse::Never,
            summary: None,
            description: description.clone(),
        });
        operations.insert(
            format!("push.{key}"),
            json!({
                "action": "send",
                "channel": { "$ref": format!("#/channels/{CHANNEL}") },
                "title": push.message_type,
                "description": description,
                "messages": [message_ref(&key)],
            }),
        );
    }

    let mut components_schemas = finished.components;
    components_schemas.insert(ENVELOPE.to_owned(), envelope_schema());
    components_schemas.insert(
        ID.to_owned(),
        json!({
            "description": "A correlation id chosen by the client; replies, errors and stream \
                            items carry it back unchanged.",
            "type": ["string", "integer"],
        }),
    );
    components_schemas.insert(ERROR_CODE.to_owned(), error_code_schema());
    components_schemas.insert(
        ERROR_DATA.to_owned(),
        json!({
            "type": "object",
            "properties": {
                "code": schema_ref(ERROR_CODE),
                "message": { "type": "string", "description": "For people; may change between versions." },
                "type": { "type": "string", "description": "The offending message `Type`, when it is known." },
            },
            "required": ["code", "message"],
        }),
    );

    let mut channel_messages = Map::new();
    let mut component_messages = Map::new();
    for (key, message) in messages.by_key {
        channel_messages.insert(
            key.clone(),
            json!({ "$ref": format!("#/components/messages/{key}") }),
        );
        component_messages.insert(key, message_object(message));
    }
    let (title, version) = declared
        .info
        .clone()
        .unwrap_or_else(|| ("exws server".to_owned(), "0.0.0".to_owned()));
    Ok(json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Messages of an exws server: JSON envelopes {\"Type\", \"Data\", \"Id\"}, \
                            one per WebSocket text frame (exws wire protocol, version 1).",
        },
        "defaultContentType": "application/json",
        "channels": {
            CHANNEL: {
                "address": null,
                "title": "The WebSocket endpoint",
                "description": "Every message of the server, in both directions, on one \
                                WebSocket connection.",
                "messages": channel_messages,
            }
        },
        "operations": operations,
        "components": {
            "schemas": components_schemas,
            "messages": component_messages,
            "correlationIds": {
                "Id": {
                    "description": "The `Id` of the request, echoed by its replies, errors and \
                                    stream items.",
                    "location": "$message.payload#/Id",
                }
            },
        },
        "x-exws-protocol": 1,
    }))
}

/// The doc comment of the type a schema stands for: its own `description`, or that of the
/// named type it refers to.
fn type_doc(components: &Map<String, Value>, schema: &Value) -> Option<String> {
    if let Some(description) = schema.get("description").and_then(Value::as_str) {
        return Some(description.to_owned());
    }
    let name = schema
        .get("$ref")?
        .as_str()?
        .strip_prefix(&format!("#{}/", super::schemas::COMPONENTS))?;
    let name = name.replace("~1", "/").replace("~0", "~");
    components
        .get(&name)?
        .get("description")?
        .as_str()
        .map(str::to_owned)
}

/// The envelope, described once; every message's payload is this with its `Type` and `Data`.
fn envelope_schema() -> Value {
    json!({
        "description": "One JSON object per WebSocket text frame. Unknown extra fields are ignored.",
        "type": "object",
        "properties": {
            "Type": { "type": "string", "description": "The message type." },
            "Data": { "description": "The payload; absent means null." },
            "Id": schema_ref(ID),
        },
        "required": ["Type"],
    })
}

fn error_code_schema() -> Value {
    let codes: Vec<Value> = ErrorCode::ALL
        .iter()
        .map(|code| json!({ "const": code.as_str(), "description": code.description() }))
        .collect();
    json!({
        "description": "The stable `code` of an `Error` envelope; a newer server may send others.",
        "type": "string",
        "oneOf": codes,
    })
}

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
    if message.id != IdUse::Never {
        object["correlationId"] = json!({ "$ref": "#/components/correlationIds/Id" });
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
