//! The wire envelope (`{"Type", "Data", "Id"}`) and correlation ids.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::fmt;

/// A correlation id: the `Id` field of an envelope, a JSON string or integer.
///
/// The server echoes the `Id` of a request unchanged on every reply to it (and on stream
/// items opened by it), so the client matches replies to calls by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Id {
    /// A JSON integer.
    Int(i64),
    /// A JSON string.
    Str(String),
}

impl Id {
    /// Reads an `Id` from a JSON value: a string, or an integer that fits an `i64`.
    pub fn from_value(value: &Value) -> Option<Id> {
        match value {
            Value::String(text) => Some(Id::Str(text.clone())),
            Value::Number(number) => number.as_i64().map(Id::Int),
            _ => None,
        }
    }

    /// The id as a JSON value.
    pub fn to_value(&self) -> Value {
        match self {
            Id::Int(number) => Value::from(*number),
            Id::Str(text) => Value::String(text.clone()),
        }
    }

    /// Parses command-line text: an integer when it reads as one, a string otherwise.
    ///
    /// ```
    /// use exws_client::Id;
    /// assert_eq!(Id::parse("7"), Id::Int(7));
    /// assert_eq!(Id::parse("req-7"), Id::Str("req-7".into()));
    /// ```
    pub fn parse(text: &str) -> Id {
        match text.parse::<i64>() {
            Ok(number) => Id::Int(number),
            Err(_) => Id::Str(text.to_owned()),
        }
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Int(number) => write!(f, "{number}"),
            Id::Str(text) => write!(f, "{text:?}"),
        }
    }
}

impl From<i64> for Id {
    fn from(number: i64) -> Self {
        Id::Int(number)
    }
}

impl From<i32> for Id {
    fn from(number: i32) -> Self {
        Id::Int(number.into())
    }
}

impl From<String> for Id {
    fn from(text: String) -> Self {
        Id::Str(text)
    }
}

impl From<&str> for Id {
    fn from(text: &str) -> Self {
        Id::Str(text.to_owned())
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Id::Int(number) => serializer.serialize_i64(*number),
            Id::Str(text) => serializer.serialize_str(text),
        }
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Id::from_value(&value).ok_or_else(|| {
            serde::de::Error::custom("`Id` must be a string or an integer that fits an i64")
        })
    }
}

/// One message, in either direction: `{"Type": ..., "Data": ..., "Id": ...}`.
///
/// `Data` is `null` when absent; `Id` is left out of the JSON when `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope {
    /// `Type`: the message type (the handler on the server, the event on the client).
    #[serde(rename = "Type")]
    pub message_type: String,
    /// `Data`: the payload.
    #[serde(rename = "Data")]
    pub data: Value,
    /// `Id`: the correlation id, if any.
    #[serde(rename = "Id", skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
}

/// The shape read from the wire: lenient about `Id`, so that an odd `Id` (a float, a huge
/// integer) does not hide the whole message.
#[derive(Deserialize)]
struct WireEnvelope {
    #[serde(rename = "Type")]
    message_type: String,
    #[serde(rename = "Data", default)]
    data: Value,
    #[serde(rename = "Id", default)]
    id: Option<Value>,
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = WireEnvelope::deserialize(deserializer)?;
        let id = match wire.id {
            None | Some(Value::Null) => None,
            Some(value) => {
                let id = Id::from_value(&value);
                if id.is_none() {
                    tracing::debug!(id = %value, "ignoring an `Id` that is not a string or an i64");
                }
                id
            }
        };
        Ok(Envelope {
            message_type: wire.message_type,
            data: wire.data,
            id,
        })
    }
}

impl Envelope {
    /// An envelope of the given `Type` and `Data`, without `Id`.
    pub fn new(message_type: impl Into<String>, data: Value) -> Self {
        Envelope {
            message_type: message_type.into(),
            data,
            id: None,
        }
    }

    /// Sets the `Id`.
    pub fn with_id(mut self, id: impl Into<Id>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Decodes `Data` into `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.data)
    }

    /// Whether this is an `Error` envelope.
    pub fn is_error(&self) -> bool {
        self.message_type == ERROR_TYPE
    }

    /// Serializes to the JSON text of one frame.
    pub fn to_json(&self) -> String {
        // Serializing a `Value` tree with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("null"))
    }

    /// Parses the JSON text of one frame.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// The `Type` of error envelopes.
pub const ERROR_TYPE: &str = exws_protocol::message_type::ERROR;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serializes_with_wire_field_names() {
        let envelope = Envelope::new("Calc", json!({"numbers": [1, 2]})).with_id(7);
        assert_eq!(
            envelope.to_json(),
            r#"{"Type":"Calc","Data":{"numbers":[1,2]},"Id":7}"#
        );
        let without_id = Envelope::new("Ping", Value::Null);
        assert_eq!(without_id.to_json(), r#"{"Type":"Ping","Data":null}"#);
    }

    #[test]
    fn parses_missing_data_as_null_and_string_ids() {
        let envelope = Envelope::from_json(r#"{"Type":"Pong","Id":"a-1","Extra":1}"#).unwrap();
        assert_eq!(envelope.message_type, "Pong");
        assert_eq!(envelope.data, Value::Null);
        assert_eq!(envelope.id, Some(Id::Str("a-1".into())));
    }

    #[test]
    fn odd_ids_are_dropped_not_fatal() {
        let envelope = Envelope::from_json(r#"{"Type":"T","Data":1,"Id":1.5}"#).unwrap();
        assert_eq!(envelope.id, None);
        let huge = Envelope::from_json(r#"{"Type":"T","Id":18446744073709551615}"#).unwrap();
        assert_eq!(huge.id, None);
    }

    #[test]
    fn rejects_frames_without_type() {
        assert!(Envelope::from_json(r#"{"Data":1}"#).is_err());
        assert!(Envelope::from_json(r#"{"Type":3}"#).is_err());
        assert!(Envelope::from_json("not json").is_err());
    }

    #[test]
    fn ids_parse_and_display() {
        assert_eq!(Id::parse("-3"), Id::Int(-3));
        assert_eq!(Id::parse("x"), Id::Str("x".into()));
        assert_eq!(Id::Int(3).to_string(), "3");
        assert_eq!(Id::Str("x".into()).to_string(), "\"x\"");
        assert_eq!(Id::from_value(&json!(true)), None);
    }
}
