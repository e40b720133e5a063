//! A room subscription as a stream across two processes on a real backend, once per engine
//! (Redis and NATS): X-raptor's chat, where `sub` joins and listens (items with the request's
//! `Id`) and `unsub` leaves.

#![cfg(any(feature = "redis", feature = "nats"))]

mod harness;

use exws::{handlers, message, Connection, Hub, HubError, RoomSubscription, Server};
use harness::engine::{unique_prefix, Backend, Engine};
use harness::{within, TestServer};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::{Duration, Instant};

#[derive(Deserialize)]
struct Subscribe {
    room: String,
}

/// `sub`: join the room and listen, until the client's `StreamCancel` (`unsub`).
#[message]
async fn subscribe(
    request: Subscribe,
    connection: Connection,
    hub: Hub,
) -> Result<RoomSubscription, HubError> {
    hub.subscribe(&connection, &request.room).await
}

#[derive(Deserialize)]
struct Post {
    room: String,
    text: String,
}

#[derive(Serialize)]
struct RoomMessage {
    room: String,
    text: String,
}

#[message]
async fn post(request: Post, connection: Connection, hub: Hub) -> Result<(), HubError> {
    hub.room(&request.room)
        .except(connection.id())
        .send(&RoomMessage {
            room: request.room.clone(),
            text: request.text,
        })
        .await
}

#[derive(Deserialize)]
struct Ping {}

#[derive(Serialize)]
struct Pong {}

#[message]
async fn ping(_request: Ping) -> Pong {
    Pong {}
}

engine_tests!(a_room_subscription_streams_the_rooms_messages_across_processes_and_leaves_on_cancel);

async fn server(backend: &Backend, prefix: &str) -> TestServer {
    TestServer::start(backend.adapter(
        Server::with_handlers(handlers![subscribe, post, ping]),
        prefix,
    ))
    .await
}

async fn a_room_subscription_streams_the_rooms_messages_across_processes_and_leaves_on_cancel(
    engine: Engine,
) {
    let backend = engine.start();
    let prefix = unique_prefix("room-stream");
    let a = server(&backend, &prefix).await;
    let b = server(&backend, &prefix).await;
    let mut listener = a.connect().await;
    let mut poster = b.connect().await;

    listener
        .send_json(&json!({"Type": "Subscribe", "Data": {"room": "news"}, "Id": "sub-1"}))
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while backend.room_members(&prefix, "news").await.len() != 1 {
        assert!(
            Instant::now() < deadline,
            "the subscription never joined the room in the backend"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    for text in ["first", "second"] {
        poster
            .send_json(&json!({"Type": "Post", "Data": {"room": "news", "text": text}}))
            .await;
    }
    for text in ["first", "second"] {
        assert_eq!(
            listener.recv().await,
            json!({"Type": "RoomMessage", "Data": {"room": "news", "text": text}, "Id": "sub-1"}),
            "a room message from the other process, with the subscription's Id"
        );
    }

    // `unsub`: the cancel is answered with StreamEnd and the room is left, in the backend too.
    listener
        .send_json(&json!({"Type": "StreamCancel", "Id": "sub-1"}))
        .await;
    assert_eq!(
        listener.recv().await,
        json!({"Type": "StreamEnd", "Id": "sub-1"})
    );
    while !backend.room_members(&prefix, "news").await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the subscription stayed in the room"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    poster
        .send_json(&json!({"Type": "Post", "Data": {"room": "news", "text": "after"}}))
        .await;
    // Nothing more comes: the next message the listener gets answers its own request.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let pong = within("the pong", listener.call("Ping", json!({}))).await;
    assert_eq!(pong["Type"], "Pong", "{pong}");
}
