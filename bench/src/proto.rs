//! The messages of the benchmark, as the exws calculator and chat examples define them, and
//! the request texts of each wire protocol.

use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// Sum these numbers (`Type` `CalculateRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalculateRequest {
    /// The numbers to add.
    pub numbers: Vec<i64>,
}

/// The sum (`Type` `CalculateResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalculateResponse {
    /// The sum of the request's numbers.
    pub result: i64,
}

/// Join a room (`Type` `JoinRoom`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRoom {
    /// The room.
    pub room: String,
}

/// The answer to [`JoinRoom`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Joined {
    /// The room.
    pub room: String,
    /// The room's member count after joining.
    pub members: usize,
}

/// Send a text to every other member of a room (`Type` `SendToRoom`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendToRoom {
    /// The room.
    pub room: String,
    /// The text.
    pub text: String,
}

/// A text sent to a room, as its members receive it (`Type` `RoomMessage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomMessage {
    /// The room.
    pub room: String,
    /// The sender's connection id.
    pub from: String,
    /// The text.
    pub text: String,
}

/// A [`RoomMessage`] envelope as received, borrowing from the frame.
#[derive(Debug, Deserialize)]
pub struct RoomMessageEnvelope<'a> {
    /// Must be `RoomMessage`.
    #[serde(rename = "Type", borrow)]
    pub message_type: &'a str,
    /// The message.
    #[serde(rename = "Data", borrow)]
    pub data: RoomMessageRef<'a>,
}

/// The `Data` of a [`RoomMessageEnvelope`].
#[derive(Debug, Deserialize)]
pub struct RoomMessageRef<'a> {
    /// The room.
    #[serde(borrow)]
    pub room: &'a str,
    /// The text (the benchmark's texts need no JSON escapes).
    #[serde(borrow)]
    pub text: &'a str,
}

/// The wire protocol the load generator speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// exws envelopes: `CalculateRequest` answered by `CalculateResponse`, matched by `Id`.
    Exws,
    /// exws request envelopes, answered by an echo server with the same text.
    Echo,
    /// JSON-RPC 2.0: method `calculate` with params `{"numbers": [...]}`.
    Jsonrpc,
}

/// The numbers of request `id`: `count` numbers derived from the id (modulo 1000), so that
/// every reply can be checked without keeping the request.
pub fn numbers(id: u64, count: usize) -> impl Iterator<Item = i64> {
    let id = id % NUMBER_PERIOD;
    (0..count as u64).map(move |j| ((id * 31 + j * 7) % NUMBER_PERIOD) as i64 - 500)
}

/// The right result of request `id`.
pub fn expected(id: u64, count: usize) -> i64 {
    numbers(id, count).sum()
}

/// The numbers of a request depend on its id modulo this.
const NUMBER_PERIOD: u64 = 1000;

/// The JSON text of the numbers of every id modulo 1000, for `count` numbers per request: the
/// load generator formats them once, not per request.
#[derive(Debug, Clone)]
pub struct NumberTexts {
    texts: Vec<String>,
}

