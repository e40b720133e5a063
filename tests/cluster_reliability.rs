//! Reliability of the distributed engines, once per engine (the backend and NATS, on a real server
//! each test starts): one user with connections on two processes, a join racing its
//! connection's close, nothing queued while the backend is unreachable, and a publish queue
//! bounded in bytes.

#![cfg(any(feature = "redis", feature = "nats"))]

mod harness;

use exws::auth::{Admission, HandshakeRejection};
use exws::{
    handlers, message, BoundServer, Connection, ConnectionId, HandshakeRequest, Hub, HubError,
    Server, UserId,
};
use harness::engine::{unique_prefix, Backend, Engine, Settings};
use harness::{wait_for, within, Client, TestServer};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::{Duration, Instant};

engine_tests!(
    two_tabs_of_one_user_on_two_processes_both_get_its_messages_and_stay_apart,
    a_join_racing_its_connections_close_leaves_nothing_in_the_backend,
    a_send_refused_while_the_backend_is_unreachable_is_never_delivered_later,
    the_publish_queue_is_bounded_in_bytes,
    the_publish_queue_is_bounded_in_messages,
);

/// How long state may take to settle in the backend.
const SETTLE: Duration = Duration::from_secs(10);

#[derive(Deserialize)]
struct JoinRoom {
    room: String,
}

#[derive(Serialize)]
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

#[derive(Deserialize)]
struct WhoAmI {}

#[derive(Serialize)]
struct Me {
    connection: String,
}

#[message]
async fn who_am_i(_request: WhoAmI, connection: Connection) -> Me {
    Me {
        connection: connection.id().to_string(),
    }
}

#[derive(Deserialize)]
struct JoinWhenClosed {
    room: String,
    /// The test run the join belongs to (each engine's instance of a test runs at once).
    run: usize,
}

/// Joins made by [`join_when_closed`] that have returned (joined or refused), by test run.
static LATE_JOINS_DONE: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());

/// A new test run's number for [`LATE_JOINS_DONE`].
fn new_run() -> usize {
    let mut done = LATE_JOINS_DONE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    done.push(0);
    done.len() - 1
}

/// How many late joins of test run `run` have returned.
fn late_joins_done(run: usize) -> usize {
    let done = LATE_JOINS_DONE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    done.get(run).copied().unwrap_or(0)
}

/// Joins `room` from another task as soon as the connection starts closing: a join racing the
/// close's cleanup. Counts the join in [`LATE_JOINS_DONE`] once it returned.
#[message]
async fn join_when_closed(request: JoinWhenClosed, connection: Connection, hub: Hub) {
    tokio::spawn(async move {
        connection.closed().await;
        let _ = hub.join(connection.id(), &request.room).await;
        let mut done = LATE_JOINS_DONE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = done.get_mut(request.run) {
            *count += 1;
        }
    });
}

#[derive(Serialize)]
struct Note {
    text: String,
}

async fn by_user(request: HandshakeRequest) -> Result<Admission, HandshakeRejection> {
    Ok(match request.query_param("user") {
        Some(user) => Admission::anonymous().with_user_id(user.into_owned()),
        None => Admission::anonymous(),
    })
}

async fn bind(backend: &Backend, settings: &Settings) -> BoundServer {
    let server = Server::with_handlers(handlers![join_room, who_am_i, join_when_closed])
        .authenticator(by_user);
    harness::server::bind(backend.attach(server, settings).0).await
}

async fn connect_as(server: &TestServer, user: &str) -> (Client, ConnectionId) {
    let mut client = Client::connect_to(server.addr(), &format!("/?user={user}")).await;
    let me = client.call("WhoAmI", json!({})).await;
    let id = me["Data"]["connection"].as_str().unwrap_or_default();
    (client, ConnectionId::from(id))
}

