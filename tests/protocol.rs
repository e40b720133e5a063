//! The wire contract of PROTOCOL.md, seen from a real client: envelopes, `Id` echo, `Data`
//! decoding, and every error code (each leaving the connection usable).

mod harness;

use exws::{handlers, message, Server};
use harness::{error_message, Client, TestServer};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::fmt;
use tokio::io::AsyncWriteExt;

/// A request without payload: decodes from an absent (`null`) `Data`.
#[derive(Deserialize)]
struct Ping;

#[derive(Serialize)]
struct Pong;

#[message]
async fn ping(_request: Ping) -> Pong {
    Pong
}

/// A braced struct without fields.
#[derive(Deserialize)]
struct Status {}

#[derive(Serialize)]
struct StatusReport {
    ok: bool,
}

#[message]
async fn status(_request: Status) -> StatusReport {
    StatusReport { ok: true }
}

/// Only optional and defaulted fields.
#[derive(Deserialize)]
struct Search {
    query: Option<String>,
    #[serde(default = "default_limit")]
    limit: u32,
}

fn default_limit() -> u32 {
    10
}

#[derive(Serialize)]
struct Results {
    query: Option<String>,
    limit: u32,
}

#[message]
async fn search(request: Search) -> Results {
    Results {
        query: request.query,
        limit: request.limit,
    }
}

#[derive(Deserialize)]
struct Name {
    name: String,
}

#[derive(Serialize)]
struct Greeting {
    text: String,
}

/// An optional request: `Data` may be absent.
#[message(type = "greet")]
async fn greet(request: Option<Name>) -> Greeting {
    let name = request.map_or_else(|| "stranger".to_owned(), |request| request.name);
    Greeting {
        text: format!("hello, {name}"),
    }
}

/// An error whose `Display` differs from its `Debug`: the client must see the `Display`.
#[derive(Debug)]
struct QuotaExceeded {
    limit: u32,
}

impl fmt::Display for QuotaExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "quota of {} requests exceeded", self.limit)
    }
}

#[message(type = "fail")]
async fn fail(_request: Value) -> Result<Greeting, QuotaExceeded> {
    Err(QuotaExceeded { limit: 3 })
}

