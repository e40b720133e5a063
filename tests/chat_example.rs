//! The chat example's binary (`examples/chat.rs`) as an OS process: who is here (`Members` →
//! `MemberList`), `Presence` notices to the room's watchers on join, leave and close, and the
//! chat page and browser client it serves over plain HTTP.
//!
//! Every receive is bounded by the harness's step limit.

mod harness;

use harness::chat::ChatClient;
use harness::process::ExampleProcess;
use harness::raw::http_exchange;
use harness::Client;
use serde_json::json;
use std::net::SocketAddr;

/// The chat example as a process on a free loopback port, without Redis.
async fn chat_process() -> ExampleProcess {
    ExampleProcess::start("chat", &[]).await
}

/// Sends `Members {room}` and returns the `MemberList`'s members; checks the reply's room.
async fn members(client: &mut ChatClient, room: &str) -> Vec<String> {
    client.send("Members", json!({ "room": room })).await;
    let list = client.expect("MemberList").await;
    assert_eq!(list["room"], room, "MemberList for another room: {list}");
    serde_json::from_value(list["members"].clone())
        .unwrap_or_else(|error| panic!("MemberList members are not strings ({error}): {list}"))
}

/// Expects `Presence {room, id, joined}` next.
async fn expect_presence(client: &mut ChatClient, room: &str, id: &str, joined: bool) {
    let data = client.expect("Presence").await;
    assert_eq!(
        data,
        json!({ "room": room, "id": id, "joined": joined }),
        "{} got another presence notice",
        client.id()
    );
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_and_presence_notices() {
    let mut chat = chat_process().await;
    let mut x = ChatClient::connect(chat.addr()).await;
    let mut y = ChatClient::connect(chat.addr()).await;
    let (x_id, y_id) = (x.id().to_owned(), y.id().to_owned());

    // Nobody watches yet: joins send no Presence, the room behaves as it always did.
    assert_eq!(x.join("lobby").await, 1);
    assert_eq!(y.join("lobby").await, 2);
    y.send_to_room("lobby", "before anyone watches").await;
    x.expect_room_message("lobby", &y_id, "before anyone watches")
        .await;

    // Members lists the room, sorted, and echoes the request's Id.
    x.send_envelope(json!({"Type": "Members", "Data": {"room": "lobby"}, "Id": "who"}))
        .await;
    let reply = x.recv().await;
    assert_eq!(
        reply,
        json!({
            "Type": "MemberList",
            "Data": {"room": "lobby", "members": sorted(&[&x_id, &y_id])},
            "Id": "who",
        })
    );

    // x now watches the lobby: it hears of z's arrival; y (not watching) and z do not.
    let mut z = ChatClient::connect(chat.addr()).await;
    let z_id = z.id().to_owned();
    assert_eq!(z.join("lobby").await, 3);
    expect_presence(&mut x, "lobby", &z_id, true).await;
    assert_eq!(
        members(&mut y, "lobby").await,
        sorted(&[&x_id, &y_id, &z_id]),
        "y's next message is its MemberList: no Presence came first"
    );
    assert_eq!(
        members(&mut z, "lobby").await,
        sorted(&[&x_id, &y_id, &z_id])
    );

    // Joining a room again is no new arrival: the watchers' next message is the room message.
    assert_eq!(z.join("lobby").await, 3);
    z.send_to_room("lobby", "still here").await;
    x.expect_room_message("lobby", &z_id, "still here").await;
    y.expect_room_message("lobby", &z_id, "still here").await;

    // z leaves: every watcher but z is told; leaving also ends z's watch.
    z.leave("lobby").await;
    expect_presence(&mut x, "lobby", &z_id, false).await;
    expect_presence(&mut y, "lobby", &z_id, false).await;
    y.leave("lobby").await;
    expect_presence(&mut x, "lobby", &y_id, false).await;
    assert_eq!(y.join("lobby").await, 2);
    expect_presence(&mut x, "lobby", &y_id, true).await;
    z.send("Broadcast", json!({ "text": "z's sync" })).await;
    z.expect_broadcast(&z_id, "z's sync").await; // no Presence of y's comings and goings
    x.expect_broadcast(&z_id, "z's sync").await;
    y.expect_broadcast(&z_id, "z's sync").await;

    // A connection that drops leaves its rooms: the watchers are told (x; y does not watch).
    assert_eq!(members(&mut y, "lobby").await, sorted(&[&x_id, &y_id]));
    x.drop_abruptly();
    expect_presence(&mut y, "lobby", &x_id, false).await;
    assert_eq!(members(&mut y, "lobby").await, vec![y_id.clone()]);

    // A room no one is in lists no one.
    assert!(members(&mut z, "nowhere").await.is_empty());
    chat.assert_running();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_connection_is_announced_in_each_of_its_rooms_once() {
    let mut chat = chat_process().await;
    let mut watcher = ChatClient::connect(chat.addr()).await;
    for room in ["a", "b"] {
        watcher.join(room).await;
        members(&mut watcher, room).await;
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
    // It watches "c" too: its own watch is no room to announce.
    let list = leaver.call("Members", json!({"room": "c"})).await;
    assert_eq!(list["Type"], "MemberList", "{list}");
    for room in ["a", "b"] {
        expect_presence(&mut watcher, room, &leaver_id, true).await;
    }
    leaver.close().await;

    let mut seen = Vec::new();
    for _ in 0..2 {
        let data = watcher.expect("Presence").await;
        assert_eq!(data["id"], leaver_id.as_str(), "{data}");
        assert_eq!(data["joined"], false, "{data}");
        seen.push(data["room"].as_str().unwrap_or_default().to_owned());
    }
    seen.sort();
    assert_eq!(seen, ["a", "b"]);
    // Nothing more: the next message is the answer to the next request.
    let watcher_id = watcher.id().to_owned();
    assert_eq!(members(&mut watcher, "a").await, vec![watcher_id]);
    chat.assert_running();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_an_invalid_room_is_an_error_naming_that_room() {
    let mut chat = chat_process().await;
    let mut client = ChatClient::connect(chat.addr()).await;
    client
        .send("Members", json!({ "room": "bad\u{7}room" }))
        .await;
    let error = client.expect_error("handler_error").await;
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("bad"), "{error}");
    assert!(!message.contains("watchers"), "{error}");
    // The connection goes on.
    assert!(members(&mut client, "fine").await.is_empty());
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

/// The chat example turns on `GET /health` and, built with the `prometheus` feature,
/// `GET /metrics`, on its WebSocket port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_serves_health_and_metrics_on_its_port() {
    let mut chat = chat_process().await;
    // A connection, so that both report it.
    let client = ChatClient::connect(chat.addr()).await;
    let (status, content_type, body) = http_get(chat.addr(), "/health").await;
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let report: serde_json::Value = serde_json::from_str(&body).expect("a JSON report");
    assert_eq!(report["status"], "ok", "{report}");
    assert_eq!(report["connections"], 1, "{report}");
    assert_eq!(report["adapter"]["name"], "in_process", "{report}");

    let (status, _, body) = http_get(chat.addr(), "/metrics").await;
    if cfg!(feature = "prometheus") {
        assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
        assert!(
            body.lines()
                .any(|line| line.starts_with("exws_connections_open ")),
            "{body}"
        );
    } else {
        assert!(
            !status.contains(" 200 "),
            "no /metrics without the feature: {status}"
        );
    }
    drop(client);
    chat.assert_running();
}
