//! The server's wire contract, exported (feature `schema`): an AsyncAPI 3.0 document with the
//! JSON Schema (2020-12, through `schemars`) of every request, reply, stream item and declared
//! server-pushed message.
//!
//! Make it with [`Server::asyncapi`](crate::Server::asyncapi) (or on a
//! [`BoundServer`](crate::BoundServer) or [`Endpoint`](crate::Endpoint)), serve it at
//! `GET /asyncapi.json` with [`Server::serve_asyncapi`](crate::Server::serve_asyncapi), and
//! declare what the hub sends (room messages, welcomes) with
//! [`Server::pushes`](crate::Server::pushes).
//!
//! The layout, which `exws codegen typescript` and `exws contract diff` read: one channel,
//! `exws`, listing every message; each message (`components/messages/<Type>`, a suffix `.2`...
//! when one `Type` has two different `Data`) has a payload of `allOf: [exws.Envelope]` with
//! `Type` as a `const`, its `Data` schema and, when it carries one, `Id`. Operations are
//! `call.<Type>` (action `receive`, with `reply.messages`: the replies, stream items and
//! `StreamEnd`, and `Error`), `push.<Type>` (action `send`) and `ask.<Type>` (action `send`, a
//! call the server makes: the request carries `Call`, and `reply.messages` are the client's
//! `Answer` with the answer's `Data` and `AnswerError`); `x-exws-reply` says what a
//! request gets back (`none`, `single`, `optional`, `stream`, `room`, `mixed`, and `cancel`
//! for `StreamCancel`, `answer` for a server call). Named types are under `components/schemas`; a type whose serialized
//! form differs from its deserialized one has a second entry, `<Name>.Output`. exws's own
//! schemas are `exws.Envelope`, `exws.Id`, `exws.ErrorData` and `exws.ErrorCode`.

mod asyncapi;
mod error;
mod schemas;

pub use error::{ContractError, MissingSchema};

pub(crate) use asyncapi::document;

use crate::handler::schema::SchemaFn;
use std::borrow::Cow;

/// What the server builder was told about its contract.
#[derive(Debug, Clone, Default)]
pub(crate) struct Declared {
    /// `info.title` and `info.version`.
    pub info: Option<(String, String)>,
    /// Messages the server sends on its own (hub, `Connection::send`).
    pub pushes: Vec<Push>,
    /// Calls the server makes to its clients (`Connection::call`, `Recipients::call`).
    pub asks: Vec<Ask>,
    /// Serve the document at `GET /asyncapi.json`.
    pub serve: bool,
}

/// A call the server makes to a client: the request's `Type`, the schema of its `Data`, and
/// the schema of the answer's `Data`.
#[derive(Debug, Clone)]
pub(crate) struct Ask {
    pub message_type: Cow<'static, str>,
    pub request: SchemaFn,
    pub answer: SchemaFn,
}

/// A message the server sends without a request: its `Type` and the schema of its `Data`.
#[derive(Debug, Clone)]
pub(crate) struct Push {
    pub message_type: Cow<'static, str>,
    pub schema: SchemaFn,
    pub rust_type: &'static str,
}

/// The path the document is served at by [`Server::serve_asyncapi`](crate::Server::serve_asyncapi).
pub const ASYNCAPI_PATH: &str = "/asyncapi.json";
