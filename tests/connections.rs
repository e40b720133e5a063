//! Many connections at once, clients that vanish, and TCP clients that are not WebSocket
//! clients.

mod harness;

use exws::{handlers, message, DisconnectReason, Server};
use harness::{Client, TestServer};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

#[derive(Deserialize)]
struct Slow {
    ms: u64,
}

#[derive(Serialize)]
struct Slept {
    ms: u64,
}

#[message(type = "slow")]
async fn slow(request: Slow) -> Slept {
    tokio::time::sleep(Duration::from_millis(request.ms)).await;
    Slept { ms: request.ms }
}

/// A server reporting every disconnect reason on the returned channel.
async fn start(server: Server) -> (TestServer, mpsc::UnboundedReceiver<DisconnectReason>) {
    let (reasons, received) = mpsc::unbounded_channel();
    let server = server.on_disconnect(move |_context, reason| {
        let reasons = reasons.clone();
        async move {
            let _ = reasons.send(reason);
        }
    });
    (TestServer::start(server).await, received)
}

fn handlers() -> Server {
    Server::with_handlers(handlers![harness::calculate, slow])
}

async fn next_reason(reasons: &mut mpsc::UnboundedReceiver<DisconnectReason>) -> DisconnectReason {
    harness::within("a disconnect", reasons.recv())
        .await
        .expect("the disconnect hook ran")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_connections_at_once() {
    let (server, _reasons) = start(handlers()).await;
    let addr = server.addr();
    let clients = (0..200u64).map(|client| {
        tokio::spawn(async move {
            let mut connection = Client::connect(addr).await;
            for call in 0..5u64 {
                let id = client * 100 + call;
                let reply = connection
                    .call_with_id(
                        "CalculateRequest",
                        json!({ "numbers": [client, call] }),
                        json!(id),
                    )
                    .await;
                assert_eq!(
                    reply,
                    json!({ "Type": "CalculateResponse", "Data": { "result": client + call }, "Id": id })
                );
            }
            connection
        })
    });
    // Keep every connection open until all are done, so that they really overlap.
    let mut open = Vec::new();
    for client in clients {
        open.push(
            harness::within("a client", client)
                .await
                .expect("the client task succeeded"),
        );
    }
    assert_eq!(open.len(), 200);
    for mut connection in open {
        connection.assert_alive().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_dropping_mid_request_does_not_disturb_others() {
    let (server, mut reasons) = start(handlers()).await;
    let mut bystander = server.connect().await;
    bystander.assert_alive().await;

    let mut leaver = server.connect().await;
    leaver
        .send_json(&json!({ "Type": "slow", "Data": { "ms": 200 }, "Id": 1 }))
        .await;
    drop(leaver.into_stream());

    // The slow handler finishes with no one to reply to; the server goes on.
    let reason = next_reason(&mut reasons).await;
    assert!(
        !matches!(reason, DisconnectReason::ClientClosed { .. }),
        "no close frame was sent: {reason:?}"
    );
    bystander.assert_alive().await;
    server.connect().await.assert_alive().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_client_is_reported_as_connection_lost() {
    let (server, mut reasons) = start(handlers()).await;
    let mut leaver = server.connect().await;
    leaver.assert_alive().await;
    // Everything was read: dropping sends a FIN, as a crashed or killed client does.
    drop(leaver.into_stream());
    assert_eq!(
        next_reason(&mut reasons).await,
        DisconnectReason::ConnectionLost
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_a_frame_then_a_drop_does_not_disturb_others() {
    let (server, mut reasons) = start(handlers()).await;
    let mut bystander = server.connect().await;

    let mut tcp = harness::raw::raw_upgrade(server.addr()).await;
    let frame = harness::raw::client_frame(
        0x1,
        br#"{"Type":"CalculateRequest","Data":{"numbers":[1]}}"#,
    );
    harness::within(
        "writing half a frame",
        tcp.write_all(&frame[..frame.len() / 2]),
    )
    .await
    .expect("write half a frame");
    drop(tcp);

    let reason = next_reason(&mut reasons).await;
    assert!(
        !matches!(reason, DisconnectReason::ClientClosed { .. }),
        "no close frame was sent: {reason:?}"
    );
    bystander.assert_alive().await;
    server.connect().await.assert_alive().await;
}

#[tokio::test]
async fn a_normal_client_close_is_reported_with_its_code() {
    let (server, mut reasons) = start(handlers()).await;
    let mut client = server.connect().await;
    client.assert_alive().await;
    client.close().await;
    assert_eq!(
        next_reason(&mut reasons).await,
        DisconnectReason::ClientClosed {
            code: None,
            reason: String::new()
        }
    );
}

#[tokio::test]
async fn frames_sent_right_behind_the_upgrade_request_are_read() {
    let (server, _reasons) = start(handlers()).await;
    let frame = harness::raw::client_frame(
        0x1,
        br#"{"Type":"CalculateRequest","Data":{"numbers":[40,2]},"Id":"early"}"#,
    );
    let tcp =
        harness::raw::raw_upgrade_with(server.addr(), "Connection: Upgrade\r\n", &frame).await;
    let mut client = Client::from_upgraded(tcp).await;
    assert_eq!(
        client.recv().await,
        json!({ "Type": "CalculateResponse", "Data": { "result": 42 }, "Id": "early" })
    );
}

#[tokio::test]
async fn connection_header_with_several_tokens_upgrades() {
    let (server, _reasons) = start(handlers()).await;
    // What Firefox sends.
    let tcp =
        harness::raw::raw_upgrade_with(server.addr(), "Connection: keep-alive, Upgrade\r\n", &[])
            .await;
    Client::from_upgraded(tcp).await.assert_alive().await;
}

#[tokio::test]
async fn a_plain_http_get_gets_426() {
    let (server, _reasons) = start(handlers()).await;
    let (status, head, body) = harness::raw::http_exchange(
        server.addr(),
        "GET / HTTP/1.1\r\nHost: localhost\r\nAccept: text/html\r\n\r\n",
    )
    .await;
    assert_eq!(status, 426, "{head}");
    assert!(
        head.lines()
            .any(|line| line.eq_ignore_ascii_case("upgrade: websocket")),
        "says which protocol to upgrade to: {head}"
    );
    assert!(body.to_lowercase().contains("websocket"), "{body}");
    server.connect().await.assert_alive().await;
}

#[tokio::test]
async fn a_post_gets_405() {
    let (server, _reasons) = start(handlers()).await;
    let (status, head, _body) = harness::raw::http_exchange(
        server.addr(),
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert_eq!(status, 405, "{head}");
}

#[tokio::test]
async fn a_wrong_websocket_version_gets_426() {
    let (server, _reasons) = start(handlers()).await;
    let (status, head, _body) = harness::raw::http_exchange(
        server.addr(),
        "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    )
    .await;
    assert_eq!(status, 426, "{head}");
    assert!(
        head.lines()
            .any(|line| line.eq_ignore_ascii_case("sec-websocket-version: 13")),
        "names the supported version: {head}"
    );
}

#[tokio::test]
async fn a_missing_key_or_garbage_gets_400() {
    let (server, _reasons) = start(handlers()).await;
    let (status, head, _body) = harness::raw::http_exchange(
        server.addr(),
        "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n",
    )
    .await;
    assert_eq!(status, 400, "{head}");
    let (status, head, _body) =
        harness::raw::http_exchange(server.addr(), "\u{1}\u{2} nonsense\r\n\r\n").await;
    assert_eq!(status, 400, "{head}");
}

#[tokio::test]
async fn an_oversized_request_head_gets_431() {
    if harness::skipped_over(
        harness::Transport::Axum,
        "axum's HTTP server (hyper) reads the request head and applies its own size limit",
    ) {
        return;
    }
    let (server, _reasons) = start(handlers().max_handshake_size(1024)).await;
    let padding = "a".repeat(2000);
    let (status, head, _body) = harness::raw::http_exchange(
        server.addr(),
        &format!(
            "GET / HTTP/1.1\r\nHost: localhost\r\nX-Padding: {padding}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(status, 431, "{head}");
}

/// An authenticator that never answers.
async fn never_answers(
    _request: exws::HandshakeRequest,
) -> Result<exws::auth::Admission, exws::auth::HandshakeRejection> {
    std::future::pending().await
}

#[tokio::test]
async fn an_authenticator_still_running_at_the_handshake_timeout_is_answered_503() {
    let (server, _reasons) = start(
        handlers()
            .authenticator(never_answers)
            .handshake_timeout(Duration::from_millis(200)),
    )
    .await;
    let (status, head, body) = harness::raw::http_exchange(
        server.addr(),
        "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await;
    assert_eq!(status, 503, "{head}");
    assert!(head.to_lowercase().contains("retry-after: 1"), "{head}");
    assert_eq!(body, "authentication timed out");
}

#[tokio::test]
async fn a_silent_tcp_client_is_dropped_after_the_handshake_timeout() {
    if harness::skipped_over(
        harness::Transport::Axum,
        "axum's HTTP server (hyper) owns the connection until a request arrives, and has no \
         timeout for one by default",
    ) {
        return;
    }
    let (server, _reasons) = start(handlers().handshake_timeout(Duration::from_millis(100))).await;
    let mut tcp = harness::within("TCP connect", TcpStream::connect(server.addr()))
        .await
        .expect("TCP connect");
    let mut buffer = [0u8; 64];
    // Only the timeout can end this read: the client never sends anything.
    let read = harness::within(
        "the server to drop the silent client",
        tcp.read(&mut buffer),
    )
    .await
    .unwrap_or(0);
    assert_eq!(read, 0, "the server closed without answering");
    server.connect().await.assert_alive().await;
}
