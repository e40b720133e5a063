//! Rooms, broadcasts and direct messages on one server (the in-process adapter): member
//! counts, who receives what and who does not, listings, cleanup after a dropped connection,
//! the hub used from outside handlers, and the per-connection room limit.
//!
//! "Does not receive" is proven without waiting: after the message under test, a marker is
//! sent to everyone, and each connection's next message must be that marker (a connection's
//! messages arrive in the order they were queued).

mod harness;

use exws::{ConnectionId, Hub, HubError};
use exws_workspace::chat::{Broadcasted, RoomMessage};
use harness::chat::{chat_server, ChatClient};
use harness::{eventually, within, TestServer};
use serde_json::{json, Value};
use std::time::Duration;

/// How long the server may take to notice a dropped connection and clean up after it.
const CLEANUP: Duration = Duration::from_secs(10);

/// The sorted connection ids of `clients`, as `Hub::members` lists them.
fn ids(clients: &[&ChatClient]) -> Vec<ConnectionId> {
    let mut ids: Vec<ConnectionId> = clients
        .iter()
        .map(|client| ConnectionId::from(client.id()))
        .collect();
    ids.sort();
    ids
}

/// `sender` broadcasts `marker`; it must be the next message of every client in `clients`
/// (the sender among them): nothing else was queued for them before it.
async fn expect_only_marker(sender: &mut ChatClient, clients: &mut [&mut ChatClient]) {
    let marker = format!("marker from {}", sender.id());
    sender.broadcast(&marker).await;
    let from = sender.id().to_owned();
    sender.expect_broadcast(&from, &marker).await;
    for client in clients {
        client.expect_broadcast(&from, &marker).await;
    }
}

#[tokio::test]
async fn joining_and_leaving_answer_member_counts() {
    let server = TestServer::start(chat_server()).await;
    let mut a = ChatClient::connect(server.addr()).await;
    let mut b = ChatClient::connect(server.addr()).await;
    let mut c = ChatClient::connect(server.addr()).await;

    assert_eq!(a.join("lobby").await, 1);
    assert_eq!(b.join("lobby").await, 2);
    assert_eq!(a.join("lobby").await, 2, "joining a room twice counts once");
    assert_eq!(server.hub().local_room_count(), 1);

    a.leave("lobby").await;
    assert_eq!(c.join("lobby").await, 2, "a left, c joined");
    assert_eq!(
        server.hub().members("lobby").await.expect("members"),
        ids(&[&b, &c])
    );

    b.leave("lobby").await;
    c.leave("lobby").await;
    assert_eq!(
        server.hub().local_room_count(),
        0,
        "a room without members no longer exists"
    );
    assert_eq!(a.join("lobby").await, 1, "the room starts over");
}

#[tokio::test]
async fn a_room_message_reaches_the_other_members_only() {
    let server = TestServer::start(chat_server()).await;
    let mut a = ChatClient::connect(server.addr()).await;
    let mut b = ChatClient::connect(server.addr()).await;
    let mut c = ChatClient::connect(server.addr()).await;
    let mut outsider = ChatClient::connect(server.addr()).await;
    for member in [&mut a, &mut b, &mut c] {
        member.join("lobby").await;
    }
    outsider.join("elsewhere").await;

    a.send_to_room("lobby", "hello lobby").await;
    let from = a.id().to_owned();
    b.expect_room_message("lobby", &from, "hello lobby").await;
    c.expect_room_message("lobby", &from, "hello lobby").await;

    // Neither the sender nor the outsider got it.
    expect_only_marker(&mut a, &mut [&mut b, &mut c, &mut outsider]).await;
}

#[tokio::test]
async fn a_broadcast_reaches_everyone_the_sender_included() {
    let server = TestServer::start(chat_server()).await;
    let mut a = ChatClient::connect(server.addr()).await;
    let mut b = ChatClient::connect(server.addr()).await;
    let mut c = ChatClient::connect(server.addr()).await;
    c.join("some room").await;

    b.broadcast("hello all").await;
    let from = b.id().to_owned();
    for client in [&mut a, &mut b, &mut c] {
        client.expect_broadcast(&from, "hello all").await;
    }
}

