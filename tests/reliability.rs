//! Reliability at the edges of a connection's life, over real loopback sockets: a request
//! followed at once by a close is answered before the close is echoed; two connections of one
//! user stay apart; cleanup runs once whatever ends a session (a close, the shutdown timeout,
//! a dropped server future); closing cancels handlers that never finish; close codes are
//! checked.

mod harness;

use exws::auth::Admission;
use exws::{
    handlers, message, CloseCode, CloseError, Connection, DisconnectReason, HandshakeRequest, Hub,
    HubError, Server, UserId,
};
use harness::raw::{client_frame, raw_upgrade};
use harness::{within, Client, TestServer};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Deserialize)]
struct CalculateRequest {
    numbers: Vec<i64>,
}

#[derive(Serialize)]
struct CalculateResponse {
    result: i64,
}

/// The calculator example's handler.
#[message]
async fn calculate(request: CalculateRequest) -> CalculateResponse {
    CalculateResponse {
        result: request.numbers.iter().sum(),
    }
}

/// Reads one unmasked server frame from `tcp`: its opcode and payload.
async fn read_server_frame(tcp: &mut harness::transport::TestStream) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 2];
    tcp.read_exact(&mut head).await.ok()?;
    let opcode = head[0] & 0x0f;
    let len = match head[1] & 0x7f {
        126 => {
            let mut len = [0u8; 2];
            tcp.read_exact(&mut len).await.ok()?;
            u64::from(u16::from_be_bytes(len))
        }
        127 => {
            let mut len = [0u8; 8];
            tcp.read_exact(&mut len).await.ok()?;
            u64::from_be_bytes(len)
        }
        len => u64::from(len),
    };
    let mut payload = vec![0u8; usize::try_from(len).ok()?];
    tcp.read_exact(&mut payload).await.ok()?;
    Some((opcode, payload))
}

/// A close frame's payload: the code, then the reason.
fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    payload
}

#[tokio::test]
async fn a_request_and_a_close_in_one_write_get_the_reply_then_the_close_echo() {
    let server = TestServer::start(Server::with_handlers(handlers![calculate])).await;
    for round in 0..20 {
        let mut tcp = raw_upgrade(server.addr()).await;
        let request = json!({"Type": "CalculateRequest", "Data": {"numbers": [2, 2]}, "Id": 7});
        let mut bytes = client_frame(0x1, request.to_string().as_bytes());
        bytes.extend(client_frame(0x8, &close_payload(1000, "bye")));
        within("writing the request and the close", tcp.write_all(&bytes))
            .await
            .expect("one write of two frames");

        let (opcode, payload) = within("the reply", read_server_frame(&mut tcp))
            .await
            .unwrap_or_else(|| panic!("round {round}: the connection ended before the reply"));
        assert_eq!(opcode, 0x1, "round {round}: a text frame comes first");
        let reply: Value = serde_json::from_slice(&payload).expect("the reply is JSON");
        assert_eq!(
            reply,
            json!({"Type": "CalculateResponse", "Data": {"result": 4}, "Id": 7}),
            "round {round}"
        );
        let (opcode, payload) = within("the close echo", read_server_frame(&mut tcp))
            .await
            .unwrap_or_else(|| panic!("round {round}: no close echo after the reply"));
        assert_eq!(opcode, 0x8, "round {round}: then the close");
        assert_eq!(
            payload.get(..2),
            Some(&1000u16.to_be_bytes()[..]),
            "round {round}: the close echoes the client's code"
        );
    }
    assert!(server.shutdown().await.is_ok());
}

#[tokio::test]
async fn pipelined_requests_and_a_close_in_one_write_are_all_answered_in_order() {
    let server = TestServer::start(Server::with_handlers(handlers![calculate])).await;
    let mut tcp = raw_upgrade(server.addr()).await;
    let mut bytes = Vec::new();
    for id in 0..50 {
        let request = json!({"Type": "CalculateRequest", "Data": {"numbers": [id, 1]}, "Id": id});
        bytes.extend(client_frame(0x1, request.to_string().as_bytes()));
    }
    bytes.extend(client_frame(0x8, &close_payload(4000, "")));
    within("writing", tcp.write_all(&bytes))
        .await
        .expect("one write");
    for id in 0..50 {
        let (opcode, payload) = within("a reply", read_server_frame(&mut tcp))
            .await
            .unwrap_or_else(|| panic!("the connection ended before reply {id}"));
        assert_eq!(opcode, 0x1);
        let reply: Value = serde_json::from_slice(&payload).expect("JSON");
        assert_eq!(reply["Id"], id);
        assert_eq!(reply["Data"]["result"], id + 1);
    }
    let (opcode, payload) = within("the close echo", read_server_frame(&mut tcp))
        .await
        .expect("a close echo");
    assert_eq!(
        (opcode, payload.get(..2)),
        (0x8, Some(&4000u16.to_be_bytes()[..]))
    );
    assert!(server.shutdown().await.is_ok());
}

