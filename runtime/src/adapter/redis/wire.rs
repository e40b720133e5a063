//! The payload of a message published on Redis: a one-line JSON header, then the envelope.

use crate::ConnectionId;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    /// The publishing process (it skips its own messages).
    #[serde(rename = "n", borrow)]
    node: &'a str,
    /// Connections left out.
    #[serde(rename = "x", default, skip_serializing_if = "Vec::is_empty")]
    except: Vec<ConnectionId>,
    /// The receiving connection of a direct message.
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    to: Option<ConnectionId>,
    /// A recorded room message: a line `epoch:seq` follows the header (every process, the
    /// publisher included, delivers it).
    #[serde(rename = "r", default, skip_serializing_if = "is_false")]
    recorded: bool,
}

fn is_false(value: &bool) -> bool {
    !value
}

/// A decoded payload.
pub(super) struct Payload<'a> {
    pub node: &'a str,
    pub except: Vec<ConnectionId>,
    pub to: Option<ConnectionId>,
    /// The position of a recorded room message.
    pub position: Option<crate::adapter::Position>,
    pub text: &'a str,
}

/// The header line of a recorded room message (the history script adds the position line and
/// the text).
pub(super) fn recorded_header(node: &str, except: &[ConnectionId]) -> String {
    let header = Header {
        node,
        except: except.to_vec(),
        to: None,
        recorded: true,
    };
    // A header of strings always serializes.
    serde_json::to_string(&header).unwrap_or_default()
}

pub(super) fn encode(
    node: &str,
    except: &[ConnectionId],
    to: Option<&ConnectionId>,
    text: &str,
) -> Vec<u8> {
    let header = Header {
        node,
        except: except.to_vec(),
        to: to.cloned(),
        recorded: false,
    };
    // A header of strings always serializes.
    let mut out = serde_json::to_vec(&header).unwrap_or_default();
    out.push(b'\n');
    out.extend_from_slice(text.as_bytes());
    out
}

pub(super) fn decode(payload: &[u8]) -> Option<Payload<'_>> {
    let text = std::str::from_utf8(payload).ok()?;
    let (header, body) = text.split_once('\n')?;
    let header: Header<'_> = serde_json::from_str(header).ok()?;
    let (position, body) = match header.recorded {
        false => (None, body),
        true => {
            let (position, body) = body.split_once('\n')?;
            let (epoch, seq) = position.rsplit_once(':')?;
            let position = crate::adapter::Position::new(epoch, seq.parse().ok()?);
            (Some(position), body)
        }
    };
    Some(Payload {
        node: header.node,
        except: header.except,
        to: header.to,
        position,
        text: body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_header_and_text() {
        let except = vec![ConnectionId::from("a\nb")];
        let to = ConnectionId::from("c");
        let bytes = encode(
            "node1",
            &except,
            Some(&to),
            "{\"Type\":\"X\",\"Data\":\"1\\n2\"}",
        );
        let payload = decode(&bytes).expect("decodes");
        assert_eq!(payload.node, "node1");
        assert_eq!(payload.except, except);
        assert_eq!(payload.to, Some(to));
        assert_eq!(payload.text, "{\"Type\":\"X\",\"Data\":\"1\\n2\"}");
    }

    #[test]
    fn a_recorded_payload_carries_its_position() {
        let mut bytes = recorded_header("n1", &[]).into_bytes();
        bytes.extend_from_slice(b"\nab12:42\n{\"Type\":\"X\"}");
        let payload = decode(&bytes).expect("decodes");
        assert_eq!(
            payload.position,
            Some(crate::adapter::Position::new("ab12", 42))
        );
        assert_eq!(payload.text, "{\"Type\":\"X\"}");
        assert!(decode(b"{\"n\":\"n\",\"r\":true}\nno position").is_none());
    }

    #[test]
    fn rejects_foreign_payloads() {
        assert!(decode(b"hello").is_none());
        assert!(decode(&[0xff, b'\n']).is_none());
    }
}
