//! The chat example's binary (`examples/chat.rs`) as an OS process: who is here (`Members` →
//! `MemberList`), `Presence` notices to the room's watchers on join, leave and close, and the
//! chat page and browser client it serves over plain HTTP.
//!
//! Every receive is bounded by a timeout (`chat_support::TIMEOUT`).

mod chat_support;
mod examples_support;

use chat_support::{within, ChatClient};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

/// The chat example running on a free loopback port; killed on drop.
struct ChatProcess {
    child: Child,
    addr: SocketAddr,
}

impl ChatProcess {
    /// Starts the example with `EXWS_ADDR=127.0.0.1:0` and reads its `exws listening on
    /// ws://IP:PORT` line.
    async fn start() -> ChatProcess {
        let binary = tokio::task::spawn_blocking(|| examples_support::example_binary("chat"))
            .await
            .expect("the build did not panic");
        let mut child = Command::new(&binary)
            .env("EXWS_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .env_remove("EXWS_REDIS_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
        let stdout = child.stdout.take().expect("piped");
        let (found, address) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("exws listening on ws://") {
                    let _ = found.send(addr.trim().to_owned());
                }
            }
        });
        let mut process = ChatProcess {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let addr = address
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                panic!(
                    "the chat example printed no address within 30 s (status {:?})",
                    process.child.try_wait()
                )
            });
        process.addr = addr
            .parse()
            .unwrap_or_else(|error| panic!("bad address {addr:?}: {error}"));
        process
    }

    async fn connect(&self) -> ChatClient {
        ChatClient::connect(self.addr).await
    }

    /// Fails the test if the process has exited.
    fn assert_running(&mut self) {
        let status = self.child.try_wait().expect("the process is waited for");
        assert!(status.is_none(), "the chat example exited: {status:?}");
    }
}

impl Drop for ChatProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    let mut chat = ChatProcess::start().await;
    let mut x = chat.connect().await;
    let mut y = chat.connect().await;
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
    let mut z = chat.connect().await;
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
    let mut chat = ChatProcess::start().await;
    let mut watcher = chat.connect().await;
    for room in ["a", "b"] {
        watcher.join(room).await;
        members(&mut watcher, room).await;
    }

    // The leaver closes cleanly, with a close frame (the other test drops its TCP connection).
    let (mut leaver, _) = within(
        "the WebSocket handshake",
        tokio_tungstenite::connect_async(format!("ws://{}/", chat.addr)),
    )
    .await
    .expect("the leaver connects");
    let welcome = next_envelope(&mut leaver).await;
    assert_eq!(welcome["Type"], "Welcome", "{welcome}");
    let leaver_id = welcome["Data"]["id"].as_str().expect("an id").to_owned();
    for room in ["a", "b", "c"] {
        let join = json!({"Type": "JoinRoom", "Data": {"room": room}});
        within(
            "sending JoinRoom",
            leaver.send(Message::text(join.to_string())),
        )
        .await
        .expect("sent");
        let joined = next_envelope(&mut leaver).await;
        assert_eq!(joined["Type"], "Joined", "{joined}");
    }
    // It watches "c" too: its own watch is no room to announce.
    let ask = json!({"Type": "Members", "Data": {"room": "c"}});
    within(
        "sending Members",
        leaver.send(Message::text(ask.to_string())),
    )
    .await
    .expect("sent");
    assert_eq!(next_envelope(&mut leaver).await["Type"], "MemberList");
    for room in ["a", "b"] {
        expect_presence(&mut watcher, room, &leaver_id, true).await;
    }
    within("closing", leaver.close(None))
        .await
        .expect("the close frame is sent");

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

/// The next text frame of a raw client, as JSON (pings and pongs skipped).
async fn next_envelope(
    ws: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
) -> Value {
    loop {
        match within("the next message", ws.next()).await {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(text.as_str()).expect("a JSON envelope")
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_an_invalid_room_is_an_error_naming_that_room() {
    let mut chat = ChatProcess::start().await;
    let mut client = chat.connect().await;
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
    let mut stream = within("a TCP connection", TcpStream::connect(addr))
        .await
        .expect("TCP connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    within("writing the request", stream.write_all(request.as_bytes()))
        .await
        .expect("the request is written");
    let mut response = Vec::new();
    within("the response", stream.read_to_end(&mut response))
        .await
        .expect("the response is read");
    let response = String::from_utf8(response).expect("a UTF-8 response");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end: {response}"));
    let status = head.lines().next().unwrap_or_default().to_owned();
    let content_type = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_serves_the_chat_page_and_the_browser_client() {
    let mut chat = ChatProcess::start().await;
    let (status, content_type, body) = http_get(chat.addr, "/").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert_eq!(body, include_str!("../examples/chat/index.html"));

    let (status, content_type, body) = http_get(chat.addr, "/exws.js").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(content_type, "text/javascript; charset=utf-8");
    assert_eq!(body, include_str!("../clients/browser/exws.js"));

    // The page's WebSocket (same path, an upgrade) is the chat server.
    let client = chat.connect().await;
    assert!(!client.id().is_empty());
    chat.assert_running();
}
