//! The gateway under load and abuse: a stalled client or backend stalls nobody else, a dead
//! backend's clients move, one client's messages stay in order, large messages from many
//! clients arrive whole; backend authentication, HTTP publish, and Rust handlers beside the
//! backend.

#![cfg(feature = "gateway")]

mod harness;

use exws::gateway::{Gateway, GatewayConfig, GatewayError};
use harness::gateway::{admitted, eventually, start, start_with, test_config, RawBackend};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_stalls_nobody_else() {
    let gateway = start_with(
        exws::Server::with_handlers([]).outbound_queue_bytes(256 * 1024),
        test_config(),
    )
    .await;
    let mut backend = RawBackend::connect(gateway.backend).await;
    gateway.wait_backends(1).await;
    let _stalled = admitted(&gateway, &mut backend, "stalled", "r").await;
    let mut reader = admitted(&gateway, &mut backend, "reader", "r").await;
    let chunk = "x".repeat(50 * 1024);
    let (mut events, mut writer) = backend.into_parts();
    // The backend goes at the reader's pace; the other client never reads, and its queue
    // (256 KiB) and socket buffers fill up long before the 20 MB end.
    for number in 0..400 {
        let line = json!({"request_id": "b", "action": "broadcast", "params": {"message": format!("{number}:{chunk}")}});
        writer
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("the gateway reads");
        let text = reader.next_text().await;
        assert!(
            text.starts_with(&format!("{number}:")),
            "message {number} in order"
        );
        assert_eq!(text.len(), format!("{number}:").len() + 50 * 1024, "whole");
    }
    // The client that never read was closed by the slow-consumer policy.
    let mut line = String::new();
    loop {
        line.clear();
        tokio::io::AsyncBufReadExt::read_line(&mut events, &mut line)
            .await
            .expect("reads");
        let event: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        if event["action"] == "disconnected" {
            assert_eq!(event["params"]["context"]["client_id"], "stalled");
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_backend_stalls_only_its_clients_until_they_move() {
    let config = test_config()
        .backend_timeout(Duration::from_secs(1))
        .heartbeat_interval(Duration::from_millis(100))
        .backend_queue(8);
    let gateway = start(config).await;
    let mut stalled = RawBackend::connect(gateway.backend).await;
    gateway.wait_backends(1).await;
    let mut slow_client = admitted(&gateway, &mut stalled, "slow", "r").await;
    let mut healthy = RawBackend::connect(gateway.backend).await;
    gateway.wait_backends(2).await;
    // Round robin: this request goes to the second backend, and the least loaded one gets
    // the client.
    let mut fast_client = admitted(&gateway, &mut healthy, "fast", "r").await;

    // The first backend stops reading; its client floods it.
    let flooding = tokio::spawn(async move {
        let chunk = "y".repeat(64 * 1024);
        for number in 0..100 {
            slow_client.send(&format!("{number}:{chunk}")).await;
        }
        slow_client.send("last").await;
        slow_client
    });
    fast_client.send("hello").await;
    let mut heard_fast = false;
    let mut heard_slow_last = false;
    while !(heard_fast && heard_slow_last) {
        let event = healthy.expect("new_message").await;
        let params = &event["params"];
        match (
            params["context"]["client_id"].as_str(),
            params["message"].as_str(),
        ) {
            (Some("fast"), Some("hello")) => heard_fast = true,
            (Some("slow"), Some("last")) => heard_slow_last = true,
            _ => {}
        }
    }
    let _slow_client = flooding.await.expect("the flood ends");
    gateway.wait_backends(1).await;
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_clients_messages_reach_one_backend_in_order() {
    let gateway = start(test_config()).await;
    let mut first = RawBackend::connect(gateway.backend).await;
    gateway.wait_backends(1).await;
    let mut client = admitted(&gateway, &mut first, "ordered", "r").await;
    let _second = RawBackend::connect(gateway.backend).await;
    gateway.wait_backends(2).await;
    for number in 0..300 {
        client.send(&number.to_string()).await;
    }
    for number in 0..300 {
        let event = first.expect("new_message").await;
        assert_eq!(event["params"]["message"], number.to_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_messages_from_many_clients_arrive_whole() {
    let gateway = start(test_config()).await;
    let mut backend = RawBackend::connect(gateway.backend).await;
    gateway.wait_backends(1).await;
    let mut clients = Vec::new();
    for index in 0..16 {
        clients.push(admitted(&gateway, &mut backend, &format!("c{index}"), "r").await);
    }
    let senders: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(index, mut client)| {
            tokio::spawn(async move {
                for sequence in 0..4 {
                    let fill = char::from(b'a' + (index as u8 + sequence) % 26);
                    let body: String = std::iter::repeat_n(fill, 200 * 1024).collect();
                    client.send(&format!("{index}/{sequence}/{body}")).await;
                }
                client
            })
        })
        .collect();
    let mut next = [0u8; 16];
    for _ in 0..16 * 4 {
        let event = backend.expect("new_message").await;
        let message = event["params"]["message"].as_str().expect("a string");
        let mut parts = message.splitn(3, '/');
        let index: usize = parts
            .next()
            .and_then(|part| part.parse().ok())
            .expect("index");
        let sequence: u8 = parts
            .next()
            .and_then(|part| part.parse().ok())
            .expect("sequence");
        let body = parts.next().expect("body");
        assert_eq!(event["params"]["context"]["client_id"], format!("c{index}"));
        assert_eq!(sequence, next[index], "each client's messages in order");
        next[index] += 1;
        let fill = char::from(b'a' + (index as u8 + sequence) % 26);
        assert_eq!(body.len(), 200 * 1024);
        assert!(body.chars().all(|c| c == fill), "the message arrived whole");
    }
    for sender in senders {
        sender.await.expect("the client sent");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backends_authenticate_with_a_token_and_off_loopback_they_must() {
    let open =
        Gateway::new(GatewayConfig::default().backend_addr("0.0.0.0:0".parse().expect("addr")))
            .bind(exws::Server::with_handlers([]), "127.0.0.1:0")
            .await;
    assert!(matches!(
        open,
        Err(GatewayError::UnauthenticatedBackendPort(_))
    ));

    let gateway = start(test_config().backend_token("s3cret")).await;
    let mut intruder = RawBackend::connect(gateway.backend).await;
    intruder
        .send(json!({"request_id": "auth", "action": "auth", "params": {"token": "guess"}}))
        .await;
    let refused = intruder.expect("error").await;
    assert!(refused["params"]["error"]
        .as_str()
        .unwrap_or_default()
        .contains("authentication"));
    intruder.closed().await;
    assert_eq!(gateway.status.backends(), 0);

    let mut backend = RawBackend::connect(gateway.backend).await;
    backend
        .send(json!({"request_id": "auth", "action": "auth", "params": {"token": "s3cret"}}))
        .await;
    gateway.wait_backends(1).await;
    let _client = admitted(&gateway, &mut backend, "alice", "r").await;
}

/// Sends one HTTP POST and returns the status and body.
async fn post(addr: std::net::SocketAddr, token: Option<&str>, body: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let auth = token
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("reads");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .expect("a status line");
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_publish_reaches_rooms_clients_and_everyone_with_the_token() {
    let gateway = start(test_config().publish_token("pub-token")).await;
    let mut backend = RawBackend::connect(gateway.backend).await;
    gateway.wait_backends(1).await;
    let mut alice = admitted(&gateway, &mut backend, "alice", "red").await;
    let to_room = r#"{"action":"message_to_room","params":{"room_id":"red","message":"to red"}}"#;
    assert_eq!(post(gateway.ws, None, to_room).await.0, 401);
    assert_eq!(post(gateway.ws, Some("wrong"), to_room).await.0, 403);
    assert_eq!(post(gateway.ws, Some("pub-token"), to_room).await.0, 202);
    assert_eq!(alice.next_text().await, "to red");
    let to_alice =
        r#"{"action":"message_to_connection","params":{"conn_id":"alice","message":"direct"}}"#;
    assert_eq!(post(gateway.ws, Some("pub-token"), to_alice).await.0, 202);
    assert_eq!(alice.next_text().await, "direct");
    let everyone = r#"{"action":"broadcast","params":{"message":"all"}}"#;
    assert_eq!(post(gateway.ws, Some("pub-token"), everyone).await.0, 202);
    assert_eq!(alice.next_text().await, "all");
    let nobody =
        r#"{"action":"message_to_connection","params":{"conn_id":"nobody","message":"x"}}"#;
    assert_eq!(post(gateway.ws, Some("pub-token"), nobody).await.0, 404);
    let (status, body) = post(
        gateway.ws,
        Some("pub-token"),
        r#"{"action":"broadcast","params":{}}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("message"), "{body}");
}

#[derive(Deserialize)]
struct Ping {
    n: u32,
}

#[derive(Serialize)]
struct Pong {
    n: u32,
}

#[exws::message]
async fn ping(request: Ping) -> Pong {
    Pong { n: request.n + 1 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_handlers_answer_their_types_and_the_backend_gets_the_rest() {
    let gateway = start_with(
        exws::Server::with_handlers(exws::handlers![ping]),
        test_config(),
    )
    .await;
    let mut backend = RawBackend::connect(gateway.backend).await;
    gateway.wait_backends(1).await;
    let mut client = admitted(&gateway, &mut backend, "bridged", "r").await;
    client
        .send(r#"{"Type":"Ping","Data":{"n":41},"Id":1}"#)
        .await;
    let reply: serde_json::Value = serde_json::from_str(&client.next_text().await).expect("JSON");
    assert_eq!(reply["Type"], "Pong");
    assert_eq!(reply["Data"]["n"], 42);
    for text in [r#"{"Type":"Other","Data":{}}"#, "plain text"] {
        client.send(text).await;
        assert_eq!(
            backend.expect("new_message").await["params"]["message"],
            text
        );
    }
    eventually(|| gateway.hub.local_connection_count() == 1).await;
}