// ---- One identity model ----

#[derive(Deserialize)]
struct JoinRoom {
    room: String,
}

#[derive(Serialize)]
struct Joined {
    room: String,
    members: usize,
}

#[message]
async fn join_room(
    request: JoinRoom,
    connection: Connection,
    hub: Hub,
) -> Result<Joined, HubError> {
    let members = hub.join(connection.id(), &request.room).await?;
    Ok(Joined {
        room: request.room,
        members,
    })
}

#[derive(Deserialize)]
struct WhoAmI {}

#[derive(Serialize)]
struct Me {
    connection: String,
    user: Option<String>,
}

#[message]
async fn who_am_i(_request: WhoAmI, connection: Connection) -> Me {
    Me {
        connection: connection.id().to_string(),
        user: connection.user_id().map(ToString::to_string),
    }
}

#[derive(Serialize)]
struct Note {
    text: String,
}

/// Admits `?user=NAME` as user NAME.
async fn by_user_parameter(
    request: HandshakeRequest,
) -> Result<Admission, exws::auth::HandshakeRejection> {
    Ok(match request.query_param("user") {
        Some(user) => Admission::anonymous().with_user_id(user.into_owned()),
        None => Admission::anonymous(),
    })
}

/// Connects as `?user=...` and learns the connection id.
async fn connect_as(server: &TestServer, user: &str) -> (Client, String) {
    let mut client = Client::connect_to(server.addr(), &format!("/?user={user}")).await;
    let me = client.call("WhoAmI", json!({})).await;
    assert_eq!(me["Data"]["user"], user, "{me}");
    let id = me["Data"]["connection"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (client, id)
}

#[tokio::test]
async fn two_tabs_of_one_user_stay_apart_and_a_user_message_reaches_both() {
    let server =
        Server::with_handlers(handlers![join_room, who_am_i]).authenticator(by_user_parameter);
    let bound = harness::server::bind(server).await;
    let hub = bound.hub();
    let server = TestServer::serve(bound);

    let (mut first_tab, first_id) = connect_as(&server, "ada").await;
    let joined = first_tab.call("JoinRoom", json!({"room": "r"})).await;
    assert_eq!(joined["Data"]["members"], 1, "{joined}");

    let (mut second_tab, second_id) = connect_as(&server, "ada").await;
    assert_ne!(first_id, second_id, "each tab has its own connection id");
    let joined = second_tab.call("JoinRoom", json!({"room": "other"})).await;
    assert_eq!(joined["Data"]["members"], 1, "{joined}");
    let ada = UserId::from("ada");
    let mut tabs = hub
        .user_connections(&ada)
        .await
        .expect("the user's connections");
    tabs.sort();
    let mut expected = vec![first_id.clone(), second_id.clone()];
    expected.sort();
    assert_eq!(
        tabs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        expected
    );

    // A message to the user reaches both tabs.
    hub.user(&ada)
        .send(&Note {
            text: "to both".into(),
        })
        .await
        .expect("the user has connections");
    for tab in [&mut first_tab, &mut second_tab] {
        let note = tab.recv().await;
        assert_eq!(note, json!({"Type": "Note", "Data": {"text": "to both"}}));
    }

    // The second tab closes: the first keeps its room and its direct messages.
    second_tab.close().await;
    harness::wait_for("the second tab to be gone", || {
        hub.local_connection(&second_id.as_str().into()).is_none()
    })
    .await;
    hub.room("r")
        .send(&Note {
            text: "room".into(),
        })
        .await
        .expect("room message");
    assert_eq!(first_tab.recv().await["Data"]["text"], "room");
    hub.to(&first_id.as_str().into())
        .send(&Note {
            text: "direct".into(),
        })
        .await
        .expect("the first tab is still addressable");
    assert_eq!(first_tab.recv().await["Data"]["text"], "direct");
    hub.user(&ada)
        .send(&Note {
            text: "user".into(),
        })
        .await
        .expect("the user still has a connection");
    assert_eq!(first_tab.recv().await["Data"]["text"], "user");
    assert_eq!(
        hub.rooms_of(&first_id.as_str().into()),
        vec!["r".to_owned()]
    );
    assert_eq!(
        hub.member_users("r").await.expect("member users"),
        vec![ada.clone()]
    );

    // Once the user has no connection, a message to it is an error that names it.
    first_tab.close().await;
    harness::wait_for("the first tab to be gone", || {
        hub.local_connection_count() == 0
    })
    .await;
    match hub
        .user(&ada)
        .send(&Note {
            text: "nobody".into(),
        })
        .await
    {
        Err(HubError::UnknownUser(user)) => assert_eq!(user, ada),
        other => panic!("expected UnknownUser, got {other:?}"),
    }
    assert_eq!(
        hub.local_room_count(),
        0,
        "users' rooms are not application rooms"
    );
    assert!(server.shutdown().await.is_ok());
}

// ---- Cleanup that cannot be skipped; cancellation of handlers that never finish ----

#[derive(Deserialize)]
struct Hang {}

/// Never returns; records that it was dropped (cancelled).
#[message]
async fn hang(_request: Hang, exws::State(events): exws::State<Events>) {
    let _dropped = DropRecorder(events.0.clone(), "hang cancelled");
    events.0.record("hang started");
    std::future::pending::<()>().await;
}

#[derive(Deserialize)]
struct CloseSoon {
    code: u16,
    reason: String,
}

/// Closes its connection from another task, after the reply.
#[message]
async fn close_soon(request: CloseSoon, connection: Connection) -> Result<(), CloseError> {
    connection.close_with(CloseCode(request.code), &request.reason)
}

/// What happened, in order.
#[derive(Clone, Default)]
struct Events(Arc<EventLog>);

#[derive(Default)]
struct EventLog(Mutex<Vec<String>>);

impl EventLog {
    fn record(&self, event: impl Into<String>) {
        self.0
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .push(event.into());
    }

    fn all(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }

    fn count(&self, prefix: &str) -> usize {
        self.all()
            .iter()
            .filter(|event| event.starts_with(prefix))
            .count()
    }
}

struct DropRecorder(Arc<EventLog>, &'static str);

impl Drop for DropRecorder {
    fn drop(&mut self) {
        self.0.record(self.1);
    }
}

fn recording_server(events: &Events) -> Server {
    let log = events.0.clone();
    Server::with_handlers(handlers![hang, close_soon, join_room, who_am_i, calculate])
        .with_state(events.clone())
        .authenticator(by_user_parameter)
        .on_disconnect(move |_context, reason: DisconnectReason| {
            let log = log.clone();
            async move { log.record(format!("disconnect {}", reason.label())) }
        })
}

#[tokio::test]
async fn closing_a_connection_cancels_a_handler_that_never_finishes() {
    let events = Events::default();
    let server = TestServer::start(
        recording_server(&events)
            .concurrent(4)
            .handler_grace(Duration::from_millis(100)),
    )
    .await;
    let mut client = server.connect().await;
    client.send_json(&json!({"Type": "Hang", "Data": {}})).await;
    harness::wait_for("the handler to start", || {
        events.0.count("hang started") == 1
    })
    .await;
    client
        .send_json(&json!({"Type": "CloseSoon", "Data": {"code": 4001, "reason": "done"}}))
        .await;
    let reason = client.expect_close(4001).await;
    assert_eq!(reason, "done");
    harness::wait_for("the disconnect hook", || events.0.count("disconnect") == 1).await;
    assert_eq!(events.0.count("hang cancelled"), 1, "{:?}", events.0.all());
    assert_eq!(
        events.0.count("disconnect closed_by_application"),
        1,
        "{:?}",
        events.0.all()
    );
    assert!(server.shutdown().await.is_ok());
}

#[tokio::test]
async fn a_sequential_handler_that_never_finishes_does_not_hold_a_server_close() {
    let events = Events::default();
    let bound =
        harness::server::bind(recording_server(&events).handler_grace(Duration::from_millis(100)))
            .await;
    let hub = bound.hub();
    let server = TestServer::serve(bound);
    let (mut client, id) = connect_as(&server, "ada").await;
    client.send_json(&json!({"Type": "Hang", "Data": {}})).await;
    harness::wait_for("the handler to start", || {
        events.0.count("hang started") == 1
    })
    .await;
    let connection = hub
        .local_connection(&id.as_str().into())
        .expect("the connection is here");
    assert!(connection
        .close_with(CloseCode(4002), "from elsewhere")
        .is_ok());
    assert_eq!(client.expect_close(4002).await, "from elsewhere");
    harness::wait_for("the disconnect hook", || events.0.count("disconnect") == 1).await;
    assert_eq!(events.0.count("hang cancelled"), 1);
    assert!(server.shutdown().await.is_ok());
}

#[tokio::test]
async fn shutdown_ends_within_its_timeout_despite_a_handler_that_never_finishes() {
    let events = Events::default();
    let mut server = TestServer::start(
        recording_server(&events)
            .shutdown_timeout(Duration::from_millis(200))
            .close_timeout(Duration::from_millis(200)),
    )
    .await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut client = server.connect().await;
        client.send_json(&json!({"Type": "Hang", "Data": {}})).await;
        clients.push(client);
    }
    harness::wait_for("the handlers to start", || {
        events.0.count("hang started") == 3
    })
    .await;
    server.trigger_shutdown();
    // `stopped` fails the test if the server takes over five seconds.
    assert!(server.stopped().await.is_ok());
    for client in &mut clients {
        assert_eq!(client.expect_close(1001).await, "server shutting down");
    }
    harness::wait_for("every disconnect hook", || {
        events.0.count("disconnect") == 3
    })
    .await;
    assert_eq!(
        events.0.count("disconnect server_shutdown"),
        3,
        "{:?}",
        events.0.all()
    );
    assert_eq!(events.0.count("hang cancelled"), 3);
}

#[tokio::test]
async fn a_dropped_server_future_still_runs_each_disconnect_hook_once_and_empties_the_hub() {
    if harness::skipped_over(
        harness::Transport::Axum,
        "an axum app's connections belong to the endpoint, not to the app's serve future: \
         dropping that future does not drop them (Endpoint::shutdown closes them)",
    ) {
        return;
    }
    let events = Events::default();
    let bound = harness::server::bind(recording_server(&events)).await;
    let hub = bound.hub();
    let server = TestServer::serve(bound);
    let (mut client, _id) = connect_as(&server, "ada").await;
    let joined = client.call("JoinRoom", json!({"room": "r"})).await;
    assert_eq!(joined["Data"]["members"], 1);
    client.send_json(&json!({"Type": "Hang", "Data": {}})).await;
    harness::wait_for("the handler to start", || {
        events.0.count("hang started") == 1
    })
    .await;
    assert_eq!(hub.local_connection_count(), 1);

    // The server's future is dropped (its task aborted): every session with it.
    server.abort().await;
    // The cleanup forgets the connection after its disconnect hooks: once the hub has, every
    // hook that was going to run has, and exactly once.
    harness::wait_for("the hub to forget the connection", || {
        hub.local_connection_count() == 0
    })
    .await;
    assert_eq!(events.0.count("disconnect"), 1, "{:?}", events.0.all());
    assert_eq!(hub.local_room_count(), 0);
    assert_eq!(
        events.0.count("disconnect aborted"),
        1,
        "{:?}",
        events.0.all()
    );
    assert_eq!(events.0.count("hang cancelled"), 1);
}

#[tokio::test]
async fn close_codes_that_may_not_be_sent_are_refused_and_the_connection_stays_open() {
    let events = Events::default();
    let server = TestServer::start(recording_server(&events)).await;
    let mut client = server.connect().await;
    for (code, reason) in [
        (1005, String::new()),
        (1006, String::new()),
        (0, String::new()),
        (1015, String::new()),
        (1000, "x".repeat(124)),
    ] {
        client
            .send_json(
                &json!({"Type": "CloseSoon", "Data": {"code": code, "reason": reason}, "Id": code}),
            )
            .await;
        let error = client.expect_error("handler_error").await;
        assert_eq!(error["Id"], code);
        let message = harness::error_message(&error).to_owned();
        assert!(
            message.contains("may not be sent") || message.contains("too long"),
            "{message}"
        );
    }
    client.assert_alive().await;
    // 123 bytes of UTF-8 is the most a close frame carries, and goes through.
    let reason = "é".repeat(61);
    client
        .send_json(&json!({"Type": "CloseSoon", "Data": {"code": 4000, "reason": reason}}))
        .await;
    assert_eq!(client.expect_close(4000).await, reason);
    assert!(server.shutdown().await.is_ok());
}

#[tokio::test]
async fn a_session_aborted_at_the_shutdown_bound_runs_its_disconnect_hook_once() {
    let events = Events::default();
    let log = events.0.clone();
    let mut server = TestServer::start(
        recording_server(&events)
            .shutdown_timeout(Duration::from_millis(100))
            .close_timeout(Duration::from_millis(100))
            .handler_grace(Duration::from_secs(2))
            // A disconnect hook slower than the shutdown bound holds its session past it.
            .on_disconnect(move |_context, _reason| {
                let log = log.clone();
                async move {
                    log.record("slow hook started");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    log.record("slow hook finished");
                }
            }),
    )
    .await;
    let mut client = server.connect().await;
    client.send_json(&json!({"Type": "Hang", "Data": {}})).await;
    harness::wait_for("the handler to start", || {
        events.0.count("hang started") == 1
    })
    .await;
    server.trigger_shutdown();
    assert!(server.stopped().await.is_ok());
    assert_eq!(
        events.0.count("slow hook finished"),
        0,
        "the server did not wait for the hook"
    );
    // The hook goes on in its own task, once, to its end. Its end, a second after its start,
    // is the later marker: a second run would have started by then.
    harness::wait_for("the slow hook to finish", || {
        events.0.count("slow hook finished") == 1
    })
    .await;
    assert_eq!(
        events.0.count("slow hook started"),
        1,
        "{:?}",
        events.0.all()
    );
    assert_eq!(
        events.0.count("disconnect server_shutdown"),
        1,
        "{:?}",
        events.0.all()
    );
}
