//! The chat example's binary (`examples/chat.rs`) as an OS process: who is here through exws's
//! presence (the built-in `PresenceWatch`: a state, then diffs on join, leave and close, each
//! connection's meta `{"name": ...}` from its URL), and the chat page and browser client it
//! serves over plain HTTP.
//!
//! Every receive is bounded by the harness's step limit.

mod harness;

use harness::chat::ChatClient;
use harness::process::ExampleProcess;
use harness::raw::http_exchange;
use harness::Client;
use serde_json::{json, Value};
use std::net::SocketAddr;

/// The chat example as a process on a free loopback port, without Redis.
async fn chat_process() -> ExampleProcess {
    ExampleProcess::start("chat", &[]).await
}

/// The presence entry of a connection without a user, with its meta.
fn guest(id: &str, name: Option<&str>) -> Value {
    json!({
        "user": null,
        "metas": [{
            "connection": id,
            "meta": name.map_or(Value::Null, |name| json!({ "name": name })),
        }],
    })
}

/// Entries without a user, sorted by connection id as the server sorts them.
fn guests(entries: &[(&str, Option<&str>)]) -> Value {
    let mut entries = entries.to_vec();
    entries.sort();
    Value::Array(entries.iter().map(|(id, name)| guest(id, *name)).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rooms_presence_and_its_diffs() {
    let mut chat = chat_process().await;
    let mut x = ChatClient::connect_to(chat.addr(), "/?name=Xavier").await;
    let mut y = ChatClient::connect(chat.addr()).await;
    let (x_id, y_id) = (x.id().to_owned(), y.id().to_owned());

    // Nobody watches yet: joins send no diff, the room behaves as it always did.
    assert_eq!(x.join("lobby").await, 1);
    assert_eq!(y.join("lobby").await, 2);
    y.send_to_room("lobby", "before anyone watches").await;
    x.expect_room_message("lobby", &y_id, "before anyone watches")
        .await;

    // A watch of a room one is not in is refused; in it, the state lists the room.
    x.send_envelope(json!({"Type": "PresenceWatch", "Data": {"room": "elsewhere"}, "Id": "w0"}))
        .await;
    let refusal = x.expect_error("unauthorized").await;
    assert!(
        refusal["message"]
            .as_str()
            .unwrap_or_default()
            .contains("join it first"),
        "{refusal}"
    );
    x.send_envelope(json!({"Type": "PresenceWatch", "Data": {"room": "lobby"}, "Id": "who"}))
        .await;
    let state = x.recv().await;
    assert_eq!(
        state,
        json!({
            "Type": "PresenceState",
            "Data": {"room": "lobby", "presences": guests(&[(&x_id, Some("Xavier")), (&y_id, None)])},
            "Id": "who",
        })
    );

    // x now watches the lobby: it hears of z's arrival; y (not watching) and z do not.
    let mut z = ChatClient::connect_to(chat.addr(), "/?name=%20Zoe%20").await;
    let z_id = z.id().to_owned();
    assert_eq!(z.join("lobby").await, 3);
    let diff = x.recv().await;
    assert_eq!(
        diff,
        json!({
            "Type": "PresenceDiff",
            "Data": {"room": "lobby", "joins": [guest(&z_id, Some("Zoe"))], "leaves": []},
            "Id": "who",
        })
    );

    // Joining a room again is no new arrival: the watcher's next message is the room message.
    assert_eq!(z.join("lobby").await, 3);
    z.send_to_room("lobby", "still here").await;
    x.expect_room_message("lobby", &z_id, "still here").await;
    y.expect_room_message("lobby", &z_id, "still here").await;

    // y watches too; z leaves: both watchers are told.
    let state = y.watch_presence("lobby", 7).await;
    assert_eq!(
        state,
        guests(&[(&x_id, Some("Xavier")), (&y_id, None), (&z_id, Some("Zoe"))])
    );
    z.leave("lobby").await;
    let left = json!([guest(&z_id, Some("Zoe"))]);
    let diff = x.recv().await;
    assert_eq!(diff["Data"]["leaves"], left, "{diff}");
    let (_, leaves) = y.expect_presence_diff("lobby", 7).await;
    assert_eq!(leaves, left);

    // y leaves: its own watch ends; x is told.
    y.leave_ending_watch("lobby", 7).await;
    let diff = x.recv().await;
    assert_eq!(
        diff["Data"]["leaves"],
        json!([guest(&y_id, None)]),
        "{diff}"
    );
    z.send("Broadcast", json!({ "text": "z's sync" })).await;
    z.expect_broadcast(&z_id, "z's sync").await; // no diff of others' comings and goings
    x.expect_broadcast(&z_id, "z's sync").await;
    y.expect_broadcast(&z_id, "z's sync").await;

    // A connection that drops leaves its rooms: the watchers are told.
    assert_eq!(y.join("lobby").await, 2);
    let diff = x.recv().await;
    assert_eq!(diff["Data"]["joins"], json!([guest(&y_id, None)]), "{diff}");
    y.watch_presence("lobby", 8).await;
    x.drop_abruptly();
    let (_, leaves) = y.expect_presence_diff("lobby", 8).await;
    assert_eq!(leaves, json!([guest(&x_id, Some("Xavier"))]));
    chat.assert_running();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_connection_is_announced_in_each_of_its_rooms_once() {
    let mut chat = chat_process().await;
    let mut watcher = ChatClient::connect(chat.addr()).await;
    for (watch, room) in [(1, "a"), (2, "b")] {
        watcher.join(room).await;
        watcher.watch_presence(room, watch).await;
    }

    // The leaver closes cleanly, with a close frame (the other test drops its TCP connection).
    let mut leaver = Client::connect(chat.addr()).await;
    let welcome = leaver.recv().await;
    assert_eq!(welcome["Type"], "Welcome", "{welcome}");
    let leaver_id = welcome["Data"]["id"].as_str().expect("an id").to_owned();
    for room in ["a", "b", "c"] {
        let joined = leaver.call("JoinRoom", json!({"room": room})).await;
        assert_eq!(joined["Type"], "Joined", "{joined}");
    }
    // Two watches are two streams: their items may come in either order.
    let mut diffs = [watcher.recv().await, watcher.recv().await];
    diffs.sort_by_key(|diff| diff["Id"].as_u64());
    for (diff, (watch, room)) in diffs.iter().zip([(1, "a"), (2, "b")]) {
        let (joins, _) = watcher.check_presence_diff(diff, room, watch);
        assert_eq!(joins, json!([guest(&leaver_id, None)]));
    }
    leaver.close().await;

    let mut seen = Vec::new();
    for _ in 0..2 {
        let diff = watcher.recv().await;
        assert_eq!(diff["Type"], "PresenceDiff", "{diff}");
        assert_eq!(
            diff["Data"]["leaves"],
            json!([guest(&leaver_id, None)]),
            "{diff}"
        );
        seen.push(diff["Data"]["room"].as_str().unwrap_or_default().to_owned());
    }
    seen.sort();
    assert_eq!(seen, ["a", "b"]);
    // Nothing more: the next message is the answer to the next request.
    let watcher_id = watcher.id().to_owned();
    watcher.broadcast("marker").await;
    watcher.expect_broadcast(&watcher_id, "marker").await;
    chat.assert_running();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_of_an_invalid_room_is_an_error_naming_that_room() {
    let mut chat = chat_process().await;
    let mut client = ChatClient::connect(chat.addr()).await;
    client
        .send_envelope(json!({"Type": "PresenceWatch", "Data": {"room": "bad\u{7}room"}, "Id": 1}))
        .await;
    let error = client.expect_error("invalid_data").await;
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("bad"), "{error}");
    assert!(!message.contains("presence:"), "{error}");
    // The connection goes on.
    client.join("fine").await;
    assert_eq!(
        client
            .watch_presence("fine", 2)
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    chat.assert_running();
}

/// `GET path` over plain HTTP: (status line, content type, body).
async fn http_get(addr: SocketAddr, path: &str) -> (String, String, String) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let (_status, head, body) = http_exchange(addr, &request).await;
    let status = head.lines().next().unwrap_or_default().to_owned();
    let content_type = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default();
    (status, content_type, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_serves_the_chat_page_and_the_browser_client() {
    let mut chat = chat_process().await;
    let (status, content_type, body) = http_get(chat.addr(), "/").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert_eq!(body, include_str!("../examples/chat/index.html"));

    let (status, content_type, body) = http_get(chat.addr(), "/exws.js").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(content_type, "text/javascript; charset=utf-8");
    assert_eq!(body, include_str!("../clients/browser/exws.js"));

    // The page's WebSocket (same path, an upgrade) is the chat server.
    let client = ChatClient::connect(chat.addr()).await;
    assert!(!client.id().is_empty());
    chat.assert_running();
}
