//! Presence across processes on a real `redis-server` each test starts: one user's tabs on two
//! processes are one entry, diffs cross processes, and a killed process's presences leave,
//! with leave diffs, at the survivor's next sweep.

#![cfg(feature = "redis")]

mod harness;

use exws::adapter::{RedisAdapter, RedisAdapterConfig};
use harness::chat::ChatClient;
use harness::presence::{entry, presence_server};
use harness::process::ExampleProcess;
use harness::redis_server::RedisServer;
use harness::TestServer;
use serde_json::{json, Value};
use std::time::Duration;

/// A server with presence on, on `redis` under `prefix`, sweeping every 200 ms.
async fn presence_process(redis: &RedisServer, prefix: &str) -> TestServer {
    let adapter = RedisAdapter::with_config(
        RedisAdapterConfig::new(redis.url())
            .prefix(prefix)
            .sweep_interval(Duration::from_millis(200)),
    )
    .expect("a valid Redis URL");
    TestServer::start(presence_server().adapter(adapter)).await
}

/// `hub.presence(room)` of `server`, as JSON.
async fn listed(server: &TestServer, room: &str) -> Value {
    let presence = server.hub().presence(room).await.expect("a presence");
    serde_json::to_value(presence).expect("serializes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_tabs_on_two_processes_are_one_entry_and_diffs_cross_processes() {
    let redis = RedisServer::start();
    let prefix = format!("exws-test-{}-presence-tabs", std::process::id());
    let a = presence_process(&redis, &prefix).await;
    let b = presence_process(&redis, &prefix).await;

    let mut walt = ChatClient::connect_to(a.addr(), "/?user=walt").await;
    let walt_id = walt.id().to_owned();
    walt.join("lobby").await;
    walt.watch_presence("lobby", 1).await;

    // Ada's laptop on A, her phone on B: one entry, a meta each, listed alike on both.
    let mut laptop = ChatClient::connect_to(a.addr(), "/?user=ada&tab=laptop").await;
    let mut phone = ChatClient::connect_to(b.addr(), "/?user=ada&tab=phone").await;
    let (laptop_id, phone_id) = (laptop.id().to_owned(), phone.id().to_owned());
    laptop.join("lobby").await;
    let (joins, _) = walt.expect_presence_diff("lobby", 1).await;
    assert_eq!(
        joins,
        json!([entry(Some("ada"), &[(&laptop_id, Some("laptop"))])])
    );
    phone.join("lobby").await;
    let (joins, _) = walt.expect_presence_diff("lobby", 1).await;
    assert_eq!(
        joins,
        json!([entry(Some("ada"), &[(&phone_id, Some("phone"))])]),
        "a join on B reaches a watcher on A"
    );
    let everyone = json!([
        entry(
            Some("ada"),
            &[(&laptop_id, Some("laptop")), (&phone_id, Some("phone"))]
        ),
        entry(Some("walt"), &[(&walt_id, None)]),
    ]);
    assert_eq!(listed(&a, "lobby").await, everyone);
    assert_eq!(listed(&b, "lobby").await, everyone);

    // A watcher on B starts from the same state.
    let mut bob = ChatClient::connect_to(b.addr(), "/?user=bob").await;
    let bob_id = bob.id().to_owned();
    bob.join("lobby").await;
    let (joins, _) = walt.expect_presence_diff("lobby", 1).await;
    assert_eq!(joins, json!([entry(Some("bob"), &[(&bob_id, None)])]));
    let state = bob.watch_presence("lobby", 2).await;
    assert_eq!(state, listed(&a, "lobby").await);
    assert_eq!(state.as_array().map(Vec::len), Some(3));

    // The phone leaves the room (on B): both watchers hear it; ada stays with her laptop.
    phone.leave("lobby").await;
    let phone_left = json!([entry(Some("ada"), &[(&phone_id, Some("phone"))])]);
    for (watcher, watch) in [(&mut walt, 1), (&mut bob, 2)] {
        let (joins, leaves) = watcher.expect_presence_diff("lobby", watch).await;
        assert_eq!((joins, leaves), (json!([]), phone_left.clone()));
    }
    assert_eq!(
        listed(&b, "lobby").await[0],
        entry(Some("ada"), &[(&laptop_id, Some("laptop"))])
    );

    // The laptop's connection drops (on A): ada leaves, everywhere.
    laptop.drop_abruptly();
    let laptop_left = json!([entry(Some("ada"), &[(&laptop_id, Some("laptop"))])]);
    for (watcher, watch) in [(&mut walt, 1), (&mut bob, 2)] {
        let (_, leaves) = watcher.expect_presence_diff("lobby", watch).await;
        assert_eq!(leaves, laptop_left);
    }
    let remaining = json!([
        entry(Some("bob"), &[(&bob_id, None)]),
        entry(Some("walt"), &[(&walt_id, None)]),
    ]);
    assert_eq!(listed(&a, "lobby").await, remaining);
    assert_eq!(listed(&b, "lobby").await, remaining);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_processs_presences_leave_with_diffs_on_the_other() {
    let redis = RedisServer::start();
    // The chat example (presence on, metas `{"name": ...}`) uses the default key prefix.
    let survivor = presence_process(&redis, "exws").await;
    let mut doomed = ExampleProcess::start(
        "chat",
        &[("EXWS_REDIS_URL", &redis.url()), ("RUST_LOG", "exws=info")],
    )
    .await;

    let mut walt = ChatClient::connect_to(survivor.addr(), "/?user=walt").await;
    let walt_id = walt.id().to_owned();
    let mut x = ChatClient::connect_to(doomed.addr(), "/?name=Xavier").await;
    let x_id = x.id().to_owned();
    for room in ["lobby", "side"] {
        x.join(room).await;
        walt.join(room).await;
    }
    let xavier =
        |id: &str| json!({"user": null, "metas": [{"connection": id, "meta": {"name": "Xavier"}}]});
    let state = walt.watch_presence("lobby", 1).await;
    assert_eq!(
        state,
        json!([entry(Some("walt"), &[(&walt_id, None)]), xavier(&x_id)]),
        "the other process's connection, with the meta it wrote"
    );
    walt.watch_presence("side", 2).await;

    // A join on the doomed process reaches the survivor's watcher.
    let mut x2 = ChatClient::connect_to(doomed.addr(), "/?name=Xavier").await;
    let x2_id = x2.id().to_owned();
    x2.join("lobby").await;
    let (joins, _) = walt.expect_presence_diff("lobby", 1).await;
    assert_eq!(joins, json!([xavier(&x2_id)]));

    // Killed: it tells no one. The survivor's sweep removes its connections and sends the
    // leaves, one diff per room.
    doomed.kill();
    let mut diffs = Vec::new();
    for _ in 0..2 {
        let diff = walt
            .recv_for(Duration::from_secs(15))
            .await
            .expect("a leave diff within the sweep interval");
        diffs.push(diff);
    }
    diffs.sort_by_key(|diff| diff["Id"].as_u64());
    let (joins, leaves) = walt.check_presence_diff(&diffs[0], "lobby", 1);
    assert_eq!(joins, json!([]));
    let mut both = vec![xavier(&x_id), xavier(&x2_id)];
    both.sort_by_key(|entry| entry["metas"][0]["connection"].as_str().map(str::to_owned));
    assert_eq!(leaves, Value::Array(both));
    let (_, leaves) = walt.check_presence_diff(&diffs[1], "side", 2);
    assert_eq!(leaves, json!([xavier(&x_id)]));

    let alone = json!([entry(Some("walt"), &[(&walt_id, None)])]);
    assert_eq!(listed(&survivor, "lobby").await, alone);
    assert_eq!(listed(&survivor, "side").await, alone);
    // Nothing more: the next message is the marker.
    walt.broadcast("marker").await;
    walt.expect_broadcast(&walt_id, "marker").await;
}
