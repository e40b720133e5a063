//! `exws gateway` as a process, the way a PyStrands user runs it: a backend written against
//! the PyPI client, unchanged, serves clients through it; two processes on one real
//! `redis-server` (`--redis`) or `nats-server` (`--nats`) act as one. And the bridge example (`examples/gateway_bridge.rs`): Rust
//! answers its `Type`, the backend gets the rest.

#![cfg(all(feature = "gateway", any(feature = "redis", feature = "nats")))]

mod harness;

use harness::engine::Engine;
use harness::gateway::{connect, free_port, GatewayProcess, PyBackend, RawBackend};
use std::net::SocketAddr;

/// Connects `id` into `room` and waits until the backend heard of it.
async fn join(
    gateway: &GatewayProcess,
    backend: &mut PyBackend,
    id: &str,
    room: &str,
) -> harness::gateway::Client {
    let client = connect(gateway.ws, id, room).await;
    backend.expect("connection_request").await;
    let connected = backend.expect("new_connection").await;
    assert_eq!(connected["context"]["client_id"], id);
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_gateway_serves_an_unchanged_pystrands_backend() {
    let cli = harness::process::cli_binary();
    let gateway = GatewayProcess::start(&cli, &[]).await;
    let mut backend = PyBackend::start_on(gateway.backend.port()).await;
    let mut alice = join(&gateway, &mut backend, "alice", "red").await;
    alice.send("héllo ✓").await;
    assert_eq!(backend.expect("new_message").await["message"], "héllo ✓");
    assert_eq!(alice.next_text().await, "héllo ✓");
}

engine_tests!(two_cli_gateways_on_one_backend_act_as_one);

async fn two_cli_gateways_on_one_backend_act_as_one(engine: Engine) {
    let backend = engine.start();
    let cli = harness::process::cli_binary();
    let (flag, url) = (backend.gateway_flag(), backend.url());
    let one = GatewayProcess::start(&cli, &[flag, &url]).await;
    let two = GatewayProcess::start(&cli, &[flag, &url]).await;
    let mut backend_one = PyBackend::start_on(one.backend.port()).await;
    let mut backend_two = PyBackend::start_on(two.backend.port()).await;
    let mut alice = join(&one, &mut backend_one, "alice", "red").await;
    let mut bob = join(&two, &mut backend_two, "bob", "red").await;

    alice.send("room:red:hello red").await;
    backend_one.expect("new_message").await;
    assert_eq!(alice.next_text().await, "hello red");
    assert_eq!(
        bob.next_text().await,
        "hello red",
        "through the backend to the other process"
    );

    bob.send("to:alice:hi alice").await;
    let heard = backend_two.expect("new_message").await;
    assert_eq!(
        heard["context"]["client_id"], "bob",
        "bob's events go to his own process's backend"
    );
    assert_eq!(alice.next_text().await, "hi alice");

    alice.send("all:everyone").await;
    backend_one.expect("new_message").await;
    assert_eq!(alice.next_text().await, "everyone");
    assert_eq!(bob.next_text().await, "everyone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_example_answers_quotes_in_rust_and_forwards_the_rest() {
    let example =
        tokio::task::spawn_blocking(|| harness::process::example_binary("gateway_bridge"))
            .await
            .expect("the example builds");
    let ws = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let backend_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut child = tokio::process::Command::new(example)
        .env("EXWS_ADDR", ws.to_string())
        .env("EXWS_BACKEND_ADDR", backend_addr.to_string())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the example starts");
    let stdout = child.stdout.take().expect("piped");
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let banner = lines.next_line().await.expect("reads").expect("a banner");
    assert!(banner.contains("backends on"), "{banner}");
    let mut backend = RawBackend::connect(backend_addr).await;
    let addr = ws;
    let connecting = tokio::spawn(async move { connect(addr, "trader", "desk").await });
    backend.admit("trader", "desk").await;
    let mut client = connecting.await.expect("the client connects");
    backend.expect("new_connection").await;
    client
        .send(r#"{"Type":"Quote","Data":{"symbol":"AB"},"Id":7}"#)
        .await;
    let reply: serde_json::Value = serde_json::from_str(&client.next_text().await).expect("JSON");
    assert_eq!(reply["Type"], "QuoteReply");
    assert_eq!(reply["Data"]["cents"], (65 + 66) * 10);
    client.send("for the backend").await;
    assert_eq!(
        backend.expect("new_message").await["params"]["message"],
        "for the backend"
    );
}
