//! Presence on one process, over real sockets: `Hub::presence` lists a room's users with a
//! meta per connection (two tabs of one user are one entry), the built-in `PresenceWatch`
//! streams its state and diffs, a user leaves with its last connection, access is checked,
//! and clients that do not watch see the frames they always did.

mod harness;

use exws::protocol::presence::{PresenceDiff, PresenceState, Presences};
use exws::{handlers, message, PresenceAccess, PresenceConfig, Server};
use harness::chat::{chat_server, ChatClient};
use harness::presence::{by_user, entry, presence_server};
use harness::TestServer;
use serde_json::{json, Value};

/// `hub.presence(room)` as JSON.
async fn listed(server: &TestServer, room: &str) -> Value {
    let presence = server.hub().presence(room).await.expect("a presence");
    serde_json::to_value(presence).expect("serializes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_are_one_entry_and_a_user_leaves_with_its_last_tab() {
    let server = TestServer::start(presence_server()).await;
    let mut walt = ChatClient::connect_to(server.addr(), "/?user=walt").await;
    let walt_id = walt.id().to_owned();
    walt.join("lobby").await;
    let state = walt.watch_presence("lobby", 1).await;
    assert_eq!(state, json!([entry(Some("walt"), &[(&walt_id, None)])]));
    let mut seen = Presences::default();
    seen.apply_state(&PresenceState {
        room: "lobby".into(),
        presences: serde_json::from_value(state).expect("entries"),
    });
    let apply = |seen: &mut Presences, joins: &Value, leaves: &Value| {
        let diff: PresenceDiff = serde_json::from_value(json!({
            "room": "lobby", "joins": joins, "leaves": leaves,
        }))
        .expect("a diff");
        seen.apply_diff(&diff)
    };

    // Ada opens two tabs: two joins, one entry with two metas.
    let mut tab1 = ChatClient::connect_to(server.addr(), "/?user=ada&tab=1").await;
    let mut tab2 = ChatClient::connect_to(server.addr(), "/?user=ada&tab=2").await;
    let (tab1_id, tab2_id) = (tab1.id().to_owned(), tab2.id().to_owned());
    tab1.join("lobby").await;
    let (joins, leaves) = walt.expect_presence_diff("lobby", 1).await;
    assert_eq!(joins, json!([entry(Some("ada"), &[(&tab1_id, Some("1"))])]));
    assert_eq!(leaves, json!([]));
    assert_eq!(
        apply(&mut seen, &joins, &leaves).joined.len(),
        1,
        "ada arrived"
    );
    tab2.join("lobby").await;
    let (joins, leaves) = walt.expect_presence_diff("lobby", 1).await;
    assert_eq!(joins, json!([entry(Some("ada"), &[(&tab2_id, Some("2"))])]));
    assert!(
        apply(&mut seen, &joins, &leaves).joined.is_empty(),
        "ada was here already"
    );
    // Joining again is no change: the next diff is the next arrival's.
    tab2.join("lobby").await;

    // A connection without a user is an entry of its own.
    let mut guest = ChatClient::connect(server.addr()).await;
    let guest_id = guest.id().to_owned();
    guest.join("lobby").await;
    let (joins, leaves) = walt.expect_presence_diff("lobby", 1).await;
    assert_eq!(joins, json!([entry(None, &[(&guest_id, None)])]));
    apply(&mut seen, &joins, &leaves);

    let everyone = json!([
        entry(Some("ada"), &[(&tab1_id, Some("1")), (&tab2_id, Some("2"))]),
        entry(Some("walt"), &[(&walt_id, None)]),
        entry(None, &[(&guest_id, None)]),
    ]);
    assert_eq!(listed(&server, "lobby").await, everyone);
    assert_eq!(
        serde_json::to_value(seen.entries()).expect("serializes"),
        everyone,
        "the watcher's view is the hub's"
    );

    // One tab leaves: ada stays, with the other tab.
    tab1.leave("lobby").await;
    let (joins, leaves) = walt.expect_presence_diff("lobby", 1).await;
    assert_eq!(joins, json!([]));
    assert_eq!(
        leaves,
        json!([entry(Some("ada"), &[(&tab1_id, Some("1"))])])
    );
    assert!(
        apply(&mut seen, &joins, &leaves).left.is_empty(),
        "ada still has a tab"
    );
    assert_eq!(
        listed(&server, "lobby").await[0],
        entry(Some("ada"), &[(&tab2_id, Some("2"))])
    );

    // The last tab drops (no close frame): ada leaves.
    tab2.drop_abruptly();
    let (joins, leaves) = walt.expect_presence_diff("lobby", 1).await;
    assert_eq!(
        leaves,
        json!([entry(Some("ada"), &[(&tab2_id, Some("2"))])])
    );
    assert_eq!(apply(&mut seen, &joins, &leaves).left.len(), 1, "ada left");
    let remaining = json!([
        entry(Some("walt"), &[(&walt_id, None)]),
        entry(None, &[(&guest_id, None)]),
    ]);
    assert_eq!(listed(&server, "lobby").await, remaining);
    assert_eq!(
        serde_json::to_value(seen.entries()).expect("serializes"),
        remaining
    );

    // Tab 1, still open, is in no room: no diff for its close.
    tab1.close().await;
    guest.leave("lobby").await;
    let (_, leaves) = walt.expect_presence_diff("lobby", 1).await;
    assert_eq!(leaves, json!([entry(None, &[(&guest_id, None)])]));

    // A cancelled watch ends with StreamEnd, and no diff follows.
    walt.send_envelope(json!({"Type": "StreamCancel", "Id": 1}))
        .await;
    assert_eq!(walt.recv().await, json!({"Type": "StreamEnd", "Id": 1}));
    guest.join("lobby").await;
    walt.broadcast("marker").await;
    walt.expect_broadcast(&walt_id, "marker").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_do_not_watch_see_the_frames_they_always_did() {
    // Presence on: a member that does not watch gets nothing of others' comings and goings.
    let server = TestServer::start(presence_server()).await;
    let mut quiet = ChatClient::connect_to(server.addr(), "/?user=quiet").await;
    let quiet_id = quiet.id().to_owned();
    quiet.join("lobby").await;
    let mut other = ChatClient::connect_to(server.addr(), "/?user=other&tab=1").await;
    other.join("lobby").await;
    other.leave("lobby").await;
    other.join("lobby").await;
    other.close().await;
    quiet.broadcast("marker").await;
    assert_eq!(
        quiet.recv_text().await,
        format!(r#"{{"Type":"Broadcasted","Data":{{"from":"{quiet_id}","text":"marker"}}}}"#),
        "the next frame is the marker, byte for byte"
    );

    // Presence off (the default): PresenceWatch is a Type like any other, and the listing
    // works, without metas.
    let server = TestServer::start(chat_server().authenticator(by_user)).await;
    let mut client = ChatClient::connect_to(server.addr(), "/?user=ada&tab=1").await;
    let id = client.id().to_owned();
    client.join("lobby").await;
    client
        .send_envelope(json!({"Type": "PresenceWatch", "Data": {"room": "lobby"}, "Id": 1}))
        .await;
    let error = client.expect_error("unknown_type").await;
    assert_eq!(error["type"], "PresenceWatch", "{error}");
    assert_eq!(
        listed(&server, "lobby").await,
        json!([entry(Some("ada"), &[(&id, None)])])
    );
    let watch = server
        .hub()
        .watch_presence(
            &server
                .hub()
                .local_connection(&id.as_str().into())
                .expect("open"),
            "lobby",
        )
        .await;
    assert!(
        matches!(watch, Err(exws::HubError::PresenceOff)),
        "{watch:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_is_for_the_rooms_members_and_a_bad_request_is_an_error() {
    let server = TestServer::start(presence_server()).await;
    let mut client = ChatClient::connect_to(server.addr(), "/?user=ada").await;

    // Not in the room: refused, with the request's Id.
    client
        .send_envelope(json!({"Type": "PresenceWatch", "Data": {"room": "lobby"}, "Id": 5}))
        .await;
    let refusal = client.recv().await;
    assert_eq!(refusal["Type"], "Error", "{refusal}");
    assert_eq!(refusal["Id"], 5, "{refusal}");
    assert_eq!(refusal["Data"]["code"], "unauthorized", "{refusal}");
    assert!(
        refusal["Data"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("join it first"),
        "{refusal}"
    );

    // Without an Id, with bad Data, for an invalid room.
    client
        .send_envelope(json!({"Type": "PresenceWatch", "Data": {"room": "lobby"}}))
        .await;
    client.expect_error("invalid_envelope").await;
    client
        .send_envelope(json!({"Type": "PresenceWatch", "Data": {"rooms": 1}, "Id": 6}))
        .await;
    client.expect_error("invalid_data").await;
    client.join("lobby").await;
    client
        .send_envelope(json!({"Type": "PresenceWatch", "Data": {"room": "bad\u{7}"}, "Id": 7}))
        .await;
    client.expect_error("invalid_data").await;

    // A member watches; once it left, the watch ends at the next change (its own leave).
    client.watch_presence("lobby", 8).await;
    let mut other = ChatClient::connect(server.addr()).await;
    let other_id = other.id().to_owned();
    other.join("lobby").await;
    let (joins, _) = client.expect_presence_diff("lobby", 8).await;
    assert_eq!(joins, json!([entry(None, &[(&other_id, None)])]));
    client.leave_ending_watch("lobby", 8).await;
    other.leave("lobby").await;
    client.broadcast("marker").await;
    assert_eq!(
        client.expect("Broadcasted").await["text"],
        "marker",
        "no diff after the end"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_and_meta_are_the_servers_to_choose() {
    let config = PresenceConfig::new()
        .access(PresenceAccess::anyone())
        .meta(|connection| json!({ "long": "x".repeat(100), "id": connection.id().as_str() }))
        .max_meta_bytes(64);
    let server = TestServer::start(chat_server().presence(config)).await;
    let mut outside = ChatClient::connect(server.addr()).await;
    let mut inside = ChatClient::connect(server.addr()).await;
    let inside_id = inside.id().to_owned();
    inside.join("lobby").await;
    // Anyone may watch; a meta over the limit is none.
    let state = outside.watch_presence("lobby", 1).await;
    assert_eq!(state, json!([entry(None, &[(&inside_id, None)])]));

    let config = PresenceConfig::new()
        .access(PresenceAccess::custom(|_connection, room| {
            room.starts_with("public:")
        }))
        .meta(|connection| json!({ "id": connection.id().as_str() }));
    let server = TestServer::start(chat_server().presence(config)).await;
    let mut client = ChatClient::connect(server.addr()).await;
    let id = client.id().to_owned();
    client.join("secret").await;
    client
        .send_envelope(json!({"Type": "PresenceWatch", "Data": {"room": "secret"}, "Id": 1}))
        .await;
    client.expect_error("unauthorized").await;
    let state = client.watch_presence("public:hall", 2).await;
    assert_eq!(state, json!([]));
    client.join("public:hall").await;
    let (joins, _) = client.expect_presence_diff("public:hall", 2).await;
    assert_eq!(
        joins,
        json!([{"user": null, "metas": [{"connection": id, "meta": {"id": id}}]}])
    );
}

#[message(type = "PresenceWatch")]
async fn own_presence_watch(_request: Value) {}

#[tokio::test]
async fn a_handler_of_presence_watch_fails_the_bind_with_presence_on() {
    let bound = Server::with_handlers(handlers![own_presence_watch])
        .presence(PresenceConfig::new())
        .bind("127.0.0.1:0")
        .await;
    let Err(error) = bound else {
        panic!("the bind succeeded with a handler of PresenceWatch and presence on");
    };
    let message = error.to_string();
    assert!(message.contains("PresenceWatch"), "{message}");
    // Without presence, the handler is the application's.
    let bound = Server::with_handlers(handlers![own_presence_watch])
        .bind("127.0.0.1:0")
        .await;
    assert!(bound.is_ok());
}
