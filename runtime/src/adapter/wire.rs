//! The payload of a hub message between processes, on any engine (Redis, NATS): a one-line
//! JSON header, then the body (the envelope of a message; the `Data` of a call; the answer of
//! a callee).

use crate::connection::ConnectionId;
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
    /// A server call: the body is the request's `Data`.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    call: Option<CallHeader>,
    /// A callee's answer to a call of the receiving process: the body is the answer's `Data`
    /// (`ok`), the refusal's `{"code","message"}` (`refused`), or empty.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    answer: Option<AnswerHeader>,
    /// The publisher's sequence number, for an engine whose receiver puts several
    /// subscriptions back in publishing order (0: none).
    #[serde(rename = "s", default, skip_serializing_if = "is_zero")]
    seq: u64,
    /// A recorded room message: a line `epoch:seq` follows the header (every process, the
    /// publisher included, delivers it).
    #[serde(rename = "r", default, skip_serializing_if = "is_false")]
    recorded: bool,
}

fn is_false(value: &bool) -> bool {
    !value
}

fn is_zero(seq: &u64) -> bool {
    *seq == 0
}

/// A server call published to the processes holding its callees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CallHeader {
    /// The call's number on the asking process (the publisher), for its answers.
    #[serde(rename = "i")]
    pub id: u64,
    /// The request's `Type`.
    #[serde(rename = "y")]
    pub message_type: String,
    /// How long each callee has to answer, in milliseconds.
    #[serde(rename = "ms")]
    pub timeout_ms: u64,
}

/// One callee's answer, published to the asking process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AnswerHeader {
    /// The call's number on the asking process.
    #[serde(rename = "i")]
    pub id: u64,
    /// The callee.
    #[serde(rename = "c")]
    pub connection: ConnectionId,
    /// What came of it.
    #[serde(rename = "k")]
    pub kind: AnswerKind,
}

/// What came of calling one connection, on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AnswerKind {
    Ok,
    Refused,
    Timeout,
    Closed,
    Busy,
}

/// A decoded payload.
pub(crate) struct Payload<'a> {
    pub node: &'a str,
    /// Read by the engines that reorder (NATS).
    #[cfg_attr(not(feature = "nats"), allow(dead_code))]
    pub seq: u64,
    pub except: Vec<ConnectionId>,
    pub to: Option<ConnectionId>,
    /// Read by the engines that carry server calls (Redis).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub call: Option<CallHeader>,
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub answer: Option<AnswerHeader>,
    /// The position of a recorded room message.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub position: Option<crate::adapter::Position>,
    pub text: &'a str,
}

/// What a payload carries besides its node, exclusions and direct receiver.
pub(crate) enum Kind {
    Message,
    /// Sent by the engines that carry server calls (Redis).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Call(CallHeader),
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Answer(AnswerHeader),
}

/// The header line of a recorded room message (the history script adds the position line and
/// the text).
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn recorded_header(node: &str, except: &[ConnectionId]) -> String {
    let header = Header {
        node,
        except: except.to_vec(),
        to: None,
        call: None,
        answer: None,
        seq: 0,
        recorded: true,
    };
    // A header of strings always serializes.
    serde_json::to_string(&header).unwrap_or_default()
}

pub(crate) fn encode(
    node: &str,
    seq: u64,
    except: &[ConnectionId],
    to: Option<&ConnectionId>,
    text: &str,
) -> Vec<u8> {
    encode_kind(node, seq, except, to, Kind::Message, text)
}

pub(crate) fn encode_kind(
    node: &str,
    seq: u64,
    except: &[ConnectionId],
    to: Option<&ConnectionId>,
    kind: Kind,
    text: &str,
) -> Vec<u8> {
    let (call, answer) = match kind {
        Kind::Message => (None, None),
        Kind::Call(call) => (Some(call), None),
        Kind::Answer(answer) => (None, Some(answer)),
    };
    let header = Header {
        node,
        seq,
        except: except.to_vec(),
        to: to.cloned(),
        call,
        answer,
        recorded: false,
    };
    // A header of strings and numbers always serializes.
    let mut out = serde_json::to_vec(&header).unwrap_or_default();
    out.push(b'\n');
    out.extend_from_slice(text.as_bytes());
    out
}

pub(crate) fn decode(payload: &[u8]) -> Option<Payload<'_>> {
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
        seq: header.seq,
        except: header.except,
        to: header.to,
        call: header.call,
        answer: header.answer,
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
            7,
            &except,
            Some(&to),
            "{\"Type\":\"X\",\"Data\":\"1\\n2\"}",
        );
        let payload = decode(&bytes).expect("decodes");
        assert_eq!(payload.node, "node1");
        assert_eq!(payload.seq, 7);
        assert_eq!(payload.except, except);
        assert_eq!(payload.to, Some(to));
        assert!(payload.call.is_none() && payload.answer.is_none());
        assert_eq!(payload.text, "{\"Type\":\"X\",\"Data\":\"1\\n2\"}");
    }

    #[test]
    fn round_trips_calls_and_answers() {
        let call = CallHeader {
            id: 7,
            message_type: "Vote\n".to_owned(),
            timeout_ms: 1500,
        };
        let bytes = encode_kind("n", 0, &[], None, Kind::Call(call.clone()), "{\"q\":1}");
        let payload = decode(&bytes).expect("decodes");
        assert_eq!(payload.call, Some(call));
        assert_eq!(payload.text, "{\"q\":1}");

        let answer = AnswerHeader {
            id: 7,
            connection: ConnectionId::from("p.1"),
            kind: AnswerKind::Refused,
        };
        let bytes = encode_kind("m", 0, &[], None, Kind::Answer(answer.clone()), "");
        let payload = decode(&bytes).expect("decodes");
        assert_eq!(payload.answer, Some(answer));
        assert_eq!(payload.text, "");
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
