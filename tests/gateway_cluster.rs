//! Two gateways on one real backend (Redis or NATS, started by the test on a free port) act as
//! one, once per engine:
//! room messages, direct messages and broadcasts from a backend of either reach the clients of
//! both, each client's events go to a backend of its own gateway, and a client id held on one
//! gateway is refused on the other.

#![cfg(all(feature = "gateway", any(feature = "redis", feature = "nats")))]

mod harness;

use harness::engine::{Backend, Engine};
use harness::gateway::{admitted, start_with, test_config, try_connect, RawBackend, TestGateway};
use serde_json::json;

engine_tests!(two_gateways_on_one_backend_act_as_one);

async fn gateway_on(backend: &Backend) -> TestGateway {
    start_with(
        backend.adapter(exws::Server::with_handlers([]), "gw-test"),
        test_config(),
    )
    .await
}

async fn two_gateways_on_one_backend_act_as_one(engine: Engine) {
    let backend = engine.start();
    let one = gateway_on(&backend).await;
    let two = gateway_on(&backend).await;
    let mut backend_one = RawBackend::connect(one.backend).await;
    let mut backend_two = RawBackend::connect(two.backend).await;
    one.wait_backends(1).await;
    two.wait_backends(1).await;
    let mut alice = admitted(&one, &mut backend_one, "alice", "red").await;
    let mut bob = admitted(&two, &mut backend_two, "bob", "red").await;

    backend_one
        .send(json!({"request_id": "1", "action": "message_to_room", "params": {"room_id": "red", "message": "to red"}}))
        .await;
    assert_eq!(alice.next_text().await, "to red");
    assert_eq!(
        bob.next_text().await,
        "to red",
        "a room spans both gateways"
    );

    backend_one
        .send(json!({"request_id": "2", "action": "message_to_connection", "params": {"conn_id": "bob", "message": "hi bob"}}))
        .await;
    assert_eq!(
        bob.next_text().await,
        "hi bob",
        "a client on the other gateway"
    );

    backend_two
        .send(json!({"request_id": "3", "action": "broadcast", "params": {"message": "everyone"}}))
        .await;
    assert_eq!(alice.next_text().await, "everyone");
    assert_eq!(bob.next_text().await, "everyone");

    // Each client's messages go to a backend of its own gateway.
    bob.send("from bob").await;
    let event = backend_two.expect("new_message").await;
    assert_eq!(event["params"]["context"]["client_id"], "bob");
    alice.send("from alice").await;
    let event = backend_one.expect("new_message").await;
    assert_eq!(event["params"]["context"]["client_id"], "alice");

    // The id alice holds on one gateway is refused on the other.
    let addr = two.ws;
    let duplicate = tokio::spawn(async move {
        try_connect(addr, "/ws/red", &[("X-Client-Id", "alice")])
            .await
            .err()
    });
    backend_two.admit("alice", "red").await;
    assert_eq!(duplicate.await.expect("the task runs"), Some(409));
    alice.send("still mine").await;
    assert_eq!(
        backend_one.expect("new_message").await["params"]["message"],
        "still mine"
    );
}
