//! The AsyncAPI 3.0 document of a server: one channel (the endpoint), an operation per request
//! `Type` with its replies (AsyncAPI request/reply), the stream operations, the messages the
//! server pushes, the `Error` envelope with its codes, and the envelope described once.
//!
//! [`document`] checks the handlers ([`check`]), collects their schemas, builds the
//! operations and the messages they name ([`operations`], [`messages`]), and assembles them
//! with the info, the channel and exws's own schemas ([`components`]).

mod check;
mod components;
mod messages;
mod operations;

use super::schemas::Schemas;
use super::{ContractError, Declared};
use crate::handler::HandlerInfo;
use messages::Messages;
use operations::Request;
use serde_json::{json, Map, Value};

/// The channel's key.
const CHANNEL: &str = "exws";
const ENVELOPE: &str = "exws.Envelope";
const ID: &str = "exws.Id";
const ERROR_DATA: &str = "exws.ErrorData";
const ERROR_CODE: &str = "exws.ErrorCode";

/// Makes the document. `handlers` in the order of [`Server::handlers`](crate::Server::handlers).
pub(crate) fn document(
    handlers: &[&HandlerInfo],
    declared: &Declared,
) -> Result<Value, ContractError> {
    let described = check::described(handlers)?;
    check::distinct_pushes(declared)?;

    // Inputs first, then outputs: the order names the schemas of types used both ways.
    let mut schemas = Schemas::new();
    let requests: Vec<Request<'_>> = described
        .iter()
        .map(|(info, handler)| Request {
            info,
            data: handler.request.map(|schema| schemas.input(schema)),
            reply: handler.reply.map(|schema| schemas.output(schema)),
        })
        .collect();
    // A call's answer is read by the server: an input, like a request.
    let answers: Vec<Value> = declared
        .asks
        .iter()
        .map(|ask| schemas.input(ask.answer))
        .collect();
    let pushes: Vec<_> = declared
        .pushes
        .iter()
        .map(|push| (push, schemas.output(push.schema)))
        .collect();
    let asks: Vec<_> = declared
        .asks
        .iter()
        .zip(answers)
        .map(|(ask, answer)| (ask, schemas.output(ask.request), answer))
        .collect();
    let finished = schemas.finish();

    let mut messages = Messages::default();
    let mut operations = operations::operations(&requests, &pushes, &finished, &mut messages);
    for (ask, request, answer) in asks {
        let (key, value) = operations::ask(ask, request, answer, &finished, &mut messages);
        operations.insert(key, value);
    }
    let mut component_schemas = finished.components;
    components::add_exws_schemas(&mut component_schemas);
    Ok(assemble(declared, operations, messages, component_schemas))
}

/// The document around its parts: the info, the one channel, the components.
fn assemble(
    declared: &Declared,
    operations: Map<String, Value>,
    messages: Messages,
    component_schemas: Map<String, Value>,
) -> Value {
    let (channel_messages, component_messages) = messages.into_maps();
    let (title, version) = declared
        .info
        .clone()
        .unwrap_or_else(|| ("exws server".to_owned(), "0.0.0".to_owned()));
    json!({
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
            "schemas": component_schemas,
            "messages": component_messages,
            "correlationIds": {
                "Id": {
                    "description": "The `Id` of the request, echoed by its replies, errors and \
                                    stream items.",
                    "location": "$message.payload#/Id",
                },
                "Call": {
                    "description": "The `Call` number of a server call, echoed by the client's \
                                    answer.",
                    "location": "$message.payload#/Call",
                },
            },
        },
        "x-exws-protocol": 1,
    })
}
