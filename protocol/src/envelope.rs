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
    encode_with_raw_id(message_type, data, id.map(str::as_bytes))
}

/// [`encode`] with the `Id`'s raw JSON text given as bytes, for a caller that keeps it as
/// bytes: the envelope is checked to be UTF-8 once, whole, so bytes that are no UTF-8 make an
/// error, not a frame.
#[doc(hidden)]
pub fn encode_with_raw_id<T: Serialize + ?Sized>(
    message_type: &str,
    data: &T,
    id: Option<&[u8]>,
) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(64 + message_type.len());
    if needs_escape(message_type.as_bytes()) {
        out.extend_from_slice(b"{\"Type\":");
        serde_json::to_writer(&mut out, message_type)?;
        out.extend_from_slice(b",\"Data\":");
    } else {
        // The common case (every name the naming rule makes): the name as it is, without
        // serde_json's byte-by-byte escaping.
        out.extend_from_slice(b"{\"Type\":\"");
        out.extend_from_slice(message_type.as_bytes());
        out.extend_from_slice(b"\",\"Data\":");
    }
    serde_json::to_writer(&mut out, data)?;
    if let Some(id) = id {
        out.extend_from_slice(b",\"Id\":");
        out.extend_from_slice(id);
    }
    out.push(b'}');
    // serde_json writes UTF-8, and so does every caller's `id`: checked, not assumed.
    String::from_utf8(out).map_err(|error| {
        serde_json::Error::io(std::io::Error::new(std::io::ErrorKind::InvalidData, error))
    })
}

/// Whether a JSON string of `bytes` needs escapes: a `"`, a `\\` or a control character
/// (below U+0020), the bytes serde_json escapes. Eight bytes at a time, without branches per
/// byte: a lookup per byte is most of what serde_json's writing of a short name costs.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    const SPACES: u64 = ONES * 0x20;
    // The high bit of some byte is set when a byte of `word` is below 0x20, a quote or a
    // backslash (the "has a zero byte" trick; exact for the word as a whole).
    fn flags(word: u64) -> u64 {
        let quotes = word ^ QUOTES;
        let backslashes = word ^ BACKSLASHES;
        ((word.wrapping_sub(SPACES) & !word)
            | (quotes.wrapping_sub(ONES) & !quotes)
            | (backslashes.wrapping_sub(ONES) & !backslashes))
            & HIGHS
    }
    if bytes.len() < 8 {
        return bytes
            .iter()
            .any(|&byte| byte < 0x20 || byte == b'"' || byte == b'\\');
    }
    let word_at = |at: usize| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(word)
    };
    let mut found = 0;
    let mut at = 0;
    while at + 8 <= bytes.len() {
        found |= flags(word_at(at));
        at += 8;
    }
    if at < bytes.len() {
        // The last eight bytes, overlapping the words already seen.
        found |= flags(word_at(bytes.len() - 8));
    }
    found != 0
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
    fn names_are_escaped_exactly_as_serde_json_escapes_them() {
        // Every byte that needs an escape, at every place in names across the 8-byte words,
        // next to bytes that do not (ASCII, multi-byte UTF-8, DEL).
        let specials = [
            '"', '\\', '\0', '\n', '\u{1f}', '\u{7f}', 'é', '€', ' ', 'A',
        ];
        for len in 0..20 {
            for at in 0..len.max(1) {
                for special in specials {
                    let name: String = (0..len)
                        .map(|index| if index == at { special } else { 'x' })
                        .collect();
                    let expected = format!(
                        r#"{{"Type":{},"Data":null}}"#,
                        serde_json::to_string(&name).expect("a string serializes")
                    );
                    assert_eq!(
                        encode(&name, &(), None).expect("encodes"),
                        expected,
                        "{name:?}"
                    );
                }
            }
        }
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