/// Waits until `check` holds, asking again every 20 ms, for up to [`SETTLE`].
async fn settle<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + SETTLE;
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {SETTLE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn two_tabs_of_one_user_on_two_processes_both_get_its_messages_and_stay_apart(
    engine: Engine,
) {
    let backend = engine.start();
    let prefix = unique_prefix("user-tabs");
    let a = bind(&backend, &Settings::prefix(&prefix)).await;
    let b = bind(&backend, &Settings::prefix(&prefix)).await;
    let (hub_a, hub_b) = (a.hub(), b.hub());
    let (server_a, server_b) = (TestServer::serve(a), TestServer::serve(b));

    let (mut laptop, laptop_id) = connect_as(&server_a, "ada").await;
    assert_eq!(
        laptop.call("JoinRoom", json!({"room": "r"})).await["Data"]["members"],
        1
    );
    let (mut phone, phone_id) = connect_as(&server_b, "ada").await;
    assert_eq!(
        phone.call("JoinRoom", json!({"room": "other"})).await["Data"]["members"],
        1
    );
    assert_ne!(laptop_id, phone_id);

    let ada = UserId::from("ada");
    let mut expected = vec![laptop_id.clone(), phone_id.clone()];
    expected.sort();
    assert_eq!(
        hub_b.user_connections(&ada).await.expect("connections"),
        expected
    );
    assert_eq!(
        hub_b.member_users("r").await.expect("member users"),
        vec![ada.clone()]
    );

    // A message to the user from either process reaches both devices.
    hub_a
        .user(&ada)
        .send(&Note {
            text: "from a".into(),
        })
        .await
        .expect("sent");
    hub_b
        .user(&ada)
        .send(&Note {
            text: "from b".into(),
        })
        .await
        .expect("sent");
    // Two senders on two processes: each device gets both, in either order.
    for device in [&mut laptop, &mut phone] {
        let mut texts = vec![
            device.recv().await["Data"]["text"].clone(),
            device.recv().await["Data"]["text"].clone(),
        ];
        texts.sort_by_key(ToString::to_string);
        assert_eq!(texts, vec![json!("from a"), json!("from b")]);
    }

    // The phone closes: the laptop keeps its room, its direct messages and its user's.
    phone.close().await;
    let user_room = "\u{1}user:ada";
    settle(
        "the phone leaving its user's room in the backend",
        || async { backend.room_members(&prefix, user_room).await == vec![laptop_id.to_string()] },
    )
    .await;
    hub_b
        .room("r")
        .send(&Note {
            text: "room".into(),
        })
        .await
        .expect("sent");
    assert_eq!(laptop.recv().await["Data"]["text"], "room");
    hub_b
        .to(&laptop_id)
        .send(&Note {
            text: "direct".into(),
        })
        .await
        .expect("sent");
    assert_eq!(laptop.recv().await["Data"]["text"], "direct");
    hub_b
        .user(&ada)
        .send(&Note {
            text: "user".into(),
        })
        .await
        .expect("sent");
    assert_eq!(laptop.recv().await["Data"]["text"], "user");
    assert_eq!(
        backend.room_members(&prefix, "r").await,
        vec![laptop_id.to_string()]
    );
    assert_eq!(
        backend.connections_with_users(&prefix).await,
        vec![laptop_id.to_string()]
    );

    // Once every device is gone, the user is unknown everywhere and the backend holds nothing
    // of it.
    laptop.close().await;
    settle("the user's last connection leaving the backend", || async {
        backend.room_members(&prefix, user_room).await.is_empty()
            && backend.connections_with_users(&prefix).await.is_empty()
    })
    .await;
    assert!(matches!(
        hub_b
            .user(&ada)
            .send(&Note {
                text: "nobody".into()
            })
            .await,
        Err(HubError::UnknownUser(_))
    ));
    assert!(server_a.shutdown().await.is_ok());
    assert!(server_b.shutdown().await.is_ok());
}

async fn a_join_racing_its_connections_close_leaves_nothing_in_the_backend(engine: Engine) {
    let backend = engine.start();
    let prefix = unique_prefix("join-race");
    let bound = bind(&backend, &Settings::prefix(&prefix)).await;
    let hub = bound.hub();
    let server = TestServer::serve(bound);
    let run = new_run();
    let mut ids = Vec::new();
    for round in 0..40 {
        let (mut client, id) = connect_as(&server, "racer").await;
        client
            .send_json(&json!({
                "Type": "JoinWhenClosed",
                "Data": {"room": format!("race-{}", round % 4), "run": run},
            }))
            .await;
        client.close().await;
        ids.push(id);
    }
    wait_for("every connection to close", || {
        hub.local_connection_count() == 0
    })
    .await;
    // Every late join has returned (joined, taken back or refused): nothing more comes.
    wait_for("every late join to return", || {
        late_joins_done(run) == ids.len()
    })
    .await;
    for room in 0..4 {
        let room = format!("race-{room}");
        settle(&format!("{room} to be empty"), || async {
            backend.room_members(&prefix, &room).await.is_empty()
        })
        .await;
    }
    for id in &ids {
        assert!(
            backend.rooms_of(&prefix, id.as_str()).await.is_empty(),
            "the rooms of {id} were left behind"
        );
    }
    assert!(backend.connections(&prefix).await.is_empty());
    assert!(server.shutdown().await.is_ok());
}

async fn a_send_refused_while_the_backend_is_unreachable_is_never_delivered_later(engine: Engine) {
    let mut backend = engine.start();
    let prefix = unique_prefix("refused-send");
    let fast = Settings {
        command_timeout: Some(Duration::from_millis(300)),
        reconnect_backoff: Some((Duration::from_millis(50), Duration::from_millis(200))),
        ..Settings::prefix(&prefix)
    };
    let a = bind(&backend, &fast).await;
    let b = bind(&backend, &fast).await;
    let hub_a = a.hub();
    let (server_a, server_b) = (TestServer::serve(a), TestServer::serve(b));
    let (mut listener, _) = connect_as(&server_b, "bob").await;
    assert_eq!(
        listener.call("JoinRoom", json!({"room": "r"})).await["Data"]["members"],
        1
    );

    // A frozen backend (as in a partition) answers nothing; sends wait in the publish queue
    // until the adapter notices, and are refused from then on.
    backend.pause();
    settle("a send to be refused", || async {
        hub_a
            .room("r")
            .send(&Note {
                text: "probe".into(),
            })
            .await
            .is_err()
    })
    .await;
    assert!(
        hub_a
            .room("r")
            .send(&Note {
                text: "refused".into()
            })
            .await
            .is_err(),
        "sends are refused while the backend is unreachable"
    );
    // the backend comes back at once: a refused send must not be in anything it still processes.
    backend.resume();

    // Once the backend is back, markers get through; nothing refused may arrive before them.
    let deadline = Instant::now() + SETTLE;
    let mut marker = 0;
    loop {
        assert!(
            Instant::now() < deadline,
            "no marker crossed to the other process"
        );
        marker += 1;
        let _ = hub_a
            .room("r")
            .send(&Note {
                text: format!("marker {marker}"),
            })
            .await;
        let next = tokio::time::timeout(Duration::from_millis(200), listener.recv()).await;
        if let Ok(note) = next {
            let text = note["Data"]["text"].as_str().unwrap_or_default().to_owned();
            assert_ne!(text, "refused", "a refused send was delivered later");
            if text.starts_with("marker") {
                break;
            }
        }
    }
    assert!(server_a.shutdown().await.is_ok());
    assert!(server_b.shutdown().await.is_ok());
}

async fn the_publish_queue_is_bounded_in_bytes(engine: Engine) {
    let mut backend = engine.start();
    let prefix = unique_prefix("publish-bytes");
    let bound = bind(
        &backend,
        &Settings {
            publish_queue_bytes: Some(64 * 1024),
            command_timeout: Some(Duration::from_secs(5)),
            ..Settings::prefix(&prefix)
        },
    )
    .await;
    let hub = bound.hub();
    let server = TestServer::serve(bound);

    // A frozen backend answers nothing: what is published waits in the queue.
    backend.pause();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sending = {
        let (hub, sent) = (hub.clone(), sent.clone());
        tokio::spawn(async move {
            let text = "x".repeat(20 * 1024);
            for _ in 0..10 {
                let _ = hub.everyone().send(&Note { text: text.clone() }).await;
                sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        })
    };
    // Three messages of 20 KiB fit in 64 KiB (each holds its bytes until Redis has it); the
    // fourth waits for room.
    let accepted = || sent.load(std::sync::atomic::Ordering::SeqCst);
    wait_for("three messages to be accepted", || accepted() >= 3).await;
    harness::never_within(
        "a fourth message of 20 KiB was accepted into a 64 KiB publish queue",
        Duration::from_millis(300),
        || accepted() > 3,
    )
    .await;
    backend.resume();
    within("the remaining sends", sending)
        .await
        .expect("no panic");
    assert_eq!(sent.load(std::sync::atomic::Ordering::SeqCst), 10);
    assert!(server.shutdown().await.is_ok());
}

async fn the_publish_queue_is_bounded_in_messages(engine: Engine) {
    const QUEUE: usize = 4;
    let mut backend = engine.start();
    let prefix = unique_prefix("publish-messages");
    let bound = bind(
        &backend,
        &Settings {
            publish_queue: Some(QUEUE),
            command_timeout: Some(Duration::from_secs(5)),
            ..Settings::prefix(&prefix)
        },
    )
    .await;
    let hub = bound.hub();
    let server = TestServer::serve(bound);

    // A frozen backend answers nothing: what is published waits in the queue, or in the one
    // batch the publisher has sent (it took what was queued then, at most the queue).
    backend.pause();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sending = {
        let (hub, sent) = (hub.clone(), sent.clone());
        tokio::spawn(async move {
            for _ in 0..40 {
                let _ = hub.everyone().send(&Note { text: "x".into() }).await;
                sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        })
    };
    let accepted = || sent.load(std::sync::atomic::Ordering::SeqCst);
    wait_for("the queue to fill", || accepted() >= QUEUE).await;
    harness::never_within(
        &format!(
            "more than {} messages were accepted with a queue of {QUEUE}",
            2 * QUEUE
        ),
        Duration::from_millis(300),
        || accepted() > 2 * QUEUE,
    )
    .await;
    backend.resume();
    within("the remaining sends", sending)
        .await
        .expect("no panic");
    assert_eq!(accepted(), 40);
    assert!(server.shutdown().await.is_ok());
}
