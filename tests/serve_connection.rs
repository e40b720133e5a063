//! `Endpoint::serve_connection` serves any byte stream: here a Unix socket, with the remote
//! address the caller gives, and `Endpoint::shutdown` closes it with 1001 like a TCP
//! connection.
#![cfg(unix)]

mod harness;

use exws::{handlers, message, Connection, Server};
use futures_util::{SinkExt, StreamExt};
use harness::within;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::net::SocketAddr;
use tokio::net::{UnixListener, UnixStream};
use tokio_tungstenite::tungstenite::Message;

#[derive(Deserialize)]
struct WhereFrom {}

#[derive(Serialize)]
struct From {
    remote_addr: String,
}

#[message]
async fn where_from(_request: WhereFrom, connection: Connection) -> From {
    From {
        remote_addr: connection.remote_addr().to_string(),
    }
}

/// Removes the socket file when dropped.
struct SocketPath(std::path::PathBuf);

impl Drop for SocketPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn call(ws: &mut tokio_tungstenite::WebSocketStream<UnixStream>, frame: Value) -> Value {
    within("the send", ws.send(Message::text(frame.to_string())))
        .await
        .expect("sent");
    match within("the reply", ws.next()).await {
        Some(Ok(Message::Text(text))) => serde_json::from_str(&text).expect("a JSON reply"),
        other => panic!("expected a text reply, got {other:?}"),
    }
}

#[tokio::test]
async fn a_unix_socket_is_served_and_closed_with_1001_at_shutdown() {
    let endpoint = within(
        "build",
        Server::with_handlers(handlers![harness::calculate, where_from]).build(),
    )
    .await
    .expect("builds");
    let path = SocketPath(
        std::env::temp_dir().join(format!("exws-serve-connection-{}.sock", std::process::id())),
    );
    let listener = UnixListener::bind(&path.0).expect("a Unix socket");
    let remote_addr: SocketAddr = "192.0.2.7:4242".parse().expect("an address");
    let serving = {
        let endpoint = endpoint.clone();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.expect("accepted");
            endpoint.serve_connection(stream, remote_addr).await;
        })
    };

    let stream = within("connect", UnixStream::connect(&path.0))
        .await
        .expect("connected");
    let (mut ws, response) = within(
        "the upgrade",
        tokio_tungstenite::client_async("ws://localhost/", stream),
    )
    .await
    .expect("the upgrade succeeds");
    assert_eq!(response.status(), 101);

    let reply = call(
        &mut ws,
        json!({"Type": "CalculateRequest", "Data": {"numbers": [40, 2]}, "Id": 1}),
    )
    .await;
    assert_eq!(reply["Type"], "CalculateResponse", "{reply}");
    assert_eq!(reply["Data"]["result"], 42);
    assert_eq!(reply["Id"], 1);
    let reply = call(&mut ws, json!({"Type": "WhereFrom", "Data": {}})).await;
    assert_eq!(reply["Data"]["remote_addr"], "192.0.2.7:4242", "{reply}");

    let shutdown = tokio::spawn({
        let endpoint = endpoint.clone();
        async move { endpoint.shutdown().await }
    });
    match within("the close", ws.next()).await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1001),
        other => panic!("expected a close frame with 1001, got {other:?}"),
    }
    drop(ws);
    within("the shutdown", shutdown).await.expect("no panic");
    within("the session to end", serving)
        .await
        .expect("no panic");
}
