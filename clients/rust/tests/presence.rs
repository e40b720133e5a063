//! Presence against a real in-process exws server with presence on: the watcher's state and
//! diffs, a user's tabs as one entry, the user leaving with its last tab, a refused watch, and
//! a one-time read.

mod common;

use common::*;
use exws::auth::{Admission, HandshakeRejection};
use exws::{
    handlers, message, Connection, HandshakeRequest, Hub, HubError, PresenceConfig, Server,
};
use exws_client::{Client, ErrorCode, PresenceEvent, PresenceKey, StreamError};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Serialize, Deserialize)]
struct JoinRoom {
    room: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Joined {
    members: usize,
}

#[message]
async fn join_room(
    request: JoinRoom,
    connection: Connection,
    hub: Hub,
) -> Result<Joined, HubError> {
    let members = hub.join(connection.id(), &request.room).await?;
    Ok(Joined { members })
}

async fn by_user(request: HandshakeRequest) -> Result<Admission, HandshakeRejection> {
    Ok(match request.query_param("user") {
        Some(user) => Admission::anonymous().with_user_id(user.into_owned()),
        None => Admission::anonymous(),
    })
}

fn presence_server() -> Server {
    Server::with_handlers(handlers![join_room])
        .authenticator(by_user)
        .presence(
            PresenceConfig::new()
                .meta(|connection| json!({ "tab": connection.handshake().query_param("tab") })),
        )
}

async fn connect(server: &Running, query: &str) -> Client {
    within(Client::connect(format!("{}/?{query}", server.url())))
        .await
        .expect("connects")
}

async fn join(client: &Client, room: &str) {
    let joined: Joined = within(client.call(&JoinRoom {
        room: room.to_owned(),
    }))
    .await
    .expect("joined");
    assert!(joined.members >= 1);
}

fn ada() -> PresenceKey {
    PresenceKey::User("ada".to_owned())
}

#[tokio::test]
async fn a_watch_follows_a_users_tabs_and_a_read_lists_them() {
    let server = start_server(presence_server(), "127.0.0.1:0").await;
    let walt = connect(&server, "user=walt").await;

    // Not in the room: refused by the server's default access rule.
    match within(walt.watch_presence("lobby")).await {
        Err(StreamError::Server { code, .. }) => assert_eq!(code, ErrorCode::Unauthorized),
        other => panic!("expected a refusal, got {other:?}"),
    }
    join(&walt, "lobby").await;
    let mut watch = within(walt.watch_presence("lobby")).await.expect("a watch");
    assert_eq!(watch.room(), "lobby");
    assert_eq!(watch.presences().len(), 1);
    assert!(watch.presences().user("walt").is_some());

    let tab1 = connect(&server, "user=ada&tab=1").await;
    let tab2 = connect(&server, "user=ada&tab=2").await;
    join(&tab1, "lobby").await;
    match within(watch.next_event()).await {
        Some(Ok(PresenceEvent::Diff { change, diff })) => {
            assert_eq!(change.joined, vec![ada()], "ada arrived");
            assert_eq!(diff.joins[0].metas[0].meta, json!({"tab": "1"}));
        }
        other => panic!("expected a diff, got {other:?}"),
    }
    join(&tab2, "lobby").await;
    match within(watch.next_event()).await {
        Some(Ok(PresenceEvent::Diff { change, .. })) => {
            assert!(change.joined.is_empty(), "ada was here already: {change:?}")
        }
        other => panic!("expected a diff, got {other:?}"),
    }
    let tabs: Vec<_> = watch
        .presences()
        .user("ada")
        .map(|entry| {
            entry
                .metas
                .iter()
                .map(|meta| meta.meta["tab"].clone())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(tabs.len(), 2);
    assert!(
        tabs.contains(&json!("1")) && tabs.contains(&json!("2")),
        "{tabs:?}"
    );

    // A one-time read from another member gives the same entries.
    let listed = within(tab2.presence("lobby")).await.expect("a presence");
    let watched: Vec<_> = watch.presences().entries().into_iter().cloned().collect();
    assert_eq!(listed, watched);

    // One tab closes: ada stays; the other closes: ada leaves.
    within(tab1.close()).await;
    match within(watch.next_event()).await {
        Some(Ok(PresenceEvent::Diff { change, .. })) => assert!(change.left.is_empty()),
        other => panic!("expected a diff, got {other:?}"),
    }
    within(tab2.close()).await;
    match within(watch.next_event()).await {
        Some(Ok(PresenceEvent::Diff { change, .. })) => assert_eq!(change.left, vec![ada()]),
        other => panic!("expected a diff, got {other:?}"),
    }
    assert!(watch.presences().user("ada").is_none());
    within(watch.cancel()).await.expect("cancelled");
    assert_eq!(walt.open_streams(), 0);
    server.stop().await;
}

#[tokio::test]
async fn a_server_without_presence_answers_unknown_type() {
    let server = start_server(Server::with_handlers(handlers![join_room]), "127.0.0.1:0").await;
    let client = connect(&server, "").await;
    join(&client, "lobby").await;
    match within(client.presence("lobby")).await {
        Err(StreamError::Server { code, .. }) => assert_eq!(code, ErrorCode::UnknownType),
        other => panic!("expected unknown_type, got {other:?}"),
    }
    server.stop().await;
}