#[tokio::test]
async fn a_broadcast_with_an_exclusion_skips_that_connection() {
    let server = TestServer::start(chat_server()).await;
    let mut a = ChatClient::connect(server.addr()).await;
    let mut b = ChatClient::connect(server.addr()).await;
    let mut c = ChatClient::connect(server.addr()).await;
    let hub = server.hub();

    let notice = Broadcasted {
        from: "server".to_owned(),
        text: "maintenance at noon".to_owned(),
    };
    hub.everyone()
        .except(&b.id().into())
        .send(&notice)
        .await
        .expect("a local broadcast succeeds");
    a.expect_broadcast("server", "maintenance at noon").await;
    c.expect_broadcast("server", "maintenance at noon").await;

    expect_only_marker(&mut a, &mut [&mut b, &mut c]).await;
}

#[tokio::test]
async fn a_direct_message_reaches_only_its_receiver() {
    let server = TestServer::start(chat_server()).await;
    let mut a = ChatClient::connect(server.addr()).await;
    let mut b = ChatClient::connect(server.addr()).await;
    let mut c = ChatClient::connect(server.addr()).await;

    let to = b.id().to_owned();
    a.direct(&to, "psst").await;
    let from = a.id().to_owned();
    b.expect_direct(&from, "psst").await;

    expect_only_marker(&mut a, &mut [&mut b, &mut c]).await;
}

#[tokio::test]
async fn a_direct_message_to_an_unknown_id_is_a_handler_error_naming_it() {
    let server = TestServer::start(chat_server()).await;
    let mut a = ChatClient::connect(server.addr()).await;

    a.send_envelope(json!({
        "Type": "DirectMessage",
        "Data": {"to": "nobody-42", "text": "anyone?"},
        "Id": 7,
    }))
    .await;
    let reply = a.recv().await;
    assert_eq!(reply["Type"], "Error", "{reply}");
    assert_eq!(reply["Id"], 7, "the request's Id is echoed: {reply}");
    assert_eq!(reply["Data"]["code"], "handler_error", "{reply}");
    assert_eq!(reply["Data"]["type"], "DirectMessage", "{reply}");
    let message = reply["Data"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("nobody-42"), "names the id: {reply}");

    // A connection that has closed is unknown too.
    let gone = ChatClient::connect(server.addr()).await;
    let gone_id = gone.id().to_owned();
    gone.drop_abruptly();
    let hub = server.hub();
    eventually("the dropped connection to close", CLEANUP, || async {
        match hub.local_connection(&gone_id.as_str().into()) {
            None => Ok(()),
            Some(_) => Err(format!("{gone_id} is still open")),
        }
    })
    .await;
    a.direct(&gone_id, "still there?").await;
    let error = a.expect_error("handler_error").await;
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains(&gone_id), "names the id: {error}");
}

#[tokio::test]
async fn rooms_of_and_members_list_the_memberships() {
    let server = TestServer::start(chat_server()).await;
    let hub = server.hub();
    let mut a = ChatClient::connect(server.addr()).await;
    let mut b = ChatClient::connect(server.addr()).await;
    let a_id = ConnectionId::from(a.id());
    let b_id = ConnectionId::from(b.id());

    a.join("beta").await;
    a.join("alpha").await;
    b.join("beta").await;

    assert_eq!(hub.rooms_of(&a_id), ["alpha", "beta"], "sorted");
    assert_eq!(hub.rooms_of(&b_id), ["beta"]);
    assert_eq!(hub.members("alpha").await.expect("members"), ids(&[&a]));
    assert_eq!(hub.members("beta").await.expect("members"), ids(&[&a, &b]));
    assert!(hub.members("nowhere").await.expect("members").is_empty());
    assert!(hub.rooms_of(&"nobody".into()).is_empty());
    assert_eq!(hub.local_room_count(), 2);

    a.leave("beta").await;
    assert_eq!(hub.rooms_of(&a_id), ["alpha"]);
    assert_eq!(hub.members("beta").await.expect("members"), ids(&[&b]));

    // Only this server's connections can join.
    let refused = hub.join(&"nobody".into(), "alpha").await;
    assert!(
        matches!(refused, Err(HubError::UnknownConnection(ref id)) if id.as_str() == "nobody"),
        "{refused:?}"
    );
    assert_eq!(hub.members("alpha").await.expect("members"), ids(&[&a]));
}

