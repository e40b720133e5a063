//! Writing outgoing envelopes.

use super::{ErrorBody, ErrorCode};
use serde::Serialize;
use std::sync::Arc;

/// The `Id` a reply echoes: the raw JSON text of the request's `Id`, if it had one.
#[derive(Debug, Clone, Default)]
pub struct ReplyTo {
    id: RawId,
}

/// An `Id`'s JSON text, kept inline when short (most are), so that no request pays an
/// allocation for it.
#[derive(Debug, Clone, Default)]
enum RawId {
    #[default]
    None,
    Inline {
        bytes: [u8; INLINE_ID],
        len: u8,
    },
    Shared(Arc<str>),
}

const INLINE_ID: usize = 30;

impl ReplyTo {
    pub(crate) fn new(id: Option<&str>) -> Self {
        let id = match id {
            None => RawId::None,
            Some(text) if text.len() <= INLINE_ID => {
                let mut bytes = [0u8; INLINE_ID];
                bytes[..text.len()].copy_from_slice(text.as_bytes());
                RawId::Inline {
                    bytes,
                    len: text.len() as u8,
                }
            }
            Some(text) => RawId::Shared(Arc::from(text)),
        };
        ReplyTo { id }
    }

    pub(crate) fn id(&self) -> Option<&str> {
        match &self.id {
            RawId::None => None,
            // Built from a `&str` cut at its own length: always valid UTF-8.
            RawId::Inline { bytes, len } => std::str::from_utf8(&bytes[..usize::from(*len)]).ok(),
            RawId::Shared(text) => Some(text),
        }
    }
}

/// The default `Type` of a push (`Connection::send`, `Recipients::send`): the last path segment
/// of the Rust type, without generics. Handler replies do not use it: `#[message]` names them at
/// compile time from the signature.
pub(crate) fn message_type_name<T: ?Sized>() -> &'static str {
    last_segment(std::any::type_name::<T>())
}

/// `a::b::Name<c::D>` → `Name`. A byte scan: this runs for every push.
fn last_segment(full: &str) -> &str {
    let bytes = full.as_bytes();
    let end = bytes
        .iter()
        .position(|&byte| byte == b'<')
        .unwrap_or(bytes.len());
    let start = bytes[..end]
        .iter()
        .rposition(|&byte| byte == b':')
        .map_or(0, |colon| colon + 1);
    &full[start..end]
}

/// Encodes `{"Type": message_type, "Data": data, "Id": id}`.
pub(crate) fn encode<T: Serialize + ?Sized>(
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

/// Encodes an `Error` envelope.
pub(crate) fn encode_error(
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
    match encode("Error", &body, id) {
        Ok(text) => text,
        // An `ErrorBody` always serializes; keep a fixed fallback rather than a panic.
        Err(_) => format!(r#"{{"Type":"Error","Data":{{"code":"{code}","message":"error"}}}}"#),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod api {
        pub struct CalculateResponse<T>(pub T);
    }

    #[test]
    fn names_types_by_their_last_segment() {
        assert_eq!(
            message_type_name::<api::CalculateResponse<Vec<u8>>>(),
            "CalculateResponse"
        );
        assert_eq!(message_type_name::<u32>(), "u32");
    }

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
    fn keeps_short_and_long_ids() {
        assert_eq!(ReplyTo::new(None).id(), None);
        assert_eq!(ReplyTo::new(Some("7")).id(), Some("7"));
        let long = format!("\"{}\"", "é".repeat(40));
        assert_eq!(ReplyTo::new(Some(&long)).id(), Some(long.as_str()));
        let edge = "\"".to_owned() + &"x".repeat(28) + "\"";
        assert_eq!(ReplyTo::new(Some(&edge)).id(), Some(edge.as_str()));
    }

    #[test]
    fn encodes_errors_with_type_and_id() {
        let text = encode_error(ErrorCode::UnknownType, "no".into(), Some("Foo"), Some("7"));
        assert_eq!(
            text,
            r#"{"Type":"Error","Data":{"code":"unknown_type","message":"no","type":"Foo"},"Id":7}"#
        );
    }
}
