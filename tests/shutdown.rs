//! Graceful shutdown: in-flight handlers finish and are answered, connections close with 1001,
//! the listener stops accepting, and the server's future completes.

mod harness;

use exws::{handlers, message, DisconnectReason, Server, State};
use harness::{Received, TestServer};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Tells the test that a slow handler has started.
#[derive(Clone)]
struct Started(mpsc::UnboundedSender<u64>);

#[derive(Deserialize)]
struct Slow {
    ms: u64,
}

#[derive(Serialize)]
struct Slept {
    ms: u64,
}

#[message(type = "slow")]
async fn slow(request: Slow, State(started): State<Started>) -> Slept {
    let _ = started.0.send(request.ms);
    tokio::time::sleep(Duration::from_millis(request.ms)).await;
    Slept { ms: request.ms }
}

struct Harness {
    server: TestServer,
    started: mpsc::UnboundedReceiver<u64>,
    reasons: mpsc::UnboundedReceiver<DisconnectReason>,
}

async fn start(configure: impl FnOnce(Server) -> Server) -> Harness {
    let (started_tx, started) = mpsc::unbounded_channel();
    let (reasons_tx, reasons) = mpsc::unbounded_channel();
    let server = Server::with_handlers(handlers![harness::calculate, slow])
        .with_state(Started(started_tx))
        .on_disconnect(move |_context, reason| {
            let reasons = reasons_tx.clone();
            async move {
                let _ = reasons.send(reason);
            }
        });
    Harness {
        server: TestServer::start(configure(server)).await,
        started,
        reasons,
    }
}

impl Harness {
    async fn wait_started(&mut self) -> u64 {
        harness::within("the slow handler to start", self.started.recv())
            .await
            .expect("the handler started")
    }
}

async fn assert_refuses_connections(addr: std::net::SocketAddr) {
    let connect = harness::within("a connect after shutdown", TcpStream::connect(addr)).await;
    assert!(
        connect.is_err(),
        "the listener is closed once the server shuts down"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_flight_reply_arrives_then_a_1001_close() {
    let mut harness = start(|server| server).await;
    let addr = harness.server.addr();
    let mut client = harness.server.connect().await;
    client
        .send_json(&json!({ "Type": "slow", "Data": { "ms": 300 }, "Id": "in-flight" }))
        .await;
    harness.wait_started().await;

    harness.server.trigger_shutdown();

    assert_eq!(
        client.recv().await,
        json!({ "Type": "Slept", "Data": { "ms": 300 }, "Id": "in-flight" })
    );
    let reason = client.expect_close(1001).await;
    assert!(!reason.is_empty(), "the close says why");
    // Still draining (this client has not closed its side), yet no longer accepting.
    assert_refuses_connections(addr).await;
    client.expect_end().await;

    harness.server.stopped().await.expect("a clean stop");
    assert_eq!(
        harness::within("the disconnect hook", harness.reasons.recv()).await,
        Some(DisconnectReason::ServerShutdown)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_in_flight_reply_arrives_in_concurrent_mode() {
    let mut harness = start(|server| server.concurrent(4)).await;
    let mut client = harness.server.connect().await;
    for (id, ms) in [(1, 300), (2, 100), (3, 200)] {
        client
            .send_json(&json!({ "Type": "slow", "Data": { "ms": ms }, "Id": id }))
            .await;
    }
    for _ in 0..3 {
        harness.wait_started().await;
    }

    harness.server.trigger_shutdown();

    let mut ids = Vec::new();
    for _ in 0..3 {
        let reply = client.recv().await;
        assert_eq!(reply["Type"], "Slept", "{reply}");
        ids.push(reply["Id"].as_u64().expect("an Id"));
    }
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3]);
    client.expect_close(1001).await;
    client.expect_end().await;
    harness.server.stopped().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_with_1001_and_serve_returns() {
    let mut harness = start(|server| server).await;
    let addr = harness.server.addr();
    let mut clients = Vec::new();
    for _ in 0..5 {
        let mut client = harness.server.connect().await;
        client.assert_alive().await;
        clients.push(client);
    }

    harness.server.trigger_shutdown();

    for mut client in clients {
        client.expect_close(1001).await;
        client.expect_end().await;
    }
    harness.server.stopped().await.expect("a clean stop");
    assert_refuses_connections(addr).await;
    for _ in 0..5 {
        assert_eq!(
            harness::within("the disconnect hook", harness.reasons.recv()).await,
            Some(DisconnectReason::ServerShutdown)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_connections_stops_at_once() {
    let harness = start(|server| server).await;
    let addr = harness.server.addr();
    harness.server.shutdown().await.expect("a clean stop");
    assert_refuses_connections(addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_outliving_the_shutdown_timeout_does_not_hold_the_server() {
    let mut harness = start(|server| {
        server
            .shutdown_timeout(Duration::from_millis(100))
            .close_timeout(Duration::from_millis(100))
    })
    .await;
    let mut client = harness.server.connect().await;
    client
        .send_json(&json!({ "Type": "slow", "Data": { "ms": 60_000 }, "Id": 1 }))
        .await;
    harness.wait_started().await;

    harness.server.trigger_shutdown();

    // `stopped` fails the test if the server waits for the handler (a minute).
    harness.server.stopped().await.expect("a clean stop");
    // The abandoned handler never replies; the connection still gets the shutdown's 1001.
    match client.next_frame().await {
        Received::Close(Some((code, reason))) => {
            assert_eq!(code, 1001, "close code (reason {reason:?})");
        }
        other => panic!("expected the shutdown's 1001 close, got {other:?}"),
    }
}
