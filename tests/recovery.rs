//! Connection recovery and room history on one server (the in-process adapter, history in the
//! server's memory), over real sockets: a client that asks for recovery, drops without a close
//! frame and comes back gets its session (id, user, rooms, subscriptions) and every message it
//! missed, in order, exactly once, before new ones; or an explicit gap. A client that does not
//! ask sees the frames it always saw. (Across processes through Redis: `tests/redis_recovery.rs`.)

mod harness;

use exws::history::{HistoryLimits, HistoryQuery};
use exws::recovery::Recovery;
use exws::{ConnectionId, UserId};
use exws_workspace::recovery::Said;
use harness::recovery::{recovery_server, user_room, RecoveringClient};
use harness::{Client, TestServer};
use serde_json::{json, Value};
use std::time::Duration;

fn said(room: &str, text: &str) -> Said {
    Said {
        room: room.to_owned(),
        text: text.to_owned(),
    }
}

/// Waits until the server has seen `id`'s connection go.
async fn gone(server: &TestServer, id: &str) {
    let id = ConnectionId::from(id);
    harness::wait_for("the server to notice the dropped connection", || {
        server.hub().local_connection(&id).is_none()
    })
    .await;
}

#[tokio::test]
async fn a_client_that_does_not_ask_for_recovery_sees_the_frames_it_always_saw() {
    let server = TestServer::start(recovery_server().recovery(Recovery::default())).await;
    let mut client = Client::connect_to(server.addr(), "/?user=ada").await;
    let joined = client.call("Join", json!({"room": "lobby"})).await;
    assert_eq!(joined, json!({"Type": "Joined", "Data": {"room": "lobby"}}));
    client
        .send_json(&json!({"Type": "Say", "Data": {"room": "lobby", "text": "hi"}}))
        .await;
    assert_eq!(
        client.recv_text().await,
        r#"{"Type":"Said","Data":{"room":"lobby","text":"hi"}}"#,
        "no position, no session frame"
    );
    server
        .hub()
        .user(&UserId::from("ada"))
        .send(&said("", "for ada"))
        .await
        .expect("a message to the user");
    assert_eq!(
        client.recv_text().await,
        r#"{"Type":"Said","Data":{"room":"","text":"for ada"}}"#
    );
}

