//! The server's wire contract, exported (feature `schema`): an AsyncAPI 3.0 document with the
//! JSON Schema (2020-12, through `schemars`) of every request, reply, stream item and declared
//! server-pushed message.
//!
//! Make it with [`Server::asyncapi`](crate::Server::asyncapi) (or on a
//! [`BoundServer`](crate::BoundServer) or [`Endpoint`](crate::Endpoint)), serve it at
//! `GET /asyncapi.json` with [`Server::serve_asyncapi`](crate::Server::serve_asyncapi), and
//! declare what the hub sends (room messages, welcomes) with
//! [`Server::pushes`](crate::Server::pushes). The document's layout, which `exws codegen
//! typescript` and `exws contract diff` read, is described in `docs/CONTRACT.md`.

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
    /// Serve the document at `GET /asyncapi.json`.
    pub serve: bool,
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
