//! Connection recovery across processes through the Redis adapter, on a real `redis-server`
//! each test starts: a client on process A in two rooms, its user's channel and a room
//! subscription has its TCP connection cut (no close frame); 300 messages go to its rooms
//! and its user from process B; it comes back to B within the window and gets all of them,
//! in order, once, then live ones, with its rooms and subscription restored. The same after
//! A is killed (an OS process); the gap signal after the window, after eviction, and after a
//! Redis restart that lost the rooms' history.

#![cfg(feature = "redis")]

mod harness;

use exws::adapter::{RedisAdapter, RedisAdapterConfig};
use exws::history::{HistoryLimits, HistoryQuery};
use exws::recovery::Recovery;
use exws::{ConnectionId, Hub, UserId};
use exws_workspace::recovery::Said;
use harness::process::ExampleProcess;
use harness::recovery::{recovery_server, user_room, Detached, RecoveringClient};
use harness::redis_server::RedisServer;
use harness::{skipped_over, wait_for, within, TestServer, Transport};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

fn said(room: &str, text: &str) -> Said {
    Said {
        room: room.to_owned(),
        text: text.to_owned(),
    }
}

/// A process of the deployment on `redis` (key prefix `exws`, as the example's).
async fn process(redis: &RedisServer, recovery: Recovery) -> TestServer {
    let adapter =
        RedisAdapter::with_config(RedisAdapterConfig::new(redis.url())).expect("a valid Redis URL");
    TestServer::start(recovery_server().recovery(recovery).adapter(adapter)).await
}

/// Waits until `server` has seen `id`'s connection go.
async fn gone(server: &TestServer, id: &str) {
    let id = ConnectionId::from(id);
    wait_for("the server to notice the dropped connection", || {
        server.hub().local_connection(&id).is_none()
    })
    .await;
}

/// Joins `red` and `blue` and subscribes to `green` (stream `Id` 9); gets one message of each
/// from `hub`.
async fn settle_in(client: &mut RecoveringClient, hub: &Hub) {
    for room in ["red", "blue"] {
        let joined = client.call("Join", json!({"room": room})).await;
        assert_eq!(joined["Type"], "Joined", "{joined}");
    }
    client
        .client
        .send_json(&json!({"Type": "Watch", "Data": {"room": "green"}, "Id": 9}))
        .await;
    // Requests are handled in order: once this is answered, the stream is open.
    client.call("Join", json!({"room": "elsewhere"})).await;
    for room in ["red", "blue", "green"] {
        hub.room(room)
            .send(&said(room, "seen"))
            .await
            .expect("sent");
        let frame = client.recv().await;
        assert_eq!(frame["Data"]["text"], "seen", "{frame}");
    }
}

/// Sends 300 messages to `red`, `blue` and user `ada` from `hub`, and 30 to `green`.
async fn send_while_away(hub: &Hub) {
    let ada = UserId::from("ada");
    for n in 0..300 {
        let text = format!("missed {n}");
        match n % 3 {
            0 => hub.room("red").send(&said("red", &text)).await,
            1 => hub.room("blue").send(&said("blue", &text)).await,
            _ => hub.user(&ada).send(&said("", &text)).await,
        }
        .expect("sent while the client is away");
        if n % 10 == 0 {
            hub.room("green")
                .send(&said("green", &text))
                .await
                .expect("sent");
        }
    }
}

