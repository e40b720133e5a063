//! Writing outgoing envelopes.

use super::{ErrorBody, ErrorCode};
use serde::Serialize;
use std::sync::Arc;

/// The `Id` a reply echoes: the raw JSON text of the request's `Id`, if it had one.
#[derive(Debug, Clone, Default)]
pub struct ReplyTo {
    id: Option<Arc<str>>,
}

impl ReplyTo {
    pub(crate) fn new(id: Option<&str>) -> Self {
        ReplyTo {
            id: id.map(Arc::from),
        }
    }

    pub(crate) fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

/// The default message type name of a Rust type: the last path segment, without generics.
pub(crate) fn message_type_name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    let without_generics = full.split('<').next().unwrap_or(full);
    without_generics
        .rsplit("::")
        .next()
        .unwrap_or(without_generics)
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
    fn encodes_errors_with_type_and_id() {
        let text = encode_error(ErrorCode::UnknownType, "no".into(), Some("Foo"), Some("7"));
        assert_eq!(
            text,
            r#"{"Type":"Error","Data":{"code":"unknown_type","message":"no","type":"Foo"},"Id":7}"#
        );
    }
}
