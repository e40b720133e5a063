//! Reply shapes (`()`, `Option`, `Result`, nested), reply and request naming, and several
//! handlers observing one `Type`.

mod harness;

use exws::{handlers, message, Server, State};
use harness::{Client, TestServer};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Counts handler calls, to tell "ran and sent nothing" from "did not run".
#[derive(Clone, Default)]
struct Calls(Arc<AtomicUsize>);

impl Calls {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Deserialize)]
struct Note {
    #[allow(dead_code)]
    text: String,
}

#[message(type = "quiet")]
async fn quiet(_request: Note, State(calls): State<Calls>) {
    calls.0.fetch_add(1, Ordering::SeqCst);
}

#[derive(Deserialize)]
struct Lookup {
    key: String,
}

#[derive(Serialize)]
struct Found {
    value: String,
}

fn find(key: &str) -> Option<Found> {
    (key == "a").then(|| Found {
        value: "alpha".to_owned(),
    })
}

#[message(type = "lookup")]
async fn lookup(request: Lookup, State(calls): State<Calls>) -> Option<Found> {
    calls.0.fetch_add(1, Ordering::SeqCst);
    find(&request.key)
}

#[message(type = "try_lookup")]
async fn try_lookup(request: Lookup, State(calls): State<Calls>) -> Result<Option<Found>, String> {
    calls.0.fetch_add(1, Ordering::SeqCst);
    match request.key.as_str() {
        "a" | "b" => Ok(find(&request.key)),
        other => Err(format!("no such key: {other}")),
    }
}

#[message(type = "try_store")]
async fn try_store(request: Lookup, State(calls): State<Calls>) -> Result<(), String> {
    calls.0.fetch_add(1, Ordering::SeqCst);
    if request.key.is_empty() {
        Err("the key is empty".to_owned())
    } else {
        Ok(())
    }
}

#[derive(Deserialize)]
struct Operands {
    a: i64,
    b: i64,
}

#[derive(Serialize)]
struct Sum {
    sum: i64,
}

#[message(type = "calc.add")]
async fn add(request: Operands) -> Sum {
    Sum {
        sum: request.a + request.b,
    }
}

#[message(type = "calc.sub", reply = "calc.difference")]
async fn subtract(request: Operands) -> i64 {
    request.a - request.b
}

/// Request Type by default (`Renamed`), reply named explicitly, through `Option` and `Result`.
#[derive(Deserialize)]
struct Renamed {
    key: String,
}

#[message(reply = "found.it")]
async fn renamed(request: Renamed) -> Result<Option<Found>, String> {
    Ok(find(&request.key))
}

#[derive(Serialize)]
struct Wrapper<T> {
    inner: T,
}

mod api {
    pub(crate) mod v1 {
        #[derive(serde::Serialize)]
        pub(crate) struct Answer {
            pub value: u8,
        }
    }
}

#[message(type = "wrap")]
async fn wrap(request: Lookup) -> Wrapper<Vec<String>> {
    Wrapper {
        inner: vec![request.key],
    }
}

#[message(type = "answer")]
async fn answer(_request: Value) -> api::v1::Answer {
    api::v1::Answer { value: 42 }
}

// Two observers of the `Event` type.

#[derive(Deserialize)]
struct Event {
    n: i64,
}

#[derive(Serialize)]
struct Audited {
    n: i64,
}

#[derive(Serialize)]
struct Counted {
    n: i64,
}

#[message]
async fn audit_event(request: Event) -> Audited {
    Audited { n: request.n }
}

#[message]
async fn count_event(request: Event) -> Counted {
    Counted { n: request.n * 10 }
}

// Two observers of `risky`: one fails, one answers; and a silent one.

#[message(type = "risky")]
async fn risky_fails(_request: Value) -> Result<Audited, String> {
    Err("the first observer failed".to_owned())
}

#[message(type = "risky")]
async fn risky_answers(_request: Value) -> Counted {
    Counted { n: 1 }
}

#[message(type = "risky")]
async fn risky_silent(_request: Value, State(calls): State<Calls>) {
    calls.0.fetch_add(1, Ordering::SeqCst);
}

// Two observers of `strict` with different request types: `Data` decodes per handler.

#[message(type = "strict")]
async fn strict_typed(request: Event) -> Audited {
    Audited { n: request.n }
}

#[message(type = "strict")]
async fn strict_any(request: Value) -> Counted {
    Counted {
        n: request.as_object().map_or(-1, |fields| fields.len() as i64),
    }
}

async fn start() -> (TestServer, Client, Calls) {
    let calls = Calls::default();
    let server = TestServer::start(
        Server::with_handlers(handlers![
            harness::calculate,
            quiet,
            lookup,
            try_lookup,
            try_store,
            add,
            subtract,
            renamed,
            wrap,
            answer,
            audit_event,
            count_event,
            risky_fails,
            risky_answers,
            risky_silent,
            strict_typed,
            strict_any,
        ])
        .with_state(calls.clone()),
    )
    .await;
    let client = server.connect().await;
    (server, client, calls)
}