impl NumberTexts {
    /// The texts for requests of `count` numbers.
    pub fn new(count: usize) -> Self {
        let texts = (0..NUMBER_PERIOD)
            .map(|id| {
                numbers(id, count)
                    .map(|number| number.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        NumberTexts { texts }
    }

    fn get(&self, id: u64) -> &str {
        &self.texts[(id % NUMBER_PERIOD) as usize]
    }
}

/// Writes the text of request `id` into `out` (cleared first).
pub fn write_request(out: &mut String, protocol: Protocol, id: u64, count: usize) {
    write_request_with(out, protocol, id, &NumberTexts::new(count));
}

/// Writes the text of request `id` into `out` (cleared first), with preformatted numbers.
pub fn write_request_with(out: &mut String, protocol: Protocol, id: u64, numbers: &NumberTexts) {
    out.clear();
    match protocol {
        Protocol::Exws | Protocol::Echo => {
            out.push_str(r#"{"Type":"CalculateRequest","Data":{"numbers":["#)
        }
        Protocol::Jsonrpc => {
            let _ = write!(
                out,
                r#"{{"jsonrpc":"2.0","id":{id},"method":"calculate","params":{{"numbers":["#
            );
        }
    }
    out.push_str(numbers.get(id));
    match protocol {
        Protocol::Exws | Protocol::Echo => {
            let _ = write!(out, "]}},\"Id\":{id}}}");
        }
        Protocol::Jsonrpc => out.push_str("]}}"),
    }
}

#[derive(Deserialize)]
struct ExwsReply<'a> {
    #[serde(rename = "Type", borrow)]
    message_type: &'a str,
    #[serde(rename = "Data")]
    data: CalculateResponse,
    #[serde(rename = "Id")]
    id: u64,
}

#[derive(Deserialize)]
struct EchoReply<'a> {
    #[serde(rename = "Type", borrow)]
    message_type: &'a str,
    #[serde(rename = "Data")]
    data: CalculateRequest,
    #[serde(rename = "Id")]
    id: u64,
}

#[derive(Deserialize)]
struct JsonRpcReply<'a> {
    #[serde(borrow)]
    jsonrpc: &'a str,
    id: u64,
    result: CalculateResponse,
}

/// Reads a reply: its request id and whether its result is the right one for that id.
/// `None` for a frame that is not a reply of `protocol` (e.g. an `Error`).
pub fn check_reply(protocol: Protocol, text: &str, count: usize) -> Option<(u64, bool)> {
    match protocol {
        Protocol::Exws => {
            let reply: ExwsReply<'_> = serde_json::from_str(text).ok()?;
            let right = reply.message_type == "CalculateResponse"
                && reply.data.result == expected(reply.id, count);
            Some((reply.id, right))
        }
        Protocol::Echo => {
            let reply: EchoReply<'_> = serde_json::from_str(text).ok()?;
            let right = reply.message_type == "CalculateRequest"
                && reply.data.numbers.len() == count
                && reply
                    .data
                    .numbers
                    .iter()
                    .copied()
                    .eq(numbers(reply.id, count));
            Some((reply.id, right))
        }
        Protocol::Jsonrpc => {
            let reply: JsonRpcReply<'_> = serde_json::from_str(text).ok()?;
            let right = reply.jsonrpc == "2.0" && reply.result.result == expected(reply.id, count);
            Some((reply.id, right))
        }
    }
}

/// The `JoinRoom` envelope for `room`.
pub fn join_room(room: &str) -> String {
    envelope(
        "JoinRoom",
        &JoinRoom {
            room: room.to_owned(),
        },
    )
}

/// The `SendToRoom` envelope of `text` to `room`.
pub fn send_to_room(room: &str, text: &str) -> String {
    envelope(
        "SendToRoom",
        &SendToRoom {
            room: room.to_owned(),
            text: text.to_owned(),
        },
    )
}

fn envelope<T: Serialize>(message_type: &str, data: &T) -> String {
    serde_json::json!({"Type": message_type, "Data": data}).to_string()
}

/// Whether `text` is the `Joined` reply for `room`.
pub fn is_joined(text: &str, room: &str) -> bool {
    #[derive(Deserialize)]
    struct Reply {
        #[serde(rename = "Type")]
        message_type: String,
        #[serde(rename = "Data")]
        data: Joined,
    }
    serde_json::from_str::<Reply>(text)
        .is_ok_and(|reply| reply.message_type == "Joined" && reply.data.room == room)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_agree() {
        let mut text = String::new();
        write_request(&mut text, Protocol::Exws, 42, 3);
        let request: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(request["Id"], 42);
        let sum: i64 = request["Data"]["numbers"]
            .as_array()
            .expect("numbers")
            .iter()
            .map(|n| n.as_i64().expect("integer"))
            .sum();
        assert_eq!(sum, expected(42, 3));
        let reply = format!(r#"{{"Type":"CalculateResponse","Data":{{"result":{sum}}},"Id":42}}"#);
        assert_eq!(check_reply(Protocol::Exws, &reply, 3), Some((42, true)));
        assert_eq!(check_reply(Protocol::Echo, &text, 3), Some((42, true)));
        write_request(&mut text, Protocol::Jsonrpc, 9, 4);
        let request: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(request["id"], 9);
        assert_eq!(
            request["params"]["numbers"].as_array().map(Vec::len),
            Some(4)
        );
        let reply = format!(
            r#"{{"jsonrpc":"2.0","id":9,"result":{{"result":{}}}}}"#,
            expected(9, 4)
        );
        assert_eq!(check_reply(Protocol::Jsonrpc, &reply, 4), Some((9, true)));
        let wrong = r#"{"jsonrpc":"2.0","id":9,"result":{"result":123456}}"#;
        assert_eq!(check_reply(Protocol::Jsonrpc, wrong, 4), Some((9, false)));
    }
}