#[tokio::test]
async fn an_abruptly_dropped_connection_leaves_its_rooms() {
    let server = TestServer::start(chat_server()).await;
    let hub = server.hub();
    let mut a = ChatClient::connect(server.addr()).await;
    let mut b = ChatClient::connect(server.addr()).await;
    a.join("lobby").await;
    b.join("lobby").await;
    b.join("b only").await;
    assert_eq!(hub.local_room_count(), 2);

    let b_id = ConnectionId::from(b.id());
    b.drop_abruptly();
    let a_only = ids(&[&a]);
    eventually("b to leave its rooms", CLEANUP, || async {
        let members = hub.members("lobby").await.map_err(|e| e.to_string())?;
        let rooms = hub.local_room_count();
        if members == a_only && rooms == 1 && hub.rooms_of(&b_id).is_empty() {
            Ok(())
        } else {
            Err(format!("lobby members {members:?}, {rooms} rooms"))
        }
    })
    .await;

    // The room goes on for its remaining member.
    let mut c = ChatClient::connect(server.addr()).await;
    assert_eq!(c.join("lobby").await, 2);
    c.send_to_room("lobby", "still here?").await;
    let from = c.id().to_owned();
    a.expect_room_message("lobby", &from, "still here?").await;

    a.drop_abruptly();
    c.drop_abruptly();
    eventually("every room to be gone", CLEANUP, || async {
        let rooms = hub.local_room_count();
        let connections = hub.local_connection_count();
        if rooms == 0 && connections == 0 {
            Ok(())
        } else {
            Err(format!("{rooms} rooms, {connections} connections"))
        }
    })
    .await;
    assert!(hub.members("lobby").await.expect("members").is_empty());
}

#[tokio::test]
async fn the_hub_sends_to_a_room_from_outside_handlers() {
    let server = TestServer::start(chat_server()).await;
    let mut a = ChatClient::connect(server.addr()).await;
    let mut b = ChatClient::connect(server.addr()).await;
    let mut outsider = ChatClient::connect(server.addr()).await;
    a.join("progress").await;
    b.join("progress").await;

    let hub: Hub = server.hub().clone();
    let job = tokio::spawn(async move {
        let update = RoomMessage {
            room: "progress".to_owned(),
            from: "job".to_owned(),
            text: "50%".to_owned(),
        };
        hub.room("progress").send(&update).await
    });
    within("the background job", job)
        .await
        .expect("the job did not panic")
        .expect("the hub sends from a spawned task");

    a.expect_room_message("progress", "job", "50%").await;
    b.expect_room_message("progress", "job", "50%").await;
    expect_only_marker(&mut outsider, &mut [&mut a, &mut b]).await;
}

#[tokio::test]
async fn a_message_to_many_receivers_arrives_identical_at_each() {
    const RECEIVERS: usize = 12;
    let server = TestServer::start(chat_server()).await;
    let mut receivers = Vec::new();
    for _ in 0..RECEIVERS {
        let mut client = ChatClient::connect(server.addr()).await;
        client.join("crowd").await;
        receivers.push(client);
    }

    let text = "héllo \"crowd\"\n\u{1F600} <&>";
    let message = RoomMessage {
        room: "crowd".to_owned(),
        from: "announcer".to_owned(),
        text: text.to_owned(),
    };
    server
        .hub()
        .room("crowd")
        .send(&message)
        .await
        .expect("a local room message succeeds");

    let mut frames = Vec::new();
    for receiver in &mut receivers {
        frames.push(receiver.recv_text().await);
    }
    let first: Value = serde_json::from_str(&frames[0]).expect("JSON");
    assert_eq!(
        first,
        json!({"Type": "RoomMessage", "Data": {"room": "crowd", "from": "announcer", "text": text}})
    );
    for (index, frame) in frames.iter().enumerate() {
        assert_eq!(frame, &frames[0], "receiver {index} got another frame");
    }
}