#[message(type = "panic")]
async fn explode(_request: Value) -> Greeting {
    panic!("the handler exploded on purpose")
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Order {
    customer: Customer,
    lines: Vec<Line>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Customer {
    email: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Line {
    quantity: u32,
}

#[message(type = "order")]
async fn order(_request: Order) {}

async fn server() -> TestServer {
    TestServer::start(
        Server::with_handlers(handlers![
            harness::calculate,
            ping,
            status,
            search,
            greet,
            fail,
            explode,
            order
        ])
        .max_message_size(1024),
    )
    .await
}

async fn client() -> (TestServer, Client) {
    let server = server().await;
    let client = server.connect().await;
    (server, client)
}

// ---- Envelopes -------------------------------------------------------------------------

#[tokio::test]
async fn calculator_reply_is_exactly_the_documented_envelope() {
    let (_server, mut client) = client().await;
    client
        .send_text(r#"{"Type": "CalculateRequest", "Data": {"numbers": [2, 2]}}"#)
        .await;
    assert_eq!(
        client.recv_text().await,
        r#"{"Type":"CalculateResponse","Data":{"result":4}}"#
    );
}

#[tokio::test]
async fn integer_id_is_echoed() {
    let (_server, mut client) = client().await;
    client
        .send_text(r#"{"Type": "CalculateRequest", "Data": {"numbers": [1, 2]}, "Id": 7}"#)
        .await;
    assert_eq!(
        client.recv_text().await,
        r#"{"Type":"CalculateResponse","Data":{"result":3},"Id":7}"#
    );
}

#[tokio::test]
async fn negative_and_big_integer_ids_are_echoed_unchanged() {
    let (_server, mut client) = client().await;
    for id in [
        "-12",
        "0",
        "18446744073709551615",
        "123456789012345678901234567890",
    ] {
        client
            .send_text(format!(
                r#"{{"Type":"CalculateRequest","Data":{{"numbers":[1]}},"Id":{id}}}"#
            ))
            .await;
        let reply = client.recv_text().await;
        assert!(
            reply.ends_with(&format!(r#","Id":{id}}}"#)),
            "Id {id} echoed verbatim in {reply}"
        );
    }
}

#[tokio::test]
async fn string_id_with_escapes_is_echoed_byte_for_byte() {
    let (_server, mut client) = client().await;
    let id = r#""a\"b\\c\u00e9\n\ud83d\ude00 é""#;
    client
        .send_text(format!(
            r#"{{"Type":"CalculateRequest","Data":{{"numbers":[5]}},"Id":{id}}}"#
        ))
        .await;
    let reply = client.recv_text().await;
    assert_eq!(
        reply,
        format!(r#"{{"Type":"CalculateResponse","Data":{{"result":5}},"Id":{id}}}"#)
    );
}

#[tokio::test]
async fn a_request_without_id_gets_a_reply_without_id() {
    let (_server, mut client) = client().await;
    let reply = client
        .call("CalculateRequest", json!({ "numbers": [1, 1] }))
        .await;
    let fields = reply.as_object().expect("an object");
    assert!(!fields.contains_key("Id"), "no Id in {reply}");
    assert_eq!(reply["Data"]["result"], 2);
}

#[tokio::test]
async fn absent_data_is_null_for_a_unit_request() {
    let (_server, mut client) = client().await;
    let reply = client.request_text(r#"{"Type":"Ping","Id":"p"}"#).await;
    assert_eq!(reply, json!({ "Type": "Pong", "Data": null, "Id": "p" }));
    let reply = client.request_text(r#"{"Type":"Ping","Data":null}"#).await;
    assert_eq!(reply, json!({ "Type": "Pong", "Data": null }));
}

#[tokio::test]
async fn absent_data_reads_as_an_empty_object_for_structs_without_required_fields() {
    let (_server, mut client) = client().await;
    let reply = client.request_text(r#"{"Type":"Status","Id":1}"#).await;
    assert_eq!(
        reply,
        json!({ "Type": "StatusReport", "Data": { "ok": true }, "Id": 1 })
    );
    let reply = client
        .request_text(r#"{"Type":"Status","Data":null}"#)
        .await;
    assert_eq!(reply["Type"], "StatusReport");

    let reply = client.request_text(r#"{"Type":"Search"}"#).await;
    assert_eq!(
        reply,
        json!({ "Type": "Results", "Data": { "query": null, "limit": 10 } })
    );
    let reply = client
        .call("Search", json!({ "query": "q", "limit": 2 }))
        .await;
    assert_eq!(
        reply,
        json!({ "Type": "Results", "Data": { "query": "q", "limit": 2 } })
    );
    // A struct with a required field still needs `Data`.
    let error = client.request_text(r#"{"Type":"CalculateRequest"}"#).await;
    harness::assert_error(&error, "invalid_data");
    assert!(error_message(&error).contains("numbers"), "{error}");
}

#[tokio::test]
async fn absent_data_is_none_for_an_optional_request() {
    let (_server, mut client) = client().await;
    let reply = client.request_text(r#"{"Type":"greet"}"#).await;
    assert_eq!(reply["Data"]["text"], "hello, stranger");
    let reply = client.call("greet", json!({ "name": "Ada" })).await;
    assert_eq!(
        reply,
        json!({ "Type": "Greeting", "Data": { "text": "hello, Ada" } })
    );
}

#[tokio::test]
async fn unknown_top_level_fields_are_ignored() {
    let (_server, mut client) = client().await;
    let reply = client
        .request_text(
            r#"{"Extra":{"nested":[1,2]},"Type":"CalculateRequest","type":"x","Data":{"numbers":[3,4]},"Id":9,"data":false}"#,
        )
        .await;
    assert_eq!(
        reply,
        json!({ "Type": "CalculateResponse", "Data": { "result": 7 }, "Id": 9 })
    );
}

#[tokio::test]
async fn field_order_does_not_matter() {
    let (_server, mut client) = client().await;
    let reply = client
        .request_text(r#"{"Id":"z","Data":{"numbers":[1,2,3]},"Type":"CalculateRequest"}"#)
        .await;
    assert_eq!(
        reply,
        json!({ "Type": "CalculateResponse", "Data": { "result": 6 }, "Id": "z" })
    );
}

// ---- Errors ----------------------------------------------------------------------------

#[tokio::test]
async fn invalid_json_is_answered_and_the_connection_stays_open() {
    let (_server, mut client) = client().await;
    for text in [
        "{nope",
        "",
        r#"{"Type": "CalculateRequest", "Data": [}"#,
        "[1,",
    ] {
        client.send_text(text).await;
        let error = client.expect_error("invalid_json").await;
        assert!(error.get("Id").is_none(), "no Id to echo: {error}");
        client.assert_alive().await;
    }
}

#[tokio::test]
async fn invalid_envelopes_are_answered_and_the_connection_stays_open() {
    let (_server, mut client) = client().await;
    let cases = [
        ("an array", "[1, 2]"),
        (
            "an array shaped like the envelope",
            r#"["CalculateRequest", {"numbers": [1]}, 1]"#,
        ),
        ("a number", "42"),
        ("a string", r#""CalculateRequest""#),
        ("null", "null"),
        ("a missing Type", r#"{"Data": {"numbers": [1]}}"#),
        ("a numeric Type", r#"{"Type": 5}"#),
        ("a null Type", r#"{"Type": null}"#),
        (
            "an object Type",
            r#"{"Type": {"name": "CalculateRequest"}}"#,
        ),
        (
            "a float Id",
            r#"{"Type": "CalculateRequest", "Data": {"numbers": [1]}, "Id": 1.5}"#,
        ),
        (
            "an exponent Id",
            r#"{"Type": "CalculateRequest", "Data": {"numbers": [1]}, "Id": 1e3}"#,
        ),
        (
            "an array Id",
            r#"{"Type": "CalculateRequest", "Data": {"numbers": [1]}, "Id": [1]}"#,
        ),
        (
            "an object Id",
            r#"{"Type": "CalculateRequest", "Data": {"numbers": [1]}, "Id": {}}"#,
        ),
        (
            "a boolean Id",
            r#"{"Type": "CalculateRequest", "Data": {"numbers": [1]}, "Id": true}"#,
        ),
    ];
    for (what, text) in cases {
        client.send_text(text).await;
        let error = client.recv().await;
        assert_eq!(error["Type"], "Error", "{what}: {error}");
        assert_eq!(error["Data"]["code"], "invalid_envelope", "{what}: {error}");
        assert!(!error_message(&error).is_empty(), "{what}: {error}");
        client.assert_alive().await;
    }
}

#[tokio::test]
async fn invalid_envelope_names_the_wrong_field_and_echoes_a_valid_id() {
    let (_server, mut client) = client().await;
    let error = client.request_text(r#"{"Type": 5, "Id": "x"}"#).await;
    harness::assert_error(&error, "invalid_envelope");
    assert_eq!(error["Id"], "x", "the Id is echoed: {error}");
    assert!(error_message(&error).contains("Type"), "{error}");
    client.assert_alive().await;
}

#[tokio::test]
async fn unknown_type_error_carries_the_type_and_the_id() {
    let (_server, mut client) = client().await;
    let error = client
        .request_text(r#"{"Type": "Foo", "Data": {}, "Id": 7}"#)
        .await;
    assert_eq!(error["Type"], "Error");
    assert_eq!(error["Data"]["code"], "unknown_type");
    assert_eq!(error["Data"]["type"], "Foo");
    assert_eq!(error["Id"], 7);
    assert!(error_message(&error).contains("Foo"), "{error}");
    client.assert_alive().await;
}

#[tokio::test]
async fn types_are_case_sensitive() {
    let (_server, mut client) = client().await;
    let error = client
        .call("calculaterequest", json!({ "numbers": [1] }))
        .await;
    harness::assert_error(&error, "unknown_type");
    let error = client
        .request_text(r#"{"type": "CalculateRequest", "Data": {"numbers": [1]}}"#)
        .await;
    harness::assert_error(&error, "invalid_envelope");
    client.assert_alive().await;
}

#[tokio::test]
async fn invalid_data_names_the_field_path() {
    let (_server, mut client) = client().await;
    let error = client
        .call_with_id(
            "CalculateRequest",
            json!({ "numbers": [1, "two", 3] }),
            json!("d1"),
        )
        .await;
    harness::assert_error(&error, "invalid_data");
    assert_eq!(error["Data"]["type"], "CalculateRequest");
    assert_eq!(error["Id"], "d1");
    assert!(error_message(&error).contains("numbers[1]"), "{error}");
    client.assert_alive().await;
}

#[tokio::test]
async fn invalid_data_names_nested_paths_and_missing_fields() {
    let (_server, mut client) = client().await;
    let error = client
        .call(
            "order",
            json!({ "customer": { "email": "a@b.c" }, "lines": [{ "quantity": 1 }, { "quantity": -1 }] }),
        )
        .await;
    harness::assert_error(&error, "invalid_data");
    assert!(
        error_message(&error).contains("lines[1].quantity"),
        "{error}"
    );

    let error = client
        .call("order", json!({ "customer": {}, "lines": [] }))
        .await;
    harness::assert_error(&error, "invalid_data");
    let message = error_message(&error);
    assert!(
        message.contains("customer") && message.contains("email"),
        "{error}"
    );

    let error = client.request_text(r#"{"Type": "order"}"#).await;
    harness::assert_error(&error, "invalid_data");
    client.assert_alive().await;
}

#[tokio::test]
async fn handler_error_carries_the_display_text() {
    let (_server, mut client) = client().await;
    let error = client.call_with_id("fail", json!({}), json!(3)).await;
    assert_eq!(
        error,
        json!({
            "Type": "Error",
            "Data": {
                "code": "handler_error",
                "message": "quota of 3 requests exceeded",
                "type": "fail",
            },
            "Id": 3,
        })
    );
    client.assert_alive().await;
}

#[tokio::test]
async fn handler_panic_is_answered_and_nothing_else_is_disturbed() {
    let server = server().await;
    let mut bystander = server.connect().await;
    bystander.assert_alive().await;
    let mut client = server.connect().await;

    let error = client.call_with_id("panic", json!(null), json!("p")).await;
    harness::assert_error(&error, "handler_panic");
    assert_eq!(error["Data"]["type"], "panic");
    assert_eq!(error["Id"], "p");
    assert!(
        !error_message(&error).contains("exploded on purpose"),
        "the panic text stays in the server's logs: {error}"
    );

    client.assert_alive().await;
    bystander.assert_alive().await;
    // And the server still accepts new connections.
    server.connect().await.assert_alive().await;
}

#[tokio::test]
async fn binary_frames_are_unsupported_and_the_connection_stays_open() {
    let (_server, mut client) = client().await;
    client
        .send_binary(br#"{"Type":"CalculateRequest","Data":{"numbers":[1]}}"#)
        .await;
    client.expect_error("unsupported_frame").await;
    client.assert_alive().await;
}

#[tokio::test]
async fn a_message_over_the_limit_is_answered_then_closed_with_1009() {
    let (server, mut client) = client().await;
    client.assert_alive().await;
    let padding = "1,".repeat(1000);
    client
        .send_text(format!(
            r#"{{"Type":"CalculateRequest","Data":{{"numbers":[{padding}1]}}}}"#
        ))
        .await;
    let error = client.expect_error("message_too_large").await;
    assert!(
        error_message(&error).contains("1024"),
        "names the limit: {error}"
    );
    client.expect_close(1009).await;
    // The server goes on for everyone else.
    server.connect().await.assert_alive().await;
}

#[tokio::test]
async fn a_message_just_under_the_limit_is_accepted() {
    let (_server, mut client) = client().await;
    // 1024 bytes exactly.
    let prefix = r#"{"Type":"CalculateRequest","Data":{"numbers":[1]}}"#;
    let text = format!(
        r#"{{"Type":"CalculateRequest","Data":{{"numbers":[1]}},"Pad":"{}"}}"#,
        "x".repeat(1024 - prefix.len() - r#","Pad":"""#.len())
    );
    assert_eq!(text.len(), 1024);
    let reply = client.request_text(text).await;
    assert_eq!(reply["Data"]["result"], 1);
}

// ---- Frames ----------------------------------------------------------------------------

const TEXT: u8 = 0x1;
const CONTINUATION: u8 = 0x0;
const PING: u8 = 0x9;

#[tokio::test]
async fn a_fragmented_text_message_is_reassembled() {
    let server = server().await;
    let mut tcp = harness::raw::raw_upgrade(server.addr()).await;
    let text = br#"{"Type":"CalculateRequest","Data":{"numbers":[4,5]},"Id":1}"#;
    let (first, rest) = text.split_at(20);
    let (second, third) = rest.split_at(15);
    let mut bytes = harness::raw::raw_frame(false, TEXT, first);
    bytes.extend(harness::raw::raw_frame(false, CONTINUATION, second));
    // A control frame may come between the fragments of a message.
    bytes.extend(harness::raw::client_frame(PING, b"hi"));
    bytes.extend(harness::raw::raw_frame(true, CONTINUATION, third));
    harness::within("writing the fragments", tcp.write_all(&bytes))
        .await
        .expect("write the frames");

    let mut client = Client::from_upgraded(tcp).await;
    let reply = client.recv().await;
    assert_eq!(
        reply,
        json!({ "Type": "CalculateResponse", "Data": { "result": 9 }, "Id": 1 })
    );
    client.assert_alive().await;
}

#[tokio::test]
async fn fragments_adding_up_over_the_limit_are_too_large() {
    let server = server().await;
    let mut tcp = harness::raw::raw_upgrade(server.addr()).await;
    // Three fragments of 500 bytes: each under the 1024-byte limit, together over it.
    let fragment = [b' '; 500];
    let mut bytes = harness::raw::raw_frame(false, TEXT, &fragment);
    bytes.extend(harness::raw::raw_frame(false, CONTINUATION, &fragment));
    bytes.extend(harness::raw::raw_frame(true, CONTINUATION, &fragment));
    harness::within("writing the fragments", tcp.write_all(&bytes))
        .await
        .expect("write the frames");

    let mut client = Client::from_upgraded(tcp).await;
    client.expect_error("message_too_large").await;
    client.expect_close(1009).await;
}

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_closes_with_1007() {
    let server = server().await;
    let mut tcp = harness::raw::raw_upgrade(server.addr()).await;
    let frame = harness::raw::client_frame(TEXT, b"{\"Type\":\"\xff\xfe\"}");
    harness::within("writing the frame", tcp.write_all(&frame))
        .await
        .expect("write the frame");
    let mut client = Client::from_upgraded(tcp).await;
    // RFC 6455 section 7.4.1: 1007 is for "non-UTF-8 data within a text message".
    client.expect_close(1007).await;
}

#[tokio::test]
async fn deeply_nested_data_is_refused_without_crashing_the_server() {
    let server =
        TestServer::start(Server::with_handlers(handlers![harness::calculate, fail])).await;
    let mut client = server.connect().await;
    // Nesting the parser's recursion limit accepts: decoded, and the handler answers.
    let shallow = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let error = client
        .request_text(format!(r#"{{"Type":"fail","Data":{shallow}}}"#))
        .await;
    harness::assert_error(&error, "handler_error");
    // Far deeper than any stack allows if parsed recursively.
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let error = client
        .request_text(format!(r#"{{"Type":"fail","Data":{deep},"Id":1}}"#))
        .await;
    assert_eq!(error["Type"], "Error", "{error}");
    let code = error["Data"]["code"].as_str().unwrap_or_default();
    assert!(
        ["invalid_json", "invalid_envelope", "invalid_data"].contains(&code),
        "refused as invalid input: {error}"
    );
    client.assert_alive().await;
    server.connect().await.assert_alive().await;
}