#[tokio::test]
async fn a_resumed_client_gets_every_missed_message_in_order_once_then_live_ones() {
    let server = TestServer::start(recovery_server().recovery(Recovery::default())).await;
    let mut client = RecoveringClient::connect(server.addr(), Some("ada")).await;
    for room in ["red", "blue"] {
        let joined = client.call("Join", json!({"room": room})).await;
        assert_eq!(joined["Type"], "Joined");
    }
    let hub = server.hub();
    hub.room("red")
        .send(&said("red", "before"))
        .await
        .expect("sent");
    let before = client.recv().await;
    assert_eq!(before["Data"]["text"], "before");
    assert_eq!(before["Pos"]["room"], "red");
    assert_eq!(before["Pos"]["seq"], 1);
    let id = client.id.clone();
    let client = client.cut();
    gone(&server, &id).await;

    // 300 messages while it is away: to both rooms and to the user.
    let ada = UserId::from("ada");
    for n in 0..300 {
        let text = format!("missed {n}");
        match n % 3 {
            0 => hub.room("red").send(&said("red", &text)).await,
            1 => hub.room("blue").send(&said("blue", &text)).await,
            _ => hub.user(&ada).send(&said("", &text)).await,
        }
        .expect("sent while the client is away");
    }

    let mut client = client.resume(server.addr()).await;
    assert_eq!(client.session["resumed"], true, "{}", client.session);
    assert_eq!(client.session["complete"], true, "{}", client.session);
    assert_eq!(client.session["gaps"], json!([]));
    assert_eq!(client.id, id, "the same connection id");
    let mut texts = Vec::new();
    for _ in 0..300 {
        let frame = client.recv().await;
        assert_eq!(frame["Type"], "Said", "{frame}");
        texts.push(
            frame["Data"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    let mut sorted: Vec<usize> = texts
        .iter()
        .filter_map(|text| text.strip_prefix("missed ")?.parse().ok())
        .collect();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..300).collect::<Vec<_>>(), "all 300, each once");
    assert_eq!(client.positions["red"].1, 101);
    assert_eq!(client.positions["blue"].1, 100);
    assert_eq!(client.positions[&user_room("ada")].1, 100);

    // Rooms restored without joining again; live messages follow.
    assert_eq!(
        hub.rooms_of(&ConnectionId::from(id.as_str())),
        ["blue", "red"]
    );
    hub.room("blue")
        .send(&said("blue", "live"))
        .await
        .expect("sent");
    let live = client.recv().await;
    assert_eq!(live["Data"]["text"], "live");
    assert_eq!(live["Pos"]["seq"], 101);
}

#[tokio::test]
async fn a_room_subscription_resumes_with_its_stream_id() {
    let server = TestServer::start(recovery_server().recovery(Recovery::default())).await;
    let mut client = RecoveringClient::connect(server.addr(), None).await;
    client
        .client
        .send_json(&json!({"Type": "Watch", "Data": {"room": "green"}, "Id": 9}))
        .await;
    // Requests are handled in order: once `Join` is answered, the stream is open.
    client.call("Join", json!({"room": "elsewhere"})).await;
    let hub = server.hub();
    hub.room("green")
        .send(&said("green", "first"))
        .await
        .expect("sent");
    let first = client.recv().await;
    assert_eq!(first["Id"], 9, "{first}");
    let id = client.id.clone();
    let detached = client.cut();
    gone(&server, &id).await;
    for n in 0..20 {
        hub.room("green")
            .send(&said("green", &format!("missed {n}")))
            .await
            .expect("sent");
    }
    let mut client = detached.resume(server.addr()).await;
    assert_eq!(client.session["complete"], true, "{}", client.session);
    for n in 0..20 {
        let frame = client.recv().await;
        assert_eq!(frame["Id"], 9, "an item of the resumed stream: {frame}");
        assert_eq!(frame["Data"]["text"], format!("missed {n}"));
    }
    hub.room("green")
        .send(&said("green", "live"))
        .await
        .expect("sent");
    let live = client.recv().await;
    assert_eq!(
        (live["Id"].clone(), live["Data"]["text"].clone()),
        (json!(9), json!("live"))
    );
    // Cancelling the resumed stream ends it as any stream.
    client
        .client
        .send_json(&json!({"Type": "StreamCancel", "Id": 9}))
        .await;
    assert_eq!(client.recv().await, json!({"Type": "StreamEnd", "Id": 9}));
}

#[tokio::test]
async fn a_resume_past_the_history_limit_is_told_of_the_gap_and_goes_on_live() {
    let limits = HistoryLimits::default().max_messages(10);
    let server =
        TestServer::start(recovery_server().recovery(Recovery::default().history(limits))).await;
    let mut client = RecoveringClient::connect(server.addr(), None).await;
    for room in ["red", "blue"] {
        client.call("Join", json!({"room": room})).await;
    }
    let hub = server.hub();
    hub.room("red")
        .send(&said("red", "seen"))
        .await
        .expect("sent");
    client.recv().await;
    let id = client.id.clone();
    let detached = client.cut();
    gone(&server, &id).await;
    for n in 0..50 {
        hub.room("red")
            .send(&said("red", &format!("missed {n}")))
            .await
            .expect("sent");
    }
    hub.room("blue")
        .send(&said("blue", "kept"))
        .await
        .expect("sent");
    let mut client = detached.resume(server.addr()).await;
    assert_eq!(client.session["resumed"], true);
    assert_eq!(client.session["complete"], false, "{}", client.session);
    assert_eq!(
        client.session["gaps"],
        json!([{"room": "red", "reason": "evicted"}])
    );
    // The room without a gap is replayed; the other goes on with new messages.
    let kept = client.recv().await;
    assert_eq!(kept["Data"]["text"], "kept");
    hub.room("red")
        .send(&said("red", "live"))
        .await
        .expect("sent");
    let live = client.recv().await;
    assert_eq!(live["Data"]["text"], "live");
    assert_eq!(live["Pos"]["seq"], 52);
}

#[tokio::test]
async fn a_resume_after_the_window_is_told_its_session_expired() {
    let window = Duration::from_secs(1);
    let server =
        TestServer::start(recovery_server().recovery(Recovery::default().window(window))).await;
    let mut client = RecoveringClient::connect(server.addr(), None).await;
    client.call("Join", json!({"room": "red"})).await;
    server
        .hub()
        .room("red")
        .send(&said("red", "seen"))
        .await
        .expect("sent");
    client.recv().await;
    let old_id = client.id.clone();
    let detached = client.cut();
    gone(&server, &old_id).await;
    // The window (and the slack of its keep-alive) passing is the condition under test.
    tokio::time::sleep(window * 2).await;
    let client = detached.resume(server.addr()).await;
    assert_eq!(client.session["resumed"], false, "{}", client.session);
    assert_eq!(client.session["complete"], false);
    assert_eq!(client.session["reason"], "expired");
    assert_eq!(
        client.session["gaps"],
        json!([{"room": "red", "reason": "expired"}])
    );
    assert_ne!(client.id, old_id, "a new session");
    assert!(server
        .hub()
        .rooms_of(&ConnectionId::from(client.id.as_str()))
        .is_empty());
}

#[tokio::test]
async fn room_history_reads_the_last_messages_or_those_since_a_position() {
    let limits = HistoryLimits::default().max_messages(5);
    let server = TestServer::start(recovery_server().history(limits)).await;
    let hub = server.hub();
    assert!(matches!(
        hub.everyone().history(HistoryQuery::Last(1)).await,
        Err(exws::HubError::HistoryOff)
    ));
    for n in 0..8 {
        hub.room("log")
            .send(&said("log", &n.to_string()))
            .await
            .expect("sent");
    }
    let last = hub
        .room("log")
        .history(HistoryQuery::Last(3))
        .await
        .expect("read");
    let seqs: Vec<u64> = last.entries.iter().map(|entry| entry.seq).collect();
    assert_eq!(seqs, [6, 7, 8]);
    assert_eq!(last.current.seq, 8);
    let text: Value = serde_json::from_str(last.entries[0].text.as_str()).expect("json");
    assert_eq!(
        text,
        json!({"Type": "Said", "Data": {"room": "log", "text": "5"}})
    );
    let since = hub
        .room("log")
        .history(HistoryQuery::Since(2))
        .await
        .expect("read");
    assert!(
        !since.complete_since(2),
        "1 and 2 kept, 3 evicted: 5 kept of 8"
    );
    assert_eq!(since.entries.len(), 5);
    let since = hub
        .room("log")
        .history(HistoryQuery::Since(6))
        .await
        .expect("read");
    assert!(since.complete_since(6));
    let off = TestServer::start(recovery_server()).await;
    assert!(matches!(
        off.hub().room("log").history(HistoryQuery::Last(1)).await,
        Err(exws::HubError::HistoryOff)
    ));
}