/// A message that counts how often it is serialized.
struct CountedMessage<'a> {
    text: &'a str,
    serialized: &'a std::sync::atomic::AtomicUsize,
}

impl serde::Serialize for CountedMessage<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.serialized
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        serializer.serialize_str(self.text)
    }
}

#[tokio::test]
async fn a_message_to_a_room_is_serialized_once_whatever_the_number_of_receivers() {
    let server = TestServer::start(chat_server()).await;
    let mut receivers = Vec::new();
    for _ in 0..20 {
        let mut client = ChatClient::connect(server.addr()).await;
        client.join("crowd").await;
        receivers.push(client);
    }
    let serialized = std::sync::atomic::AtomicUsize::new(0);
    let message = CountedMessage {
        text: "once",
        serialized: &serialized,
    };
    server
        .hub()
        .room("crowd")
        .send_as("Counted", &message)
        .await
        .expect("a local room message succeeds");
    server
        .hub()
        .everyone()
        .send_as("Counted", &message)
        .await
        .expect("a local broadcast succeeds");
    for receiver in &mut receivers {
        for _ in 0..2 {
            let frame: Value = serde_json::from_str(&receiver.recv_text().await).expect("JSON");
            assert_eq!(frame, json!({"Type": "Counted", "Data": "once"}));
        }
    }
    assert_eq!(
        serialized.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "one serialization per send, not per receiver"
    );
}

#[tokio::test]
async fn joining_and_leaving_ten_thousand_rooms_leaks_nothing() {
    let server = TestServer::start(chat_server()).await;
    let hub = server.hub();
    let mut a = ChatClient::connect(server.addr()).await;
    let id = ConnectionId::from(a.id());

    for index in 0..10_000 {
        let room = format!("room-{index}");
        let members = hub.join(&id, &room).await.expect("join");
        assert_eq!(members, 1, "{room}");
        assert!(hub.leave(&id, &room).await.expect("leave"), "{room}");
    }
    assert_eq!(hub.local_room_count(), 0);
    assert!(hub.rooms_of(&id).is_empty());
    assert!(hub.members("room-9999").await.expect("members").is_empty());
    assert!(
        !hub.leave(&id, "room-0").await.expect("leave"),
        "not in it any more"
    );

    // The connection is none the worse for it.
    assert_eq!(a.join("after").await, 1);
    assert_eq!(hub.local_room_count(), 1);
}

#[tokio::test]
async fn the_room_limit_refuses_a_third_join() {
    let server = TestServer::start(chat_server().max_rooms_per_connection(2)).await;
    let hub = server.hub();
    let mut a = ChatClient::connect(server.addr()).await;
    let id = ConnectionId::from(a.id());

    assert_eq!(a.join("one").await, 1);
    assert_eq!(a.join("two").await, 1);
    a.send("JoinRoom", json!({"room": "three"})).await;
    let error = a.expect_error("handler_error").await;
    assert_eq!(error["type"], "JoinRoom", "{error}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("2 rooms"), "says the limit: {error}");
    assert_eq!(hub.rooms_of(&id), ["one", "two"]);
    assert!(hub.members("three").await.expect("members").is_empty());

    // Rejoining a room it is in is no third room.
    assert_eq!(a.join("two").await, 1);
    a.leave("one").await;
    assert_eq!(a.join("three").await, 1, "a freed place can be used");
    assert_eq!(hub.rooms_of(&id), ["three", "two"]);
}

#[tokio::test]
async fn an_invalid_room_name_is_refused() {
    let server = TestServer::start(chat_server()).await;
    let mut a = ChatClient::connect(server.addr()).await;

    for room in [String::new(), "x".repeat(257), "bad\nname".to_owned()] {
        a.send("JoinRoom", json!({ "room": room })).await;
        let error = a.expect_error("handler_error").await;
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains("invalid room name"), "{error}");
    }
    assert_eq!(server.hub().local_room_count(), 0);
    assert_eq!(a.join(&"x".repeat(256)).await, 1, "256 bytes is allowed");
}