/// Proves that nothing was sent since the last frame read: the very next frame is the answer
/// to a new request.
async fn assert_nothing_pending(client: &mut Client) {
    client.assert_alive().await;
}

// ---- Reply shapes ----------------------------------------------------------------------

#[tokio::test]
async fn unit_reply_sends_nothing() {
    let (_server, mut client, calls) = start().await;
    client
        .send_json(&json!({ "Type": "quiet", "Data": { "text": "hi" }, "Id": 1 }))
        .await;
    assert_nothing_pending(&mut client).await;
    assert_eq!(calls.count(), 1, "the quiet handler ran");
}

#[tokio::test]
async fn option_none_sends_nothing_and_some_replies() {
    let (_server, mut client, calls) = start().await;
    client
        .send_json(&json!({ "Type": "lookup", "Data": { "key": "zzz" }, "Id": 1 }))
        .await;
    assert_nothing_pending(&mut client).await;
    assert_eq!(calls.count(), 1);

    let reply = client
        .call_with_id("lookup", json!({ "key": "a" }), json!(2))
        .await;
    assert_eq!(
        reply,
        json!({ "Type": "Found", "Data": { "value": "alpha" }, "Id": 2 })
    );
}

#[tokio::test]
async fn result_of_option_replies_stays_silent_or_fails() {
    let (_server, mut client, calls) = start().await;
    let reply = client
        .call_with_id("try_lookup", json!({ "key": "a" }), json!("ok"))
        .await;
    assert_eq!(
        reply,
        json!({ "Type": "Found", "Data": { "value": "alpha" }, "Id": "ok" })
    );

    client
        .send_json(&json!({ "Type": "try_lookup", "Data": { "key": "b" }, "Id": "none" }))
        .await;
    assert_nothing_pending(&mut client).await;
    assert_eq!(calls.count(), 2);

    let error = client
        .call_with_id("try_lookup", json!({ "key": "q" }), json!("err"))
        .await;
    assert_eq!(
        error,
        json!({
            "Type": "Error",
            "Data": { "code": "handler_error", "message": "no such key: q", "type": "try_lookup" },
            "Id": "err",
        })
    );
}

#[tokio::test]
async fn result_of_unit_is_silent_on_ok_and_an_error_on_err() {
    let (_server, mut client, calls) = start().await;
    client
        .send_json(&json!({ "Type": "try_store", "Data": { "key": "k" } }))
        .await;
    assert_nothing_pending(&mut client).await;
    assert_eq!(calls.count(), 1);

    let error = client.call("try_store", json!({ "key": "" })).await;
    harness::assert_error(&error, "handler_error");
    assert_eq!(error["Data"]["message"], "the key is empty");
}

#[tokio::test]
async fn namespaced_type_dispatches_and_the_request_name_does_not() {
    let (_server, mut client, _calls) = start().await;
    let reply = client
        .call_with_id("calc.add", json!({ "a": 2, "b": 3 }), json!(1))
        .await;
    assert_eq!(
        reply,
        json!({ "Type": "Sum", "Data": { "sum": 5 }, "Id": 1 })
    );

    // With `type = ...` the request type's own name is not an alias.
    let error = client.call("Operands", json!({ "a": 2, "b": 3 })).await;
    harness::assert_error(&error, "unknown_type");
    assert_eq!(error["Data"]["type"], "Operands");
}

#[tokio::test]
async fn reply_attribute_names_the_reply() {
    let (_server, mut client, _calls) = start().await;
    let reply = client
        .call_with_id("calc.sub", json!({ "a": 2, "b": 5 }), json!(1))
        .await;
    assert_eq!(
        reply,
        json!({ "Type": "calc.difference", "Data": -3, "Id": 1 })
    );
}

#[tokio::test]
async fn reply_attribute_applies_through_result_and_option() {
    let (_server, mut client, _calls) = start().await;
    let reply = client.call("Renamed", json!({ "key": "a" })).await;
    assert_eq!(
        reply,
        json!({ "Type": "found.it", "Data": { "value": "alpha" } })
    );
    client
        .send_json(&json!({ "Type": "Renamed", "Data": { "key": "b" } }))
        .await;
    assert_nothing_pending(&mut client).await;
}

#[tokio::test]
async fn default_reply_type_drops_generics_and_module_paths() {
    let (_server, mut client, _calls) = start().await;
    let reply = client.call("wrap", json!({ "key": "k" })).await;
    assert_eq!(
        reply,
        json!({ "Type": "Wrapper", "Data": { "inner": ["k"] } })
    );
    let reply = client.call("answer", json!(null)).await;
    assert_eq!(reply, json!({ "Type": "Answer", "Data": { "value": 42 } }));
}

// ---- Observers -------------------------------------------------------------------------

