//! How one item of a handler's stream becomes an envelope.

use crate::handler::reply::{Fallible, Value};
use crate::protocol::{encode_with_raw_id, ErrorCode, ReplyTo};
use serde::Serialize;
use std::fmt::Display;

/// One item of a running stream, encoded. Built by the code `#[message]` generates.
#[doc(hidden)]
#[derive(Debug)]
pub enum StreamItem {
    /// An item envelope, with the stream's `Id`.
    Item(String),
    /// The stream failed: one `Error` with the stream's `Id`, then nothing more.
    Failed {
        /// `handler_error`, or what the item said.
        code: ErrorCode,
        /// For the client.
        message: String,
    },
}

/// Turns one item of a handler's stream into what is sent, by the marker `K` (chosen by the
/// item's type: a `Serialize` value, a `Result` of one, or a room message).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an item of an exws stream",
    label = "not a stream item",
    note = "a stream item is a `Serialize` type, or `Result<T, E>` of one with `E: Display`"
)]
pub trait IntoStreamItem<K> {
    /// Encodes the item; `name` is its `Type`, `reply_to` the stream's `Id`.
    fn into_stream_item(self, reply_to: &ReplyTo, name: &'static str) -> StreamItem;
}

/// Marker: an envelope already encoded (a room message), to which the `Id` is added.
#[doc(hidden)]
#[derive(Debug)]
pub struct Raw;

impl<T: Serialize> IntoStreamItem<Value> for T {
    fn into_stream_item(self, reply_to: &ReplyTo, name: &'static str) -> StreamItem {
        match encode_with_raw_id(name, &self, reply_to.id_bytes()) {
            Ok(text) => StreamItem::Item(text),
            Err(error) => StreamItem::Failed {
                code: ErrorCode::HandlerError,
                message: format!("the stream item `{name}` could not be serialized: {error}"),
            },
        }
    }
}

impl<T: IntoStreamItem<K>, E: Display, K> IntoStreamItem<Fallible<T, K>> for Result<T, E> {
    fn into_stream_item(self, reply_to: &ReplyTo, name: &'static str) -> StreamItem {
        match self {
            Ok(item) => item.into_stream_item(reply_to, name),
            Err(error) => StreamItem::Failed {
                code: ErrorCode::HandlerError,
                message: error.to_string(),
            },
        }
    }
}

/// Adds `,"Id":<id>` to an envelope exws encoded (a compact JSON object, so its last byte is
/// the closing brace).
pub(crate) fn with_id(envelope: &str, id: Option<&str>) -> String {
    match (id, envelope.strip_suffix('}')) {
        (Some(id), Some(open)) => {
            let mut text = String::with_capacity(envelope.len() + id.len() + 6);
            text.push_str(open);
            text.push_str(",\"Id\":");
            text.push_str(id);
            text.push('}');
            text
        }
        _ => envelope.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_added_to_an_encoded_envelope() {
        let envelope = r#"{"Type":"RoomMessage","Data":{"text":"}"}}"#;
        let with = with_id(envelope, Some("7"));
        assert_eq!(with, r#"{"Type":"RoomMessage","Data":{"text":"}"},"Id":7}"#);
        let parsed: serde_json::Value = serde_json::from_str(&with).unwrap_or_default();
        assert_eq!(parsed["Id"], 7);
        assert_eq!(with_id(envelope, None), envelope);
    }
}
