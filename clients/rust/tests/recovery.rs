//! Connection recovery: a client with `recover(true)` whose connection is cut (no close
//! frame) reconnects by itself, gets its session back with every room message it missed, in
//! order, then new ones; `recoveries()` reports each (re)connection, with gaps when some
//! messages could not be given back.

mod common;

use common::proxy::Proxy;
use common::*;
use exws::recovery::Recovery;
use exws::{handlers, message, Connection, Hub, HubError, Server};
use exws_client::{Client, ReconnectPolicy};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Serialize, Deserialize)]
struct Join {
    room: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Joined {
    room: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Said {
    room: String,
    n: u32,
}

#[message]
async fn join(request: Join, connection: Connection, hub: Hub) -> Result<Joined, HubError> {
    hub.join(connection.id(), &request.room).await?;
    Ok(Joined { room: request.room })
}

fn recovering_server() -> Server {
    Server::with_handlers(handlers![join]).recovery(Recovery::default())
}

/// The next report of a reconnection (skipping that of the first connection, which the
/// subscription may or may not have seen).
async fn next_resume(
    recoveries: &mut exws_client::Subscription<exws_client::Recovered>,
) -> exws_client::Recovered {
    loop {
        let recovered = within(recoveries.recv())
            .await
            .expect("a recovery")
            .expect("decodes");
        if recovered.resumed || recovered.reason.is_some() {
            return recovered;
        }
    }
}

fn fast_reconnect() -> ReconnectPolicy {
    ReconnectPolicy::default()
        .initial_delay(Duration::from_millis(20))
        .max_delay(Duration::from_millis(100))
}

#[tokio::test]
async fn a_cut_connection_resumes_with_every_missed_message_in_order() {
    let bound = within(recovering_server().bind("127.0.0.1:0"))
        .await
        .expect("bind");
    let hub = bound.hub();
    let server_addr = bound.local_addr();
    let _serving = tokio::spawn(std::future::IntoFuture::into_future(bound.serve()));
    let proxy = Proxy::start(server_addr).await;
    let (client, mut events) = within(
        Client::builder(proxy.url())
            .recover(true)
            .reconnect_policy(fast_reconnect())
            .connect_with_events(),
    )
    .await
    .expect("connects");
    let mut recoveries = client.recoveries();
    let first = within(events.recv())
        .await
        .expect("an event")
        .expect("no lag");
    assert_eq!(
        first.message_type, "exws.session",
        "the session comes first"
    );
    for room in ["red", "blue"] {
        let joined: Joined = within(client.call(&Join { room: room.into() }))
            .await
            .expect("joined");
        assert_eq!(joined.room, room);
    }
    let mut said = client.subscribe::<Said>();
    hub.room("red")
        .send(&Said {
            room: "red".into(),
            n: 0,
        })
        .await
        .expect("sent");
    assert_eq!(
        within(said.recv()).await.expect("said").expect("decodes").n,
        0
    );

    proxy.cut();
    let mut state = client.state();
    within(async {
        while state.borrow_and_update().is_online() {
            state.changed().await.expect("state");
        }
    })
    .await;
    for n in 1..=100 {
        for room in ["red", "blue"] {
            hub.room(room)
                .send(&Said {
                    room: room.into(),
                    n,
                })
                .await
                .expect("sent while the client is away");
        }
    }
    proxy.accept();

    let recovered = next_resume(&mut recoveries).await;
    assert!(recovered.resumed && recovered.complete, "{recovered:?}");
    assert!(recovered.gaps.is_empty());
    let mut last = std::collections::HashMap::from([("red".to_owned(), 0), ("blue".to_owned(), 0)]);
    for _ in 0..200 {
        let message = within(said.recv()).await.expect("said").expect("decodes");
        let previous = last.insert(message.room.clone(), message.n);
        assert_eq!(previous, Some(message.n - 1), "in order, once: {message:?}");
    }
    hub.room("blue")
        .send(&Said {
            room: "blue".into(),
            n: 101,
        })
        .await
        .expect("sent");
    let live = within(said.recv()).await.expect("said").expect("decodes");
    assert_eq!(
        live,
        Said {
            room: "blue".into(),
            n: 101
        }
    );
}

#[tokio::test]
async fn a_resume_past_the_history_is_reported_with_its_gap() {
    let limits = exws::history::HistoryLimits::default().max_messages(5);
    let server =
        Server::with_handlers(handlers![join]).recovery(Recovery::default().history(limits));
    let bound = within(server.bind("127.0.0.1:0")).await.expect("bind");
    let hub = bound.hub();
    let server_addr = bound.local_addr();
    let _serving = tokio::spawn(std::future::IntoFuture::into_future(bound.serve()));
    let proxy = Proxy::start(server_addr).await;
    let client = within(
        Client::builder(proxy.url())
            .recover(true)
            .reconnect_policy(fast_reconnect())
            .connect(),
    )
    .await
    .expect("connects");
    let mut recoveries = client.recoveries();
    let _: Joined = within(client.call(&Join { room: "red".into() }))
        .await
        .expect("joined");
    proxy.cut();
    let mut state = client.state();
    within(async {
        while state.borrow_and_update().is_online() {
            state.changed().await.expect("state");
        }
    })
    .await;
    for n in 0..20 {
        hub.room("red")
            .send(&Said {
                room: "red".into(),
                n,
            })
            .await
            .expect("sent");
    }
    proxy.accept();
    let recovered = next_resume(&mut recoveries).await;
    assert!(recovered.resumed && !recovered.complete, "{recovered:?}");
    assert_eq!(recovered.gaps.len(), 1);
    assert_eq!(
        (
            recovered.gaps[0].room.as_str(),
            recovered.gaps[0].reason.as_str()
        ),
        ("red", "evicted")
    );
}