#[tokio::test]
async fn every_observer_of_a_type_answers_with_the_id() {
    let (_server, mut client, _calls) = start().await;
    client
        .send_json(&json!({ "Type": "Event", "Data": { "n": 4 }, "Id": "e" }))
        .await;
    let replies = client.recv_sorted_by_type(2).await;
    assert_eq!(
        replies,
        vec![
            json!({ "Type": "Audited", "Data": { "n": 4 }, "Id": "e" }),
            json!({ "Type": "Counted", "Data": { "n": 40 }, "Id": "e" }),
        ]
    );
    assert_nothing_pending(&mut client).await;
}

#[tokio::test]
async fn observers_run_in_the_same_order_whatever_the_list_order() {
    let mut orders = Vec::new();
    for server in [
        Server::with_handlers(handlers![audit_event, count_event]),
        Server::with_handlers(handlers![count_event, audit_event]),
    ] {
        let server = TestServer::start(server).await;
        let mut client = server.connect().await;
        client
            .send_json(&json!({ "Type": "Event", "Data": { "n": 1 } }))
            .await;
        let first = client.recv().await["Type"].clone();
        let second = client.recv().await["Type"].clone();
        orders.push((first, second));
    }
    assert_eq!(orders[0], orders[1]);
}

#[tokio::test]
async fn a_failing_observer_does_not_silence_the_others() {
    let (_server, mut client, calls) = start().await;
    client
        .send_json(&json!({ "Type": "risky", "Data": null, "Id": 5 }))
        .await;
    let replies = client.recv_sorted_by_type(2).await;
    assert_eq!(
        replies,
        vec![
            json!({ "Type": "Counted", "Data": { "n": 1 }, "Id": 5 }),
            json!({
                "Type": "Error",
                "Data": { "code": "handler_error", "message": "the first observer failed", "type": "risky" },
                "Id": 5,
            }),
        ]
    );
    assert_nothing_pending(&mut client).await;
    assert_eq!(calls.count(), 1, "the silent observer ran too");
}

#[tokio::test]
async fn each_observer_decodes_data_into_its_own_request_type() {
    let (_server, mut client, _calls) = start().await;
    client
        .send_json(&json!({ "Type": "strict", "Data": { "n": "not a number" }, "Id": 1 }))
        .await;
    let replies = client.recv_sorted_by_type(2).await;
    assert_eq!(
        replies[0],
        json!({ "Type": "Counted", "Data": { "n": 1 }, "Id": 1 })
    );
    harness::assert_error(&replies[1], "invalid_data");
    assert_eq!(replies[1]["Id"], 1);
    assert_nothing_pending(&mut client).await;
}

// ---- Replies decided by type, aliases included ----------------------------------------

/// An error that would also serialize: an alias of `Result` must still answer `Err` as an
/// `Error` envelope, not as a successful reply `{"Err": ...}`.
#[derive(Debug, Serialize)]
struct LookupError {
    key: String,
}

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown key {:?}", self.key)
    }
}

type AppResult<T> = Result<T, LookupError>;
type Maybe<T> = Option<T>;

#[message(type = "alias.lookup")]
async fn alias_lookup(request: Lookup) -> AppResult<Maybe<Found>> {
    match request.key.as_str() {
        "a" | "b" => Ok(find(&request.key)),
        _ => Err(LookupError { key: request.key }),
    }
}

#[tokio::test]
async fn an_alias_of_result_and_option_replies_like_the_real_types() {
    let failures = Arc::new(AtomicUsize::new(0));
    let counter = failures.clone();
    let server = TestServer::start(
        Server::with_handlers(handlers![harness::calculate, alias_lookup]).on_handler_error(
            move |failure| {
                let counter = counter.clone();
                async move {
                    if failure.message().contains("unknown key") {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                }
            },
        ),
    )
    .await;
    let mut client = server.connect().await;

    let reply = client
        .call_with_id("alias.lookup", json!({ "key": "a" }), json!(1))
        .await;
    assert_eq!(
        reply,
        json!({ "Type": "Found", "Data": { "value": "alpha" }, "Id": 1 })
    );

    // `Ok(None)` through the `Option` alias: nothing.
    client
        .send_json(&json!({ "Type": "alias.lookup", "Data": { "key": "b" }, "Id": 2 }))
        .await;
    assert_nothing_pending(&mut client).await;

    let error = client
        .call_with_id("alias.lookup", json!({ "key": "zz" }), json!(3))
        .await;
    assert_eq!(
        error,
        json!({
            "Type": "Error",
            "Data": {
                "code": "handler_error",
                "message": "unknown key \"zz\"",
                "type": "alias.lookup",
            },
            "Id": 3,
        })
    );
    drop(client);
    server.shutdown().await.expect("the server shuts down");
    assert_eq!(
        failures.load(Ordering::SeqCst),
        1,
        "the failure hook ran once"
    );
}
