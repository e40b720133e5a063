//! The operations: `call.<Type>` per request `Type` (with its replies, stream items,
//! `StreamEnd` and `Error`), `call.StreamCancel` when a handler streams, and `push.<Type>` per
//! message the server sends on its own. Adding their messages in this order fixes the keys a
//! `Type` with two different `Data` gets.

use super::super::schemas::Finished;
use super::super::{Ask, Push};
use super::components::type_doc;
use super::messages::{message_ref, IdUse, Message, Messages};
use super::CHANNEL;
use crate::handler::HandlerInfo;
use crate::handler::ReplyKind;
use crate::protocol::message_type;
use serde_json::{json, Map, Value};

/// A handler with its request's `Data` schema and the index of its reply's output schema.
pub(super) struct Request<'a> {
    pub(super) info: &'a HandlerInfo,
    pub(super) data: Option<Value>,
    pub(super) reply: Option<usize>,
}

/// The handlers of one request `Type`.
struct Operation<'a> {
    message_type: &'static str,
    handlers: Vec<&'a HandlerInfo>,
}

/// Every operation by key, adding the messages they name to `messages`.
pub(super) fn operations(
    requests: &[Request<'_>],
    pushes: &[(&Push, usize)],
    finished: &Finished,
    messages: &mut Messages,
) -> Map<String, Value> {
    let error_key = messages.add(Message::error());
    let mut operations = Map::new();
    let mut stream_end_key = None;
    for operation in by_type(requests) {
        let replies = Replies {
            error_key: &error_key,
            stream_end_key: &mut stream_end_key,
        };
        let (key, value) = call(&operation, requests, finished, messages, replies);
        operations.insert(key, value);
    }
    if let Some(end) = &stream_end_key {
        let (key, value) = stream_cancel(end, messages);
        operations.insert(key, value);
    }
    for (push, index) in pushes {
        let (key, value) = push_operation(push, *index, finished, messages);
        operations.insert(key, value);
    }
    operations
}

/// Operations, one per request `Type`, in `Type` order.
fn by_type<'a>(requests: &[Request<'a>]) -> Vec<Operation<'a>> {
    let mut grouped: Vec<Operation<'a>> = Vec::new();
    for request in requests {
        let info = request.info;
        match grouped.last_mut() {
            Some(last) if last.message_type == info.message_type() => last.handlers.push(info),
            _ => grouped.push(Operation {
                message_type: info.message_type(),
                handlers: vec![info],
            }),
        }
    }
    grouped
}

/// The keys every call's reply list ends with.
struct Replies<'k> {
    error_key: &'k str,
    /// `StreamEnd`'s key, added with the first streaming operation.
    stream_end_key: &'k mut Option<String>,
}

