//! The `Id` a reply echoes, and the `Type` of a push (the envelope writers are the protocol
//! crate's).

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

    /// The `Id`'s text as bytes, for writing it into an envelope (which is checked to be UTF-8
    /// whole): [`id`](Self::id) checks an inline `Id` again each time.
    pub(crate) fn id_bytes(&self) -> Option<&[u8]> {
        match &self.id {
            RawId::None => None,
            RawId::Inline { bytes, len } => bytes.get(..usize::from(*len)),
            RawId::Shared(text) => Some(text.as_bytes()),
        }
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

/// The default `Type` of a push (`Connection::send`, `Recipients::send`): the protocol's naming
/// rule on the Rust type. Handler replies do not use it: `#[message]` names them at compile time
/// from the signature.
pub(crate) fn message_type_name<T: ?Sized>() -> &'static str {
    exws_protocol::type_name_of::<T>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_short_and_long_ids() {
        assert_eq!(ReplyTo::new(None).id(), None);
        assert_eq!(ReplyTo::new(Some("7")).id(), Some("7"));
        let long = format!("\"{}\"", "é".repeat(40));
        assert_eq!(ReplyTo::new(Some(&long)).id(), Some(long.as_str()));
        let edge = "\"".to_owned() + &"x".repeat(28) + "\"";
        assert_eq!(ReplyTo::new(Some(&edge)).id(), Some(edge.as_str()));
        for id in [None, Some("7"), Some(long.as_str()), Some(edge.as_str())] {
            assert_eq!(ReplyTo::new(id).id_bytes(), id.map(str::as_bytes));
        }
    }
}
