//! `exws gateway` as a process, the way a PyStrands user runs it: a backend written against
//! the PyPI client, unchanged, serves clients through it; two processes on one real
//! `redis-server` act as one.

#![cfg(all(feature = "gateway", feature = "redis"))]

mod examples_support;
mod gateway_support;
mod redis_support;

use gateway_support::{connect, GatewayProcess, PyBackend};
use redis_support::RedisServer;

/// Connects `id` into `room` and waits until the backend heard of it.
async fn join(gateway: &GatewayProcess, backend: &mut PyBackend, id: &str, room: &str) -> gateway_support::Client {
    let client = connect(gateway.ws, id, room).await;
    backend.expect("connection_request").await;
    let connected = backend.expect("new_connection").await;
    assert_eq!(connected["context"]["client_id"], id);
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_gateway_serves_an_unchanged_pystrands_backend() {
    let cli = examples_support::cli_binary();
    let gateway = GatewayProcess::start(&cli, &[]).await;
    let mut backend = PyBackend::start_on(gateway.backend.port()).await;
    let mut alice = join(&gateway, &mut backend, "alice", "red").await;
    alice.send("héllo ✓").await;
    assert_eq!(backend.expect("new_message").await["message"], "héllo ✓");
    assert_eq!(alice.next_text().await, "héllo ✓");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_cli_gateways_on_redis_act_as_one() {
    let redis = RedisServer::start();
    let cli = examples_support::cli_binary();
    let url = redis.url();
    let one = GatewayProcess::start(&cli, &["--redis", &url]).await;
    let two = GatewayProcess::start(&cli, &["--redis", &url]).await;
    let mut backend_one = PyBackend::start_on(one.backend.port()).await;
    let mut backend_two = PyBackend::start_on(two.backend.port()).await;
    let mut alice = join(&one, &mut backend_one, "alice", "red").await;
    let mut bob = join(&two, &mut backend_two, "bob", "red").await;

    alice.send("room:red:hello red").await;
    backend_one.expect("new_message").await;
    assert_eq!(alice.next_text().await, "hello red");
    assert_eq!(bob.next_text().await, "hello red", "through Redis to the other process");

    bob.send("to:alice:hi alice").await;
    let heard = backend_two.expect("new_message").await;
    assert_eq!(heard["context"]["client_id"], "bob", "bob's events go to his own process's backend");
    assert_eq!(alice.next_text().await, "hi alice");

    alice.send("all:everyone").await;
    backend_one.expect("new_message").await;
    assert_eq!(alice.next_text().await, "everyone");
    assert_eq!(bob.next_text().await, "everyone");
}