/// `call.<Type>`: the request message, and as replies each handler's reply or stream item,
/// `StreamEnd` when one streams, and `Error`.
fn call(
    operation: &Operation<'_>,
    requests: &[Request<'_>],
    finished: &Finished,
    messages: &mut Messages,
    ends: Replies<'_>,
) -> (String, Value) {
    let members: Vec<&Request<'_>> = requests
        .iter()
        .filter(|request| request.info.message_type() == operation.message_type)
        .collect();
    let streaming = members
        .iter()
        .any(|request| request.info.reply_kind().is_stream());
    let docs: Vec<&str> = operation
        .handlers
        .iter()
        .map(|info| info.doc())
        .filter(|doc| !doc.is_empty())
        .collect();
    let description = docs.join("\n\n");
    let request_key = messages.add(Message {
        message_type: operation.message_type.to_owned(),
        data: Some(request_data(&members)),
        id: IdUse::streaming(streaming),
        summary: docs
            .first()
            .and_then(|doc| doc.lines().next())
            .map(str::to_owned),
        description: description.clone(),
    });
    let mut replies = reply_messages(operation.message_type, &members, finished, messages);
    if streaming {
        let key = ends
            .stream_end_key
            .get_or_insert_with(|| messages.add(Message::stream_end()))
            .clone();
        replies.push(key);
    }
    replies.push(ends.error_key.to_owned());
    let mut value = json!({
        "action": "receive",
        "channel": { "$ref": format!("#/channels/{CHANNEL}") },
        "title": operation.message_type,
        "messages": [message_ref(&request_key)],
        "reply": {
            "channel": { "$ref": format!("#/channels/{CHANNEL}") },
            "messages": replies.iter().map(|key| message_ref(key)).collect::<Vec<_>>(),
        },
        "x-exws-reply": reply_word(&members),
        "x-exws-handlers": operation.handlers.iter()
            .map(|info| format!("{}::{}", info.module_path(), info.function()))
            .collect::<Vec<_>>(),
    });
    if !description.is_empty() {
        value["description"] = Value::String(description);
    }
    (format!("call.{request_key}"), value)
}

/// The request's `Data`: any value without a schema, the one schema, or all of several.
fn request_data(members: &[&Request<'_>]) -> Value {
    let mut datas: Vec<Value> = Vec::new();
    for request in members {
        if let Some(data) = &request.data {
            if !datas.contains(data) {
                datas.push(data.clone());
            }
        }
    }
    match datas.len() {
        0 => Value::Bool(true),
        1 => datas.remove(0),
        _ => json!({ "allOf": datas }),
    }
}

/// The keys of the handlers' replies and stream items, each once.
fn reply_messages(
    request_type: &str,
    members: &[&Request<'_>],
    finished: &Finished,
    messages: &mut Messages,
) -> Vec<String> {
    let mut replies = Vec::new();
    for request in members {
        let kind = request.info.reply_kind();
        let (Some(reply_type), Some(index)) = (kind.reply_type(), request.reply) else {
            continue;
        };
        let data = finished.output(index);
        let doc = type_doc(&finished.components, &data);
        let key = messages.add(Message {
            message_type: reply_type.to_owned(),
            data: Some(data),
            id: IdUse::streaming(kind.is_stream()),
            summary: Some(if kind.is_stream() {
                format!("An item of the stream opened by `{request_type}`.")
            } else {
                format!("The reply to `{request_type}`.")
            }),
            description: doc.unwrap_or_default(),
        });
        if !replies.contains(&key) {
            replies.push(key);
        }
    }
    replies
}

/// The `x-exws-reply` of an operation: what its handlers answer, or `mixed`.
fn reply_word(members: &[&Request<'_>]) -> &'static str {
    let mut words = Vec::new();
    for request in members {
        let word = kind_word(request.info.reply_kind());
        if !words.contains(&word) {
            words.push(word);
        }
    }
    if words.len() == 1 {
        words[0]
    } else {
        "mixed"
    }
}

/// What a request of a handler with this reply kind gets back.
fn kind_word(kind: ReplyKind) -> &'static str {
    match kind {
        ReplyKind::Nothing => "none",
        ReplyKind::Single { .. } => "single",
        ReplyKind::Optional { .. } => "optional",
        ReplyKind::Stream { .. } => "stream",
        ReplyKind::RoomStream => "room",
    }
}

/// `call.StreamCancel`, answered by `StreamEnd` (under `end`).
fn stream_cancel(end: &str, messages: &mut Messages) -> (String, Value) {
    let key = messages.add(Message::stream_cancel());
    let value = json!({
        "action": "receive",
        "channel": { "$ref": format!("#/channels/{CHANNEL}") },
        "title": message_type::STREAM_CANCEL,
        "messages": [message_ref(&key)],
        "reply": {
            "channel": { "$ref": format!("#/channels/{CHANNEL}") },
            "messages": [message_ref(end)],
        },
        "x-exws-reply": "cancel",
    });
    (format!("call.{key}"), value)
}

/// `push.<Type>`: a message the server sends without a request.
fn push_operation(
    push: &Push,
    index: usize,
    finished: &Finished,
    messages: &mut Messages,
) -> (String, Value) {
    let data = finished.output(index);
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
    let value = json!({
        "action": "send",
        "channel": { "$ref": format!("#/channels/{CHANNEL}") },
        "title": push.message_type,
        "description": description,
        "messages": [message_ref(&key)],
    });
    (format!("push.{key}"), value)
}

/// `ask.<Type>`: a call the server makes; the client answers with `Answer` (the answer's
/// `Data`) or `AnswerError`, each carrying the call's `Call`.
pub(super) fn ask(
    ask: &Ask,
    request: usize,
    answer: Value,
    finished: &Finished,
    messages: &mut Messages,
) -> (String, Value) {
    let data = finished.output(request);
    let description = type_doc(&finished.components, &data)
        .unwrap_or_else(|| "A call the server makes; the client answers it.".to_owned());
    let request_key = messages.add(Message {
        message_type: ask.message_type.to_string(),
        data: Some(data),
        id: IdUse::Call,
        summary: Some(
            "A call of the server; answered with `Answer` (or `AnswerError`) and its `Call`."
                .to_owned(),
        ),
        description: description.clone(),
    });
    let answer_doc = type_doc(&finished.components, &answer).unwrap_or_default();
    let answer_key = messages.add(Message {
        message_type: ANSWER.to_owned(),
        data: Some(answer),
        id: IdUse::Call,
        summary: Some(format!("The client's answer to `{}`.", ask.message_type)),
        description: answer_doc,
    });
    let refusal_key = messages.add(Message::answer_error());
    let value = json!({
        "action": "send",
        "channel": { "$ref": format!("#/channels/{CHANNEL}") },
        "title": ask.message_type,
        "description": description,
        "messages": [message_ref(&request_key)],
        "reply": {
            "channel": { "$ref": format!("#/channels/{CHANNEL}") },
            "messages": [message_ref(&answer_key), message_ref(&refusal_key)],
        },
        "x-exws-reply": "answer",
    });
    (format!("ask.{request_key}"), value)
}

/// The `Type` of a client's answer to a server call.
const ANSWER: &str = "Answer";
