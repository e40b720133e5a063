//! The envelope: every message, in both directions, is one JSON object in a text frame,
//! `{"Type": "...", "Data": ..., "Id": ...}`.
//!
//! `Type` (a string) names the handler on the server and the event on the client; `Data` (any
//! JSON value, `null` when absent) is the payload; `Id` (a string or an integer, optional) is
//! the correlation id a client chooses and every reply to its request echoes unchanged.
//! Unknown extra top-level fields are ignored.

use crate::error_code::ErrorCode;
use crate::message_type::ERROR;
use serde::{Deserialize, Serialize};

/// The name of the `Type` field.
pub const TYPE_FIELD: &str = "Type";
/// The name of the `Data` field.
pub const DATA_FIELD: &str = "Data";
/// The name of the `Id` field.
pub const ID_FIELD: &str = "Id";

/// The longest integer `Id`, in digits (a minus sign aside). Past about 309 digits a number is
/// out of `f64`'s range and common JSON readers refuse it, and the reply with it; a server
/// answers a longer one with `invalid_envelope`.
pub const MAX_INTEGER_ID_DIGITS: usize = 64;

/// Writes `{"Type": message_type, "Data": data, "Id": id}` as one frame's text, in that field
/// order, without whitespace. `id` is the `Id`'s raw JSON text (a JSON string with its quotes,
/// or an integer), written as given so that an echoed `Id` is byte for byte the request's;
/// `None` leaves the field out.
///
/// Fails only when `data` does not serialize to JSON.
///
/// ```
/// let text = exws_protocol::envelope::encode("CalculateResponse", &4, Some("7")).unwrap();
/// assert_eq!(text, r#"{"Type":"CalculateResponse","Data":4,"Id":7}"#);
/// ```
pub fn encode<T: Serialize + ?Sized>(
    message_type: &str,
    data: &T,
    id: Option<&str>,
) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(64 + message_type.len());
    out.extend_from_slice(b"{\"Type\":");
    serde_json::to_writer(&mut out, message_type)?;
    out.extend_from_slice(b",\"Data\":");
    serde_json::to_writer(&mut out, data)?;
    if let Some(id) = id {
        out.extend_from_slice(b",\"Id\":");
        out.extend_from_slice(id.as_bytes());
    }
    out.push(b'}');
    // serde_json writes UTF-8 and `id` is a `str`: this cannot fail, but stay panic-free.
    String::from_utf8(out).map_err(|error| {
        serde_json::Error::io(std::io::Error::new(std::io::ErrorKind::InvalidData, error))
    })
}

/// The `Data` of an `Error` envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The stable error code.
    pub code: ErrorCode,
    /// A description for people; may change between versions.
    pub message: String,
    /// The offending message `Type`, when it is known.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
}

/// Writes an `Error` envelope: `{"Type":"Error","Data":{"code":..,"message":..,"type":..},"Id":..}`
/// (`type` and `Id` left out when `None`; `id` is raw JSON text, as for [`encode`]).
///
/// ```
/// use exws_protocol::{envelope::encode_error, ErrorCode};
///
/// assert_eq!(
///     encode_error(ErrorCode::UnknownType, "no handler".into(), Some("Foo"), None),
///     r#"{"Type":"Error","Data":{"code":"unknown_type","message":"no handler","type":"Foo"}}"#
/// );
/// ```
pub fn encode_error(
    code: ErrorCode,
    message: String,
    message_type: Option<&str>,
    id: Option<&str>,
) -> String {
    let body = ErrorBody {
        code,
        message,
        message_type: message_type.map(str::to_owned),
    };
    match encode(ERROR, &body, id) {
        Ok(text) => text,
        // An `ErrorBody` always serializes; keep a fixed fallback rather than a panic.
        Err(_) => format!(
            r#"{{"Type":"Error","Data":{{"code":"{}","message":"error"}}}}"#,
            body.code
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_with_and_without_id() {
        let data = serde_json::json!({"result": 4});
        assert_eq!(
            encode("CalculateResponse", &data, None).expect("encodes"),
            r#"{"Type":"CalculateResponse","Data":{"result":4}}"#
        );
        assert_eq!(
            encode("A", &1, Some(r#""x""#)).expect("encodes"),
            r#"{"Type":"A","Data":1,"Id":"x"}"#
        );
    }

    #[test]
    fn escapes_the_type() {
        assert_eq!(
            encode("a\"b", &(), None).expect("encodes"),
            r#"{"Type":"a\"b","Data":null}"#
        );
    }

    #[test]
    fn encodes_errors_with_type_and_id() {
        let text = encode_error(ErrorCode::UnknownType, "no".into(), Some("Foo"), Some("7"));
        assert_eq!(
            text,
            r#"{"Type":"Error","Data":{"code":"unknown_type","message":"no","type":"Foo"},"Id":7}"#
        );
    }

    #[test]
    fn error_bodies_read_back_with_or_without_type() {
        let body: ErrorBody =
            serde_json::from_str(r#"{"code":"rate_limited","message":"slow down"}"#)
                .expect("reads");
        assert_eq!(body.code, ErrorCode::RateLimited);
        assert_eq!(body.message_type, None);
        let text = serde_json::to_string(&body).expect("writes");
        assert_eq!(text, r#"{"code":"rate_limited","message":"slow down"}"#);
    }

    #[test]
    fn field_names_are_the_wire_names() {
        let text = encode("T", &1, Some("2")).expect("encodes");
        let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(value[TYPE_FIELD], "T");
        assert_eq!(value[DATA_FIELD], 1);
        assert_eq!(value[ID_FIELD], 2);
    }
}
