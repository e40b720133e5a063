//! What a middleware sees of a message.

use crate::connection::Connection;
use crate::context::Context;
use crate::extract::{FromContext, Rejection};
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// One incoming message, as middleware sees it: its `Type`, `Id` and raw `Data`, and the
/// context of its connection.
#[derive(Debug, Clone)]
pub struct Request {
    message_type: Arc<str>,
    id: Option<Arc<str>>,
    data: Box<str>,
    context: Context,
}

impl Request {
    pub(crate) fn new(message_type: &str, id: Option<&str>, data: &str, context: &Context) -> Self {
        Request {
            message_type: Arc::from(message_type),
            id: id.map(Arc::from),
            data: Box::from(data),
            context: context.clone(),
        }
    }

    /// The message's `Type`.
    pub fn message_type(&self) -> &str {
        &self.message_type
    }

    /// The message's `Id` as raw JSON text (`"a1"` with its quotes, or `7`), as the server
    /// echoes it; `None` for a message without one.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The message's `Data` as raw JSON text (`null` when the message has none).
    pub fn data(&self) -> &str {
        &self.data
    }

    /// Decodes `Data` into `T`, e.g. to look at one field.
    pub fn decode_data<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.data)
    }

    /// The context of the message: connection, state, hub.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The connection the message came on.
    pub fn connection(&self) -> &Connection {
        self.context.connection()
    }

    /// Runs an extractor, as a handler argument would: `request.extract::<State<Db>>()`.
    /// A rejection becomes an answer with [`Response::rejected`](super::Response::rejected).
    pub async fn extract<T: FromContext>(&self) -> Result<T, Rejection> {
        T::from_context(&self.context).await
    }

    pub(crate) fn shared_type(&self) -> Arc<str> {
        self.message_type.clone()
    }

    pub(crate) fn shared_id(&self) -> Option<Arc<str>> {
        self.id.clone()
    }
}
