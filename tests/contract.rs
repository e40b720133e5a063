//! The `schema` feature: the server's contract as an AsyncAPI 3.0 document, made from the
//! handlers (requests, replies, streams, room subscriptions), the declared pushes, the `Error`
//! envelope; served at `GET /asyncapi.json` standalone and mounted in axum; handlers without
//! schemas reported in one error; the chat example's document listing every message it speaks
//! with the fields of its Rust structs. (`@asyncapi/parser` validates the documents in
//! `clients/browser/test/contract.test.mjs`.)
#![cfg(feature = "schema")]

mod harness;

use exws::{handlers, message, Error, Server};
use futures_util::Stream;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Sum these numbers.
#[derive(Deserialize, JsonSchema)]
struct Add {
    /// The numbers.
    numbers: Vec<i64>,
    /// Optional in a request (`serde(default)`).
    #[serde(default)]
    scale: i64,
}

/// The sum.
#[derive(Serialize, JsonSchema)]
struct Sum {
    result: i64,
}

/// Adds the numbers.
///
/// Scaled by `scale` when it is not 0.
#[message]
async fn add(request: Add) -> Result<Sum, String> {
    let sum: i64 = request.numbers.iter().sum();
    Ok(Sum {
        result: if request.scale == 0 {
            sum
        } else {
            sum * request.scale
        },
    })
}

#[derive(Deserialize, JsonSchema)]
struct Lookup {
    key: String,
}

#[derive(Serialize, JsonSchema)]
struct Found {
    value: String,
}

/// Finds a key, or answers nothing.
#[message]
async fn lookup(request: Lookup) -> Option<Found> {
    (request.key == "a").then(|| Found {
        value: "b".to_owned(),
    })
}

#[derive(Deserialize, JsonSchema)]
struct Count {
    to: u32,
}

#[derive(Serialize, JsonSchema)]
struct Tick {
    n: u32,
}

/// Counts up to `to`.
#[message]
async fn count(request: Count) -> impl Stream<Item = Tick> {
    futures_util::stream::iter((1..=request.to).map(|n| Tick { n }))
}

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Note {
    text: String,
}

#[message]
async fn note(_request: Note) {}

/// A type used both ways: required in a reply, optional in a request.
#[derive(Serialize, Deserialize, JsonSchema)]
struct Echo {
    #[serde(default)]
    text: String,
}

#[message]
async fn echo(request: Echo) -> Echo {
    request
}

/// Said to a room's members.
#[derive(Serialize, JsonSchema)]
struct Announcement {
    text: String,
}

// Types without `JsonSchema`: the handlers still compile, and the contract names them.
#[derive(Deserialize)]
struct Opaque {
    _x: u8,
}

#[derive(Serialize)]
struct Hidden {
    y: u8,
}

#[message]
async fn opaque(_request: Opaque) -> Sum {
    Sum { result: 0 }
}

#[message]
async fn hidden(_request: Note) -> Hidden {
    Hidden { y: 1 }
}

/// Asks the client to confirm a payment.
#[derive(Serialize, JsonSchema)]
struct ConfirmPayment {
    amount_cents: u64,
}

/// The client's confirmation.
#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)] // Only its schema is read.
struct Confirmation {
    accepted: bool,
    /// Optional in an answer (`serde(default)`).
    #[serde(default)]
    note: String,
}

