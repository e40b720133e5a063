//! Lifecycle hooks: `on_connect` runs before any handler, `on_disconnect` runs exactly once
//! per connection with the right `DisconnectReason`, `on_handler_error` sees handler errors
//! and panics (and nothing else), and a panicking hook breaks neither the connection nor the
//! server.

mod harness;

use harness::raw::{client_frame, raw_upgrade_with, TEXT};
use harness::{assert_error, wait_for, within, Client, TestServer};

use exws::{
    handlers, message, CloseCode, Connection, Context, DisconnectReason, Endpoint, ErrorCode,
    Server, State,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

#[derive(Deserialize)]
struct Ping {}

#[derive(Serialize)]
struct Pong {}

#[message]
async fn ping(_request: Ping) -> Pong {
    Pong {}
}

#[derive(Deserialize)]
struct MyId {}

#[derive(Serialize)]
struct IdReply {
    id: String,
}

#[message]
async fn my_id(_request: MyId, connection: Connection) -> IdReply {
    IdReply {
        id: connection.id().as_str().to_owned(),
    }
}

#[derive(Deserialize)]
struct Fail {}

/// Returns an error.
#[message]
async fn fail(_request: Fail) -> Result<Pong, String> {
    Err("database is down".to_owned())
}

#[derive(Deserialize)]
struct Explode {
    what: String,
}

/// Panics with a formatted message.
#[message]
async fn explode(request: Explode) -> Pong {
    panic!("kaboom: {}", request.what)
}

#[derive(Deserialize)]
struct CloseMe {
    code: u16,
    reason: String,
}

/// Closes its own connection; a code or reason that may not be sent answers `handler_error`.
#[message]
async fn close_me(request: CloseMe, connection: Connection) -> Result<(), exws::CloseError> {
    connection.close_with(CloseCode(request.code), &request.reason)
}

/// The endpoint serving a test's connections, set once the server is bound.
#[derive(Clone, Default)]
struct Serving(Arc<OnceLock<Endpoint>>);

#[derive(Deserialize)]
struct CloseThenShutDown {}

/// From a task of its own and without yielding in between: closes its connection with 4003,
/// then starts the server's shutdown, whose first step asks every session to close with 1001.
/// The session sees both asks at its next wake-up.
#[message]
async fn close_then_shut_down(
    _request: CloseThenShutDown,
    connection: Connection,
    State(serving): State<Serving>,
) -> Result<(), String> {
    let endpoint = serving
        .0
        .get()
        .cloned()
        .ok_or("the server is not bound yet")?;
    tokio::spawn(async move {
        if connection
            .close_with(CloseCode(4003), "closed first")
            .is_ok()
        {
            endpoint.shutdown().await;
        }
    });
    Ok(())
}

/// What the connect hook sends.
#[derive(Serialize)]
struct Welcome {
    id: String,
}

fn handlers() -> Server {
    Server::with_handlers(handlers![
        ping,
        my_id,
        fail,
        explode,
        close_me,
        close_then_shut_down
    ])
    // Replaced by a test that shuts the server down from a handler.
    .with_state(Serving::default())
}

/// One hook call, as recorded.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    Connected(String),
    Disconnected(String, DisconnectReason),
    Failed {
        id: String,
        code: ErrorCode,
        message: String,
        function: &'static str,
        message_type: &'static str,
    },
}

/// Every hook call of a server, in order.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Event>>>);

impl Recorder {
    fn push(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }

    fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap().clone()
    }

    /// The disconnect reasons recorded for `id`.
    fn disconnects(&self, id: &str) -> Vec<DisconnectReason> {
        self.events()
            .into_iter()
            .filter_map(|event| match event {
                Event::Disconnected(of, reason) if of == id => Some(reason),
                _ => None,
            })
            .collect()
    }

    fn failures(&self) -> Vec<Event> {
        self.events()
            .into_iter()
            .filter(|event| matches!(event, Event::Failed { .. }))
            .collect()
    }

    /// Waits until a disconnect of `id` was recorded.
    async fn disconnected(&self, id: &str) {
        wait_for(&format!("the disconnect of {id}"), || {
            !self.disconnects(id).is_empty()
        })
        .await;
    }

    /// Asserts that `id` connected once, then disconnected once, for `reason`.
    #[track_caller]
    fn assert_lifecycle(&self, id: &str, reason: DisconnectReason) {
        let events = self.events();
        let positions = |wanted: fn(&Event, &str) -> bool| -> Vec<usize> {
            events
                .iter()
                .enumerate()
                .filter(|(_, event)| wanted(event, id))
                .map(|(position, _)| position)
                .collect()
        };
        let connects = positions(|event, id| matches!(event, Event::Connected(of) if of == id));
        let disconnects =
            positions(|event, id| matches!(event, Event::Disconnected(of, _) if of == id));
        assert_eq!(connects.len(), 1, "connects of {id}: {events:#?}");
        assert_eq!(disconnects.len(), 1, "disconnects of {id}: {events:#?}");
        assert!(connects[0] < disconnects[0], "{id}: {events:#?}");
        assert_eq!(self.disconnects(id), [reason], "{id}");
    }
}

/// The server with recording hooks: the connect hook takes a moment, then sends a `Welcome`.
fn recorded(server: Server, recorder: &Recorder) -> Server {
    let on_connect = recorder.clone();
    let on_disconnect = recorder.clone();
    let on_failure = recorder.clone();
    server
        .on_connect(move |context: Context| {
            let recorder = on_connect.clone();
            async move {
                let id = context.connection().id().as_str().to_owned();
                recorder.push(Event::Connected(id.clone()));
                // Long enough for a request sent right after the upgrade to arrive first.
                tokio::time::sleep(Duration::from_millis(100)).await;
                context
                    .connection()
                    .send(&Welcome { id })
                    .await
                    .expect("the welcome is queued");
            }
        })
        .on_disconnect(move |context: Context, reason: DisconnectReason| {
            let recorder = on_disconnect.clone();
            async move {
                let id = context.connection().id().as_str().to_owned();
                recorder.push(Event::Disconnected(id, reason));
            }
        })
        .on_handler_error(move |failure| {
            let recorder = on_failure.clone();
            async move {
                recorder.push(Event::Failed {
                    id: failure.context().connection().id().as_str().to_owned(),
                    code: failure.code(),
                    message: failure.message().to_owned(),
                    function: failure.handler().function(),
                    message_type: failure.handler().message_type(),
                });
            }
        })
}

/// Connects, reads the welcome and returns the connection's id.
async fn connect_welcomed(server: &TestServer) -> (Client, String) {
    let mut ws = server.connect_with("/", &[]).await;
    let welcome = ws.recv().await;
    assert_eq!(welcome["Type"], "Welcome", "{welcome}");
    let id = welcome["Data"]["id"]
        .as_str()
        .expect("a string id")
        .to_owned();
    (ws, id)
}

#[tokio::test]
async fn connect_hook_runs_before_a_request_sent_right_after_the_upgrade() {
    // Sequential and concurrent processing alike.
    for server in [handlers(), handlers().concurrent(4)] {
        let recorder = Recorder::default();
        let server = TestServer::start(recorded(server, &recorder)).await;
        let mut ws = server.connect_with("/", &[]).await;
        ws.send_json(&json!({"Type": "MyId", "Data": {}, "Id": 1}))
            .await;

        let first = ws.recv().await;
        assert_eq!(first["Type"], "Welcome", "the first frame is {first}");
        let second = ws.recv().await;
        assert_eq!(second["Type"], "IdReply", "{second}");
        assert_eq!(second["Id"], 1);
        assert_eq!(first["Data"]["id"], second["Data"]["id"]);
        ws.close_with(1000, "").await;
        server.stop().await;
    }
}