/// Resumes `detached` on `server` and checks the replay: complete, 300 messages to the rooms
/// and user and 30 subscription items, each once, in order per room (the client checks each
/// position follows the last), then a live message from `live`.
async fn resume_and_check(detached: Detached, server: &TestServer, live: &Hub) {
    let id = detached.id.clone();
    let mut client = detached.resume(server.addr()).await;
    assert_eq!(client.session["resumed"], true, "{}", client.session);
    assert_eq!(client.session["complete"], true, "{}", client.session);
    assert_eq!(client.id, id, "the same connection id");
    let mut per_room: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for _ in 0..330 {
        let frame = client.recv().await;
        let room = frame["Pos"]["room"].as_str().unwrap_or_default().to_owned();
        let n = frame["Data"]["text"]
            .as_str()
            .and_then(|text| text.strip_prefix("missed "))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a missed message: {frame}"));
        if room == "green" {
            assert_eq!(frame["Id"], 9, "a subscription item: {frame}");
        }
        per_room.entry(room).or_default().push(n);
    }
    let expected = |rest: usize| (0..300).filter(|n| n % 3 == rest).collect::<Vec<_>>();
    assert_eq!(per_room["red"], expected(0));
    assert_eq!(per_room["blue"], expected(1));
    assert_eq!(per_room[&user_room("ada")], expected(2));
    assert_eq!(per_room["green"], (0..300).step_by(10).collect::<Vec<_>>());
    let hub = server.hub();
    let me = ConnectionId::from(id.as_str());
    assert_eq!(hub.rooms_of(&me), ["blue", "elsewhere", "red"]);
    assert!(hub.members("red").await.expect("members").contains(&me));
    live.room("red")
        .send(&said("red", "live"))
        .await
        .expect("sent");
    let frame = client.recv().await;
    assert_eq!(frame["Data"]["text"], "live", "{frame}");
    assert_eq!(frame["Pos"]["seq"], 102);
    live.room("green")
        .send(&said("green", "live"))
        .await
        .expect("sent");
    let frame = client.recv().await;
    assert_eq!(
        (frame["Id"].clone(), frame["Data"]["text"].clone()),
        (json!(9), json!("live"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cut_on_one_process_resumes_on_another_with_every_missed_message() {
    let redis = RedisServer::start();
    let a = process(&redis, Recovery::default()).await;
    let b = process(&redis, Recovery::default()).await;
    let mut client = RecoveringClient::connect(a.addr(), Some("ada")).await;
    settle_in(&mut client, &a.hub()).await;
    let id = client.id.clone();
    let detached = client.cut();
    gone(&a, &id).await;
    send_while_away(&b.hub()).await;
    resume_and_check(detached, &b, &a.hub()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_of_a_killed_process_resumes_on_another_with_every_missed_message() {
    if skipped_over(Transport::Tls, "the example process speaks plain ws") {
        return;
    }
    let redis = RedisServer::start();
    let mut a = ExampleProcess::start("recovery", &[("EXWS_REDIS_URL", &redis.url())]).await;
    let b = process(&redis, Recovery::default()).await;
    let mut client = RecoveringClient::connect(a.addr(), Some("ada")).await;
    settle_in(&mut client, &b.hub()).await;
    a.kill();
    let detached = client.cut();
    send_while_away(&b.hub()).await;
    resume_and_check(detached, &b, &b.hub()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_after_the_window_or_past_eviction_is_told_of_the_gap() {
    let redis = RedisServer::start();
    let window = Duration::from_secs(1);
    let recovery = Recovery::default()
        .window(window)
        .history(HistoryLimits::default().max_messages(10));
    let a = process(&redis, recovery).await;
    let b = process(&redis, recovery).await;

    // Evicted: 50 messages into a room that keeps 10.
    let mut client = RecoveringClient::connect(a.addr(), None).await;
    client.call("Join", json!({"room": "red"})).await;
    client.call("Join", json!({"room": "blue"})).await;
    let id = client.id.clone();
    let detached = client.cut();
    gone(&a, &id).await;
    for n in 0..50 {
        b.hub()
            .room("red")
            .send(&said("red", &n.to_string()))
            .await
            .expect("sent");
    }
    let mut client = detached.resume(b.addr()).await;
    assert_eq!(client.session["resumed"], true);
    assert_eq!(client.session["complete"], false, "{}", client.session);
    assert_eq!(
        client.session["gaps"],
        json!([{"room": "red", "reason": "evicted"}])
    );
    a.hub()
        .room("blue")
        .send(&said("blue", "live"))
        .await
        .expect("sent");
    assert_eq!(client.recv().await["Data"]["text"], "live");

    // Expired: back after the window.
    let id = client.id.clone();
    let detached = client.cut();
    gone(&b, &id).await;
    // The window (and the slack of its keep-alive) passing is the condition under test.
    tokio::time::sleep(window * 2).await;
    let client = detached.resume(a.addr()).await;
    assert_eq!(client.session["resumed"], false, "{}", client.session);
    assert_eq!(client.session["reason"], "expired");
    assert_eq!(
        client.session["gaps"],
        json!([{"room": "blue", "reason": "expired"}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_after_redis_lost_the_history_is_told_the_epoch_changed() {
    let mut redis = RedisServer::start();
    let a = process(&redis, Recovery::default()).await;
    let b = process(&redis, Recovery::default()).await;
    let mut client = RecoveringClient::connect(a.addr(), None).await;
    client.call("Join", json!({"room": "red"})).await;
    a.hub()
        .room("red")
        .send(&said("red", "seen"))
        .await
        .expect("sent");
    assert_eq!(client.recv().await["Data"]["text"], "seen");

    // Redis restarts empty (no persistence): the room's stream and epoch are gone.
    redis.restart();
    within("both processes to write through Redis again", async {
        for hub in [a.hub(), b.hub()] {
            while hub
                .room("probe")
                .history(HistoryQuery::Last(1))
                .await
                .is_err()
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    })
    .await;
    let id = client.id.clone();
    let detached = client.cut();
    gone(&a, &id).await;
    b.hub()
        .room("red")
        .send(&said("red", "after"))
        .await
        .expect("sent");
    let client = detached.resume(b.addr()).await;
    assert_eq!(client.session["resumed"], true, "{}", client.session);
    assert_eq!(client.session["complete"], false);
    assert_eq!(
        client.session["gaps"],
        json!([{"room": "red", "reason": "epoch_changed"}])
    );
}