#[test]
fn the_calls_the_server_makes_are_described_with_their_answers() {
    let document = described()
        .asks::<ConfirmPayment, Confirmation>()
        .asks_as::<ConfirmPayment, bool>("payment.retry")
        .asyncapi()
        .expect("every type has a schema");
    let operations = &document["operations"];
    let ask = &operations["ask.ConfirmPayment"];
    assert_eq!(ask["action"], "send", "{ask}");
    assert_eq!(ask["x-exws-reply"], "answer");
    assert_eq!(ask["description"], "Asks the client to confirm a payment.");
    assert_eq!(refs(&ask["messages"]), ["ConfirmPayment"]);
    assert_eq!(refs(&ask["reply"]["messages"]), ["Answer", "AnswerError"]);
    let retry = &operations["ask.payment.retry"];
    assert_eq!(
        refs(&retry["reply"]["messages"]),
        ["Answer.2", "AnswerError"]
    );

    // The call carries `Call`, never `Id`; so do the answers.
    let request = &message(&document, "ConfirmPayment")["payload"];
    assert_eq!(request["properties"]["Type"]["const"], "ConfirmPayment");
    assert_eq!(request["required"], json!(["Type", "Data", "Call"]));
    assert!(request["properties"].get("Id").is_none(), "{request}");
    assert_eq!(
        request["properties"]["Data"]["$ref"],
        "#/components/schemas/ConfirmPayment"
    );
    let answer = &message(&document, "Answer")["payload"];
    assert_eq!(answer["properties"]["Type"]["const"], "Answer");
    assert_eq!(answer["required"], json!(["Type", "Data", "Call"]));
    assert_eq!(
        answer["properties"]["Data"]["$ref"],
        "#/components/schemas/Confirmation"
    );
    assert_eq!(
        message(&document, "Answer.2")["payload"]["properties"]["Data"]["type"],
        "boolean"
    );
    // The answer is read by the server: a defaulted field is optional in it.
    let confirmation = &document["components"]["schemas"]["Confirmation"];
    assert_eq!(
        confirmation["required"],
        json!(["accepted"]),
        "{confirmation}"
    );
    let refusal = &message(&document, "AnswerError")["payload"];
    assert_eq!(
        refusal["properties"]["Data"]["required"],
        json!(["code", "message"])
    );
    assert_eq!(
        message(&document, "Answer")["correlationId"]["$ref"],
        "#/components/correlationIds/Call"
    );
    // Nothing a client sends on its own: the answer is no request of the server's.
    assert!(operations.get("call.Answer").is_none());
}

fn described() -> Server {
    Server::with_handlers(handlers![add, lookup, count, note, echo])
        .contract_info("contract test", "1.2.3")
        .pushes::<Announcement>()
        .pushes_as::<Announcement>("room.notice")
}

fn message<'a>(document: &'a Value, key: &str) -> &'a Value {
    let message = &document["components"]["messages"][key];
    assert!(message.is_object(), "no message {key}");
    message
}