#[tokio::test]
async fn connect_hook_runs_before_a_request_sent_with_the_handshake() {
    let recorder = Recorder::default();
    let server = TestServer::start(recorded(handlers(), &recorder)).await;

    // The upgrade request and the first frame in one write: the server has the request
    // before the 101 is even sent.
    let early = client_frame(TEXT, br#"{"Type":"MyId","Data":{},"Id":"early"}"#);
    let stream = raw_upgrade_with(server.addr(), "Connection: Upgrade\r\n", &early).await;
    let mut ws = Client::from_upgraded(stream).await;

    let first = ws.recv().await;
    assert_eq!(first["Type"], "Welcome", "the first frame is {first}");
    let second = ws.recv().await;
    assert_eq!(second["Type"], "IdReply", "{second}");
    assert_eq!(second["Id"], "early");
    assert_eq!(first["Data"]["id"], second["Data"]["id"]);
    ws.close_with(1000, "").await;
    server.stop().await;
}

#[tokio::test]
async fn client_close_frame_is_client_closed_with_its_code() {
    let recorder = Recorder::default();
    let server = TestServer::start(recorded(handlers(), &recorder)).await;
    let (with_code, with_code_id) = connect_welcomed(&server).await;
    let (without_code, without_code_id) = connect_welcomed(&server).await;

    with_code.close_with(4001, "bye").await;
    without_code.close().await;
    recorder.disconnected(&with_code_id).await;
    recorder.disconnected(&without_code_id).await;
    server.stop().await;

    recorder.assert_lifecycle(
        &with_code_id,
        DisconnectReason::ClientClosed {
            code: Some(4001),
            reason: "bye".to_owned(),
        },
    );
    recorder.assert_lifecycle(
        &without_code_id,
        DisconnectReason::ClientClosed {
            code: None,
            reason: String::new(),
        },
    );
}

#[tokio::test]
async fn abrupt_tcp_drop_calls_the_disconnect_hook_once() {
    let recorder = Recorder::default();
    let server = TestServer::start(recorded(handlers(), &recorder)).await;
    let (ws, id) = connect_welcomed(&server).await;
    // No close frame: the socket just goes away (FIN).
    drop(ws);
    recorder.disconnected(&id).await;
    server.stop().await;
    let reasons = recorder.disconnects(&id);
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        !matches!(
            reasons[0],
            DisconnectReason::ServerShutdown | DisconnectReason::ClientClosed { .. }
        ),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn abrupt_tcp_drop_is_connection_lost() {
    let recorder = Recorder::default();
    let server = TestServer::start(recorded(handlers(), &recorder)).await;
    let (ws, id) = connect_welcomed(&server).await;
    // No close frame: the socket just goes away (FIN).
    drop(ws);
    recorder.disconnected(&id).await;
    server.stop().await;
    recorder.assert_lifecycle(&id, DisconnectReason::ConnectionLost);
}

#[tokio::test]
async fn tcp_reset_is_connection_lost() {
    let recorder = Recorder::default();
    let server = TestServer::start(recorded(handlers(), &recorder)).await;
    // No close frame, and a reset instead of a FIN.
    let mut ws = Client::connect_resetting(server.addr()).await;
    let welcome = ws.recv().await;
    let id = welcome["Data"]["id"]
        .as_str()
        .expect("a string id")
        .to_owned();
    drop(ws);
    recorder.disconnected(&id).await;
    server.stop().await;
    recorder.assert_lifecycle(&id, DisconnectReason::ConnectionLost);
}

#[tokio::test]
async fn server_close_with_is_closed_by_application() {
    let recorder = Recorder::default();
    let server = TestServer::start(recorded(handlers(), &recorder)).await;
    let (mut ws, id) = connect_welcomed(&server).await;
    ws.send_json(&json!({"Type": "CloseMe", "Data": {"code": 4002, "reason": "go away"}}))
        .await;
    assert_eq!(ws.recv_close().await, (4002, "go away".to_owned()));
    ws.drain().await;
    recorder.disconnected(&id).await;
    server.stop().await;
    recorder.assert_lifecycle(
        &id,
        DisconnectReason::ClosedByApplication {
            code: CloseCode(4002),
            reason: "go away".to_owned(),
        },
    );
}

#[tokio::test]
async fn the_first_close_asked_for_wins_over_a_shutdown_asked_for_right_after() {
    let recorder = Recorder::default();
    let serving = Serving::default();
    let bound =
        harness::server::bind(recorded(handlers().with_state(serving.clone()), &recorder)).await;
    assert!(serving.0.set(bound.endpoint().clone()).is_ok());
    let server = TestServer::serve(bound);
    let (mut ws, id) = connect_welcomed(&server).await;

    ws.send_json(&json!({"Type": "CloseThenShutDown", "Data": {}}))
        .await;
    // The application's close was asked for first: its frame goes out, not the shutdown's 1001.
    assert_eq!(ws.recv_close().await, (4003, "closed first".to_owned()));
    ws.drain().await;
    recorder.disconnected(&id).await;
    server.abort().await;
    recorder.assert_lifecycle(
        &id,
        DisconnectReason::ClosedByApplication {
            code: CloseCode(4003),
            reason: "closed first".to_owned(),
        },
    );
}

#[tokio::test]
async fn server_shutdown_is_server_shutdown_for_every_connection() {
    let recorder = Recorder::default();
    let server = TestServer::start(recorded(handlers(), &recorder)).await;
    let (first, first_id) = connect_welcomed(&server).await;
    let (second, second_id) = connect_welcomed(&server).await;

    let stopping = tokio::spawn(server.stop());
    for mut ws in [first, second] {
        assert_eq!(
            ws.recv_close().await,
            (1001, "server shutting down".to_owned())
        );
        ws.drain().await;
    }
    within("the server to stop", stopping)
        .await
        .expect("the server stops");

    recorder.assert_lifecycle(&first_id, DisconnectReason::ServerShutdown);
    recorder.assert_lifecycle(&second_id, DisconnectReason::ServerShutdown);
}

#[tokio::test]
async fn message_too_large_is_message_too_large() {
    let recorder = Recorder::default();
    let server = TestServer::start(recorded(handlers().max_message_size(1024), &recorder)).await;
    let (mut ws, id) = connect_welcomed(&server).await;
    // Under the limit: answered.
    assert_eq!(ws.call("Ping", json!({})).await["Type"], "Pong");

    ws.send_json(&json!({"Type": "Ping", "Data": {"padding": "x".repeat(2000)}}))
        .await;
    assert_error(&ws.recv().await, "message_too_large");
    assert_eq!(ws.recv_close().await.0, 1009);
    ws.drain().await;
    recorder.disconnected(&id).await;
    server.stop().await;
    recorder.assert_lifecycle(&id, DisconnectReason::MessageTooLarge);
}

#[tokio::test]
async fn every_connection_connects_then_disconnects_exactly_once() {
    let recorder = Recorder::default();
    let server = TestServer::start(recorded(handlers(), &recorder)).await;
    let (closing, closing_id) = connect_welcomed(&server).await;
    let (dropped, dropped_id) = connect_welcomed(&server).await;
    let (mut closed, closed_id) = connect_welcomed(&server).await;
    let (mut open, open_id) = connect_welcomed(&server).await;
    // Busy connections too: a request in flight when it closes.
    assert_eq!(open.call("Ping", json!({})).await["Type"], "Pong");

    closing.close_with(1000, "").await;
    drop(dropped);
    closed
        .send_json(&json!({"Type": "CloseMe", "Data": {"code": 1000, "reason": "done"}}))
        .await;
    assert_eq!(closed.recv_close().await.0, 1000);
    closed.drain().await;
    for id in [&closing_id, &dropped_id, &closed_id] {
        recorder.disconnected(id).await;
    }
    let stopping = tokio::spawn(server.stop());
    assert_eq!(open.recv_close().await.0, 1001);
    open.drain().await;
    within("the server to stop", stopping)
        .await
        .expect("the server stops");

    let events = recorder.events();
    assert_eq!(events.len(), 8, "{events:#?}");
    for id in [&closing_id, &dropped_id, &closed_id, &open_id] {
        let of_id: Vec<&Event> = events
            .iter()
            .filter(|event| match event {
                Event::Connected(of) | Event::Disconnected(of, _) => of == id,
                Event::Failed { .. } => false,
            })
            .collect();
        assert!(
            matches!(of_id[..], [Event::Connected(_), Event::Disconnected(_, _)]),
            "{id}: {of_id:#?}"
        );
    }
    assert_eq!(
        recorder.disconnects(&open_id),
        [DisconnectReason::ServerShutdown]
    );
}

#[tokio::test]
async fn handler_error_hook_sees_errors_and_panics_only() {
    let recorder = Recorder::default();
    let server = TestServer::start(recorded(handlers(), &recorder)).await;
    let (mut ws, id) = connect_welcomed(&server).await;

    ws.send_json(&json!({"Type": "Fail", "Data": {}, "Id": 1}))
        .await;
    let reply = ws.recv().await;
    let data = assert_error(&reply, "handler_error");
    assert_eq!(data["message"], "database is down");
    assert_eq!(reply["Id"], 1);

    let reply = ws.call("Explode", json!({"what": "left pad"})).await;
    let data = assert_error(&reply, "handler_panic");
    assert!(
        !data["message"]
            .as_str()
            .unwrap_or_default()
            .contains("kaboom"),
        "the panic message reaches the client: {reply}"
    );

    // Not handler failures.
    assert_error(&ws.call("Nope", json!({})).await, "unknown_type");
    assert_error(
        &ws.call("Explode", json!({"what": 5})).await,
        "invalid_data",
    );
    ws.send_text("not json").await;
    assert_error(&ws.recv().await, "invalid_json");

    // The hooks ran before the next message was handled.
    assert_eq!(ws.call("Ping", json!({})).await["Type"], "Pong");
    assert_eq!(
        recorder.failures(),
        [
            Event::Failed {
                id: id.clone(),
                code: ErrorCode::HandlerError,
                message: "database is down".to_owned(),
                function: "fail",
                message_type: "Fail",
            },
            Event::Failed {
                id: id.clone(),
                code: ErrorCode::HandlerPanic,
                message: "kaboom: left pad".to_owned(),
                function: "explode",
                message_type: "Explode",
            },
        ]
    );
    ws.close_with(1000, "").await;
    server.stop().await;
}

#[tokio::test]
async fn panicking_hooks_break_neither_the_connection_nor_the_server() {
    let recorder = Recorder::default();
    let server = Server::with_handlers(handlers![ping, my_id, fail, explode, close_me])
        // A hook that panics while it runs, and one that panics before returning a future.
        .on_connect(|_context| async { panic!("connect hook panics") })
        .on_disconnect(|_context, _reason| -> std::future::Ready<()> {
            panic!("disconnect hook panics")
        })
        .on_handler_error(|_failure| async { panic!("failure hook panics") });
    // The hooks added after them still run.
    let server = TestServer::start(recorded(server, &recorder)).await;

    for _ in 0..2 {
        let (mut ws, id) = connect_welcomed(&server).await;
        assert_eq!(ws.call("Ping", json!({})).await["Type"], "Pong");
        assert_error(&ws.call("Fail", json!({})).await, "handler_error");
        let reply = ws.call("MyId", json!({})).await;
        assert_eq!(reply["Data"]["id"], id.as_str(), "{reply}");
        ws.close_with(4000, "done").await;
        recorder.disconnected(&id).await;
        recorder.assert_lifecycle(
            &id,
            DisconnectReason::ClientClosed {
                code: Some(4000),
                reason: "done".to_owned(),
            },
        );
    }
    // Per connection: connected, failed, disconnected; the panicking hooks changed nothing.
    let events = recorder.events();
    assert_eq!(recorder.failures().len(), 2, "{events:#?}");
    assert_eq!(events.len(), 6, "{events:#?}");
    server.stop().await;
}

#[tokio::test]
async fn hooks_of_one_kind_run_in_the_order_they_were_added() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut server = Server::with_handlers(handlers![ping, my_id, fail, explode, close_me]);
    for name in ["first", "second", "third"] {
        let connect_order = order.clone();
        let disconnect_order = order.clone();
        server = server
            .on_connect(move |_context| {
                connect_order
                    .lock()
                    .expect("the order")
                    .push(format!("connect {name}"));
                async {}
            })
            .on_disconnect(move |_context, _reason| {
                disconnect_order
                    .lock()
                    .expect("the order")
                    .push(format!("disconnect {name}"));
                async {}
            });
    }
    let server = TestServer::start(server).await;
    let mut ws = server.connect().await;
    // A reply proves the connect hooks have run (they run before any handler).
    assert_eq!(ws.call("Ping", json!({})).await["Type"], "Pong");
    ws.close().await;
    // `stop` returns once every connection is gone and its disconnect hooks have run.
    server.stop().await;
    assert_eq!(
        *order.lock().expect("the order"),
        [
            "connect first",
            "connect second",
            "connect third",
            "disconnect first",
            "disconnect second",
            "disconnect third",
        ]
    );
}
