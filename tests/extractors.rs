//! Handler arguments after the request: `Connection`, `Context`, `State<T>`, user-defined
//! `FromContext` extractors, and `Option`/`Result` of a rejecting extractor.

mod harness;

use exws::{
    handlers, message, CloseCode, Connection, Context, ErrorCode, FromContext, Rejection,
    SendError, Server, State,
};
use harness::{Client, TestServer};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

#[derive(Clone, Default)]
struct Calls(Arc<AtomicUsize>);

impl Calls {
    fn hit(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

// ---- Connection ------------------------------------------------------------------------

#[derive(Serialize)]
struct Identity {
    id: String,
    port: u16,
}

#[message(type = "whoami")]
async fn who_am_i(_request: Value, connection: Connection) -> Identity {
    Identity {
        id: connection.id().to_string(),
        port: connection.remote_addr().port(),
    }
}

#[derive(Deserialize)]
struct Subscribe {
    count: u32,
}

#[derive(Serialize)]
struct Tick {
    n: u32,
}

#[derive(Serialize)]
struct Subscribed {
    ticks: u32,
}

/// Pushes server-initiated messages before its reply.
#[message]
async fn subscribe(request: Subscribe, connection: Connection) -> Result<Subscribed, SendError> {
    for n in 0..request.count {
        connection.send(&Tick { n }).await?;
    }
    connection
        .send_as("ticks.done", &json!({ "sent": request.count }))
        .await?;
    Ok(Subscribed {
        ticks: request.count,
    })
}

/// Pushes from a task that outlives the handler.
#[message(type = "subscribe.later")]
async fn subscribe_later(request: Subscribe, connection: Connection) {
    tokio::spawn(async move {
        for n in 0..request.count {
            if connection.send(&Tick { n }).await.is_err() {
                break;
            }
        }
    });
}

#[derive(Serialize)]
struct Farewell;

#[message(type = "bye")]
async fn bye(_request: Value, connection: Connection) {
    let _ = connection.send(&Farewell).await;
    connection.close();
}

#[derive(Serialize)]
struct LoggedOut {
    name: String,
}

/// Closes the connection and returns a reply: the reply is the last message before the close.
#[message(type = "logout")]
async fn logout(_request: Value, connection: Connection) -> LoggedOut {
    connection.close();
    LoggedOut {
        name: connection.metadata("name").unwrap_or_default(),
    }
}

#[message(type = "kick")]
async fn kick(_request: Value, connection: Connection) {
    assert!(connection.close_with(CloseCode(4000), "kicked").is_ok());
    // The first close wins.
    assert!(connection.close_with(CloseCode(4001), "ignored").is_ok());
}

/// Reports, through the channel in its state, what a send after the close gives.
#[derive(Clone)]
struct AfterClose(mpsc::UnboundedSender<(bool, bool)>);

#[message(type = "watch")]
async fn watch(_request: Value, connection: Connection, State(report): State<AfterClose>) {
    tokio::spawn(async move {
        connection.closed().await;
        let sent = connection.send(&Tick { n: 0 }).await;
        let _ = report.0.send((
            connection.is_closed(),
            matches!(sent, Err(SendError::Closed)),
        ));
    });
}

// ---- State and Context -----------------------------------------------------------------

#[derive(Clone)]
struct Motd(String);

#[derive(Serialize)]
struct Hello {
    text: String,
}

#[message(type = "motd")]
async fn motd(_request: Value, State(motd): State<Motd>, State(calls): State<Calls>) -> Hello {
    calls.hit();
    Hello { text: motd.0 }
}

#[derive(Serialize)]
struct Seen {
    motd: Option<String>,
    same_connection: bool,
}

#[message(type = "context")]
async fn context(_request: Value, context: Context, connection: Connection) -> Seen {
    Seen {
        motd: context.state::<Motd>().map(|motd| motd.0),
        same_connection: context.connection().id() == connection.id(),
    }
}

// ---- User-defined extractors -----------------------------------------------------------

/// An admin: a connection whose `role` metadata is `admin`.
struct Admin {
    name: String,
}

impl FromContext for Admin {
    async fn from_context(context: &Context) -> Result<Self, Rejection> {
        let connection = context.connection();
        match connection.metadata("role").as_deref() {
            Some("admin") => Ok(Admin {
                name: connection.metadata("name").unwrap_or_default(),
            }),
            _ => Err(Rejection::unauthorized("admins only")),
        }
    }
}

/// Always refuses with a code other than `unauthorized`.
struct Throttled;

impl FromContext for Throttled {
    async fn from_context(_context: &Context) -> Result<Self, Rejection> {
        Err(Rejection::new(ErrorCode::RateLimited, "slow down"))
    }
}

/// Panics while extracting.
struct Broken;

impl FromContext for Broken {
    async fn from_context(_context: &Context) -> Result<Self, Rejection> {
        panic!("the extractor broke on purpose")
    }
}

#[derive(Deserialize)]
struct Login {
    name: String,
    role: String,
}

#[derive(Serialize)]
struct LoggedIn {
    name: String,
}

#[message(type = "login")]
async fn login(request: Login, connection: Connection) -> LoggedIn {
    connection.set_metadata("role", request.role);
    connection.set_metadata("name", request.name.clone());
    LoggedIn { name: request.name }
}

#[derive(Serialize)]
struct Reset {
    by: String,
}

#[message(type = "admin.reset")]
async fn reset(_request: Value, admin: Admin, State(calls): State<Calls>) -> Reset {
    calls.hit();
    Reset { by: admin.name }
}

#[derive(Serialize)]
struct AdminStatus {
    admin: Option<String>,
}

#[message(type = "admin.maybe")]
async fn maybe_admin(_request: Value, admin: Option<Admin>) -> AdminStatus {
    AdminStatus {
        admin: admin.map(|admin| admin.name),
    }
}

#[derive(Serialize)]
struct RejectionSeen {
    code: Option<String>,
    message: Option<String>,
}

#[message(type = "admin.result")]
async fn result_admin(_request: Value, admin: Result<Admin, Rejection>) -> RejectionSeen {
    let rejection = admin.err();
    RejectionSeen {
        code: rejection.as_ref().map(|r| r.code().to_string()),
        message: rejection.as_ref().map(|r| r.message().to_owned()),
    }
}

#[message(type = "throttled")]
async fn throttled(_request: Value, _throttled: Throttled, State(calls): State<Calls>) {
    calls.hit();
}

/// Extractors run in argument order: the first rejection answers.
#[message(type = "both")]
async fn both(_request: Value, _throttled: Throttled, _admin: Admin, State(calls): State<Calls>) {
    calls.hit();
}

#[message(type = "broken")]
async fn broken(_request: Value, _broken: Broken, State(calls): State<Calls>) {
    calls.hit();
}

fn server() -> Server {
    Server::with_handlers(handlers![
        harness::calculate,
        who_am_i,
        subscribe,
        subscribe_later,
        bye,
        logout,
        kick,
        watch,
        motd,
        context,
        login,
        reset,
        maybe_admin,
        result_admin,
        throttled,
        both,
        broken,
    ])
    // Every handler's state is given (a test gives its own to observe it): `bind` refuses a
    // server that lacks one.
    .with_state(Calls::default())
    .with_state(Motd("welcome".to_owned()))
    .with_state(AfterClose(mpsc::unbounded_channel().0))
}

async fn start() -> (TestServer, Client, Calls) {
    let calls = Calls::default();
    let server = TestServer::start(
        server()
            .with_state(calls.clone())
            .with_state(Motd("welcome".to_owned())),
    )
    .await;
    let client = server.connect().await;
    (server, client, calls)
}

#[tokio::test]
async fn connection_has_a_non_empty_id_unique_per_connection() {
    let (server, mut first, _calls) = start().await;
    let mut second = server.connect().await;
    let a = first.call("whoami", json!(null)).await;
    let b = second.call("whoami", json!(null)).await;
    let again = first.call("whoami", json!(null)).await;
    let id = |reply: &Value| reply["Data"]["id"].as_str().unwrap_or_default().to_owned();
    assert!(!id(&a).is_empty(), "{a}");
    assert_ne!(id(&a), id(&b));
    assert_eq!(id(&a), id(&again), "stable for the connection");
    assert_ne!(a["Data"]["port"], 0);
}

#[tokio::test]
async fn connection_send_pushes_envelopes_before_the_reply() {
    let (_server, mut client, _calls) = start().await;
    client
        .send_json(&json!({ "Type": "Subscribe", "Data": { "count": 3 }, "Id": 11 }))
        .await;
    for n in 0..3 {
        assert_eq!(
            client.recv().await,
            json!({ "Type": "Tick", "Data": { "n": n } }),
            "server-initiated messages carry no Id"
        );
    }
    assert_eq!(
        client.recv().await,
        json!({ "Type": "ticks.done", "Data": { "sent": 3 } })
    );
    assert_eq!(
        client.recv().await,
        json!({ "Type": "Subscribed", "Data": { "ticks": 3 }, "Id": 11 })
    );
}

#[tokio::test]
async fn connection_send_works_after_the_handler_returned() {
    let (_server, mut client, _calls) = start().await;
    client
        .send_json(&json!({ "Type": "subscribe.later", "Data": { "count": 5 } }))
        .await;
    for n in 0..5 {
        assert_eq!(
            client.recv().await,
            json!({ "Type": "Tick", "Data": { "n": n } })
        );
    }
    client.assert_alive().await;
}

#[tokio::test]
async fn connection_close_sends_queued_messages_then_closes_with_1000() {
    let (server, mut client, _calls) = start().await;
    client.send_json(&json!({ "Type": "bye" })).await;
    assert_eq!(
        client.recv().await,
        json!({ "Type": "Farewell", "Data": null })
    );
    client.expect_close(1000).await;
    client.expect_end().await;
    server.connect().await.assert_alive().await;
}

#[tokio::test]
async fn the_reply_of_a_handler_that_closes_is_sent_before_the_close() {
    let (_server, mut client, _calls) = start().await;
    client
        .call("login", json!({ "name": "ada", "role": "user" }))
        .await;
    client
        .send_json(&json!({ "Type": "logout", "Id": 1 }))
        .await;
    let frame = client.next_frame().await;
    let reply = frame
        .text()
        .map(|text| serde_json::from_str::<Value>(&text).expect("JSON"));
    assert_eq!(
        reply,
        Some(json!({ "Type": "LoggedOut", "Data": { "name": "ada" }, "Id": 1 })),
        "the handler's return value is its reply (PROTOCOL.md: each non-empty return value is sent)"
    );
    client.expect_close(1000).await;
}

#[tokio::test]
async fn connection_close_with_sends_the_first_code_and_reason() {
    let (_server, mut client, _calls) = start().await;
    client.send_json(&json!({ "Type": "kick" })).await;
    let reason = client.expect_close(4000).await;
    assert_eq!(reason, "kicked");
}

#[tokio::test]
async fn sends_fail_with_closed_once_the_connection_is_gone() {
    let (reports, mut report) = mpsc::unbounded_channel();
    let server = TestServer::start(
        server()
            .with_state(Calls::default())
            .with_state(AfterClose(reports)),
    )
    .await;
    let mut client = server.connect().await;
    client.send_json(&json!({ "Type": "watch" })).await;
    client.assert_alive().await;
    client.close().await;
    let (is_closed, send_failed) = harness::within("the watcher's report", report.recv())
        .await
        .expect("the watcher reports");
    assert!(is_closed, "is_closed() after closed()");
    assert!(send_failed, "send after close fails with SendError::Closed");
}

#[tokio::test]
async fn state_is_given_to_handlers() {
    let (_server, mut client, calls) = start().await;
    let reply = client.call("motd", json!(null)).await;
    assert_eq!(
        reply,
        json!({ "Type": "Hello", "Data": { "text": "welcome" } })
    );
    assert_eq!(calls.count(), 1);
}

#[tokio::test]
async fn a_missing_state_is_refused_at_bind_and_no_handler_is_ever_called() {
    let calls = Calls::default();
    // `Calls` is given, `Motd` is not.
    let error = Server::with_handlers(handlers![motd])
        .with_state(calls.clone())
        .bind("127.0.0.1:0")
        .await
        .expect_err("refused");
    let text = error.to_string();
    assert!(
        text.contains("motd") && text.contains("Motd") && text.contains("with_state"),
        "{text}"
    );
    assert_eq!(calls.count(), 0);
}

#[tokio::test]
async fn context_extractor_sees_the_connection_and_the_state() {
    let (_server, mut client, _calls) = start().await;
    let reply = client.call("context", json!(null)).await;
    assert_eq!(
        reply,
        json!({ "Type": "Seen", "Data": { "motd": "welcome", "same_connection": true } })
    );
}

#[tokio::test]
async fn a_rejecting_extractor_answers_with_its_code_and_skips_the_handler() {
    let (_server, mut client, calls) = start().await;
    let error = client
        .call_with_id("admin.reset", json!(null), json!(8))
        .await;
    assert_eq!(
        error,
        json!({
            "Type": "Error",
            "Data": { "code": "unauthorized", "message": "admins only", "type": "admin.reset" },
            "Id": 8,
        })
    );
    assert_eq!(calls.count(), 0, "the handler was not called");

    // Metadata set by one handler is seen by the extractor of the next message.
    let reply = client
        .call("login", json!({ "name": "ada", "role": "admin" }))
        .await;
    assert_eq!(reply["Type"], "LoggedIn");
    let reply = client.call("admin.reset", json!(null)).await;
    assert_eq!(reply, json!({ "Type": "Reset", "Data": { "by": "ada" } }));
    assert_eq!(calls.count(), 1);
}

#[tokio::test]
async fn rejection_codes_other_than_unauthorized_are_sent_as_is() {
    let (_server, mut client, calls) = start().await;
    let error = client.call("throttled", json!(null)).await;
    harness::assert_error(&error, "rate_limited");
    assert_eq!(error["Data"]["message"], "slow down");
    assert_eq!(calls.count(), 0);
    client.assert_alive().await;
}

#[tokio::test]
async fn the_first_rejecting_extractor_in_argument_order_answers() {
    let (_server, mut client, calls) = start().await;
    let error = client.call("both", json!(null)).await;
    harness::assert_error(&error, "rate_limited");
    assert_eq!(calls.count(), 0);
    client.assert_alive().await;
}

#[tokio::test]
async fn option_of_a_rejecting_extractor_is_none() {
    let (_server, mut client, _calls) = start().await;
    let reply = client.call("admin.maybe", json!(null)).await;
    assert_eq!(
        reply,
        json!({ "Type": "AdminStatus", "Data": { "admin": null } })
    );
    client
        .call("login", json!({ "name": "bob", "role": "admin" }))
        .await;
    let reply = client.call("admin.maybe", json!(null)).await;
    assert_eq!(
        reply,
        json!({ "Type": "AdminStatus", "Data": { "admin": "bob" } })
    );
}

#[tokio::test]
async fn result_of_a_rejecting_extractor_hands_over_the_rejection() {
    let (_server, mut client, _calls) = start().await;
    let reply = client.call("admin.result", json!(null)).await;
    assert_eq!(
        reply,
        json!({
            "Type": "RejectionSeen",
            "Data": { "code": "unauthorized", "message": "admins only" },
        })
    );
}

#[tokio::test]
async fn a_panicking_extractor_is_a_handler_panic() {
    let (_server, mut client, calls) = start().await;
    let error = client.call_with_id("broken", json!(null), json!(1)).await;
    harness::assert_error(&error, "handler_panic");
    assert_eq!(error["Id"], 1);
    assert_eq!(calls.count(), 0);
    client.assert_alive().await;
}

/// Extractors are not shared between connections: one connection's metadata does not leak.
#[tokio::test]
async fn metadata_is_per_connection() {
    let (server, mut admin, _calls) = start().await;
    admin
        .call("login", json!({ "name": "root", "role": "admin" }))
        .await;
    let mut other = server.connect().await;
    let error = other.call("admin.reset", json!(null)).await;
    harness::assert_error(&error, "unauthorized");
    let reply = admin.call("admin.reset", json!(null)).await;
    assert_eq!(reply["Data"]["by"], "root");
}