fn refs(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["$ref"].as_str())
                .map(|r| r.rsplit('/').next().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn keys(object: &Value) -> BTreeSet<String> {
    object
        .as_object()
        .map(|map| map.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn operations_replies_streams_and_pushes_are_described() {
    let document = described().asyncapi().expect("every type has a schema");
    assert_eq!(document["asyncapi"], "3.0.0");
    assert_eq!(document["info"]["title"], "contract test");
    assert_eq!(document["info"]["version"], "1.2.3");
    let operations = &document["operations"];
    assert_eq!(
        keys(operations),
        [
            "call.Add",
            "call.Count",
            "call.Echo",
            "call.Lookup",
            "call.Note",
            "call.StreamCancel",
            "push.Announcement",
            "push.room.notice",
        ]
        .map(String::from)
        .into()
    );

    let add = &operations["call.Add"];
    assert_eq!(add["action"], "receive");
    assert_eq!(
        add["description"],
        "Adds the numbers.\n\nScaled by `scale` when it is not 0."
    );
    assert_eq!(add["x-exws-reply"], "single");
    assert_eq!(refs(&add["messages"]), ["Add"]);
    assert_eq!(refs(&add["reply"]["messages"]), ["Sum", "Error"]);
    assert_eq!(operations["call.Lookup"]["x-exws-reply"], "optional");
    assert_eq!(operations["call.Note"]["x-exws-reply"], "none");
    assert_eq!(
        refs(&operations["call.Note"]["reply"]["messages"]),
        ["Error"]
    );
    let count = &operations["call.Count"];
    assert_eq!(count["x-exws-reply"], "stream");
    assert_eq!(
        refs(&count["reply"]["messages"]),
        ["Tick", "StreamEnd", "Error"]
    );
    // A stream request and its items always carry the `Id`.
    let count_payload = &message(&document, "Count")["payload"];
    assert_eq!(count_payload["required"], json!(["Type", "Data", "Id"]));
    assert_eq!(
        message(&document, "Tick")["payload"]["required"],
        json!(["Type", "Data", "Id"])
    );
    assert_eq!(
        message(&document, "Sum")["payload"]["required"],
        json!(["Type", "Data"])
    );
    assert_eq!(
        message(&document, "StreamEnd")["payload"]["required"],
        json!(["Type", "Id"])
    );

    // The envelope, once; every payload refers to it and fixes its `Type`.
    let schemas = &document["components"]["schemas"];
    assert_eq!(
        schemas["exws.Envelope"]["required"],
        json!(["Type"]),
        "{schemas:#}"
    );
    let add_payload = &message(&document, "Add")["payload"];
    assert_eq!(
        add_payload["allOf"],
        json!([{"$ref": "#/components/schemas/exws.Envelope"}])
    );
    assert_eq!(add_payload["properties"]["Type"], json!({"const": "Add"}));
    assert_eq!(
        add_payload["properties"]["Data"],
        json!({"$ref": "#/components/schemas/Add"})
    );

    // Requests read as deserialized, replies as serialized.
    assert_eq!(schemas["Add"]["required"], json!(["numbers"]));
    assert_eq!(
        keys(&schemas["Add"]["properties"]),
        ["numbers", "scale"].map(String::from).into()
    );
    assert_eq!(schemas["Add"]["description"], "Sum these numbers.");
    assert_eq!(schemas["Sum"]["required"], json!(["result"]));
    assert!(
        schemas["Echo"]["required"].is_null(),
        "{:#}",
        schemas["Echo"]
    );
    assert_eq!(schemas["Echo.Output"]["required"], json!(["text"]));
    assert_eq!(
        message(&document, "Echo.2")["payload"]["properties"]["Data"],
        json!({"$ref": "#/components/schemas/Echo.Output"})
    );

    // Pushes, under their `Type` (the type's name, or the one given), described by the type.
    let announcement = message(&document, "Announcement");
    assert_eq!(announcement["description"], "Said to a room's members.");
    assert!(announcement["correlationId"].is_null());
    assert_eq!(
        message(&document, "room.notice")["payload"]["properties"]["Type"],
        json!({"const": "room.notice"})
    );
    assert_eq!(operations["push.room.notice"]["action"], "send");

    // The `Error` envelope with every code.
    let codes: Vec<&str> = schemas["exws.ErrorCode"]["oneOf"]
        .as_array()
        .expect("codes")
        .iter()
        .filter_map(|code| code["const"].as_str())
        .collect();
    for code in [
        exws::ErrorCode::InvalidJson,
        exws::ErrorCode::UnknownType,
        exws::ErrorCode::InvalidData,
        exws::ErrorCode::HandlerError,
        exws::ErrorCode::DuplicateId,
        exws::ErrorCode::TooManyStreams,
    ] {
        assert!(codes.contains(&code.as_str()), "{code} in {codes:?}");
    }
    assert_eq!(codes.len(), 12);
    assert_eq!(
        message(&document, "Error")["payload"]["properties"]["Data"],
        json!({"$ref": "#/components/schemas/exws.ErrorData"})
    );

    // The channel lists every message; every operation's message is one of them.
    let channel = keys(&document["channels"]["exws"]["messages"]);
    assert_eq!(channel, keys(&document["components"]["messages"]));
    for (_, operation) in operations.as_object().expect("operations") {
        for key in refs(&operation["messages"])
            .into_iter()
            .chain(refs(&operation["reply"]["messages"]))
        {
            assert!(channel.contains(&key), "{key} is in the channel");
        }
    }
}

/// A second handler of `Note`, with another request shape: the operation's `Data` is both.
#[message(type = "Note")]
async fn note_logged(_request: Echo) {}

/// A second handler of `Echo` that replies nothing: the operation's reply is `mixed`.
#[message(type = "Echo")]
async fn echo_audited(_request: Echo) {}

/// The whole document of a server with every kind of operation, byte for byte: its layout
/// is what `exws codegen` and `exws contract diff` read, so any change to it shows here.
/// After an intended change, rewrite the file with `EXWS_BLESS=1`.
#[test]
fn the_whole_document_is_pinned() {
    const PINNED: &str = "tests/contract_asyncapi.json";
    let server = Server::with_handlers(handlers![
        add,
        lookup,
        count,
        note,
        note_logged,
        echo,
        echo_audited
    ])
    .contract_info("contract test", "1.2.3")
    .pushes::<Announcement>()
    .pushes_as::<Announcement>("room.notice")
    .asks::<ConfirmPayment, Confirmation>();
    let document = server.asyncapi().expect("every type has a schema");
    let text = serde_json::to_string_pretty(&document).expect("a document serializes") + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(PINNED);
    if std::env::var_os("EXWS_BLESS").is_some() {
        std::fs::write(&path, &text).expect("the pinned document is writable");
    }
    let pinned = std::fs::read_to_string(&path).expect("the pinned document exists");
    assert!(
        text == pinned,
        "the document differs from {PINNED}; if the change is intended, run with EXWS_BLESS=1 \
         and review the diff\n{text}"
    );
}

#[test]
fn handlers_without_schemas_are_named_in_one_error() {
    let error = Server::with_handlers(handlers![add, opaque, hidden])
        .asyncapi()
        .expect_err("two types lack a schema");
    let text = error.to_string();
    assert!(text.contains("2 types lack one"), "{text}");
    assert!(
        text.contains("the request `Opaque` of `contract::opaque`"),
        "{text}"
    );
    assert!(
        text.contains("the reply `Hidden` of `contract::hidden`"),
        "{text}"
    );
    assert!(text.contains("#[derive(schemars::JsonSchema)]"), "{text}");
    match error {
        exws::contract::ContractError::MissingSchemas(missing) => assert_eq!(missing.len(), 2),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn serve_asyncapi_refuses_to_start_without_every_schema() {
    let error = Server::with_handlers(handlers![opaque])
        .serve_asyncapi()
        .bind("127.0.0.1:0")
        .await
        .expect_err("the contract cannot be made");
    assert!(matches!(error, Error::Contract(_)), "{error:?}");
    assert!(error.to_string().contains("/asyncapi.json"), "{error}");
    // Not asking for the route, the server starts.
    let server = Server::with_handlers(handlers![opaque])
        .bind("127.0.0.1:0")
        .await
        .expect("no contract asked for");
    assert!(server.asyncapi().is_err());
}

#[test]
fn declaring_a_push_type_twice_is_an_error() {
    let error = Server::with_handlers([])
        .pushes::<Announcement>()
        .pushes_as::<Tick>("Announcement")
        .asyncapi()
        .expect_err("two declarations");
    assert!(error.to_string().contains("declared twice"), "{error}");
}

/// `GET path` over a fresh TCP connection; the status line and the body.
async fn http_get(addr: SocketAddr, path: &str) -> (String, String) {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("read");
        String::from_utf8(response).expect("UTF-8")
    };
    let response = tokio::time::timeout(TIMEOUT, exchange)
        .await
        .expect("the answer in time");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

#[tokio::test]
async fn the_standalone_server_serves_its_document() {
    let server = described()
        .serve_asyncapi()
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = server.local_addr();
    let expected = server.asyncapi().expect("document");
    let running = tokio::spawn(server.serve().into_future());
    let (status, body) = http_get(addr, "/asyncapi.json").await;
    assert!(status.contains("200"), "{status}");
    let served: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(served, expected);
    running.abort();
}

#[tokio::test]
async fn an_axum_app_serves_the_endpoints_document() {
    let endpoint = described().build().await.expect("build");
    let app = axum::Router::new()
        .route("/ws", endpoint.axum_route())
        .route(
            "/asyncapi.json",
            endpoint.asyncapi_route().expect("document"),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let running = tokio::spawn(async move { axum::serve(listener, app).await });
    let (status, body) = http_get(addr, "/asyncapi.json").await;
    assert!(status.contains("200"), "{status}");
    let served: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(served, endpoint.asyncapi().expect("document"));
    assert_eq!(served["info"]["title"], "contract test");
    running.abort();
}

/// The fields each chat message has on the wire, from the Rust structs themselves.
fn chat_fields() -> Vec<(&'static str, Value)> {
    use exws_workspace::chat::*;
    let text = || "t".to_owned();
    fn value<T: Serialize>(message: T) -> Value {
        serde_json::to_value(message).expect("serializable")
    }
    vec![
        ("Welcome", value(Welcome { id: text() })),
        ("JoinRoom", value(JoinRoom { room: text() })),
        (
            "Joined",
            value(Joined {
                room: text(),
                members: 1,
            }),
        ),
        ("LeaveRoom", value(LeaveRoom { room: text() })),
        ("Left", value(Left { room: text() })),
        (
            "SendToRoom",
            value(SendToRoom {
                room: text(),
                text: text(),
            }),
        ),
        (
            "RoomMessage",
            value(RoomMessage {
                room: text(),
                from: text(),
                text: text(),
            }),
        ),
        (
            "DirectMessage",
            value(DirectMessage {
                to: text(),
                text: text(),
            }),
        ),
        (
            "Direct",
            value(Direct {
                from: text(),
                text: text(),
            }),
        ),
        ("Broadcast", value(Broadcast { text: text() })),
        (
            "Broadcasted",
            value(Broadcasted {
                from: text(),
                text: text(),
            }),
        ),
    ]
}

#[tokio::test]
async fn the_chat_example_publishes_every_message_it_speaks() {
    let chat = harness::process::ExampleProcess::start("chat", &[]).await;
    let addr = chat.addr();
    let (status, body) = http_get(addr, "/asyncapi.json").await;
    drop(chat);
    assert!(status.contains("200"), "{status}: {body}");
    let document: Value = serde_json::from_str(&body).expect("JSON");
    let messages = &document["components"]["messages"];
    let schemas = &document["components"]["schemas"];
    for (message_type, wire) in chat_fields() {
        let message = &messages[message_type];
        assert_eq!(
            message["payload"]["properties"]["Type"]["const"], message_type,
            "{message_type} is in the contract"
        );
        let schema = &schemas[message_type];
        assert_eq!(
            keys(&schema["properties"]),
            keys(&wire),
            "{message_type}'s schema has the struct's fields"
        );
        assert_eq!(
            keys(
                &schema["required"].as_array().map_or(json!({}), |required| {
                    required
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|name| (name.to_owned(), Value::Null))
                        .collect::<serde_json::Map<_, _>>()
                        .into()
                })
            ),
            keys(&wire),
            "every field of {message_type} is required"
        );
    }
    for push in ["Welcome", "RoomMessage", "Direct", "Broadcasted"] {
        assert_eq!(
            document["operations"][format!("push.{push}")]["action"],
            "send"
        );
    }
    assert_eq!(
        document["operations"]["call.JoinRoom"]["x-exws-reply"],
        "single"
    );
    assert_eq!(
        refs(&document["operations"]["call.SendToRoom"]["reply"]["messages"]),
        ["Error"]
    );
}
