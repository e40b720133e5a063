//! The in-process test kit (`exws::testing`) as a user would write handler tests with it: a
//! server built as in production (authenticator, state, hooks, hub, heartbeat), virtual
//! clients without a port, typed calls and errors, a room, a stream, and a heartbeat timeout
//! under tokio's paused clock (minutes of server time in milliseconds).

use exws::auth::{Admission, HandshakeRejection};
use exws::testing::{Handshake, KitError, TestServer};
use exws::{
    handlers, message, Connection, DisconnectReason, HandshakeRequest, Hub, HubError, Server,
};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Serialize, Deserialize)]
struct Join {
    room: String,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Joined {
    members: usize,
}

#[message]
async fn join(request: Join, connection: Connection, hub: Hub) -> Result<Joined, HubError> {
    Ok(Joined {
        members: hub.join(connection.id(), &request.room).await?,
    })
}

#[derive(Serialize, Deserialize)]
struct Say {
    room: String,
    text: String,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Said {
    from: String,
    text: String,
}

#[message]
async fn say(request: Say, connection: Connection, hub: Hub) -> Result<(), HubError> {
    let from = connection
        .user_id()
        .map(ToString::to_string)
        .unwrap_or_default();
    hub.room(&request.room)
        .except(connection.id())
        .send(&Said {
            from,
            text: request.text,
        })
        .await
}

#[derive(Serialize, Deserialize)]
struct Divide {
    a: i64,
    b: i64,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Quotient {
    value: i64,
}

#[message]
async fn divide(request: Divide) -> Result<Quotient, String> {
    match request.b {
        0 => Err("division by zero".to_owned()),
        b => Ok(Quotient {
            value: request.a / b,
        }),
    }
}

#[derive(Serialize, Deserialize)]
struct Countdown {
    from: u32,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Tick {
    n: u32,
}

#[message]
async fn countdown(request: Countdown) -> impl Stream<Item = Tick> {
    futures_util::stream::unfold(request.from, |n| async move {
        if n == 0 {
            return None;
        }
        // A second per tick, of the paused clock.
        tokio::time::sleep(Duration::from_secs(1)).await;
        Some((Tick { n }, n - 1))
    })
}

async fn bearer(request: HandshakeRequest) -> Result<Admission, HandshakeRejection> {
    match request
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bearer "))
    {
        Some(user) => Ok(Admission::anonymous().with_user_id(user)),
        None => Err(HandshakeRejection::unauthorized(
            "send Authorization: Bearer <user>",
        )),
    }
}

fn as_user(user: &str) -> Handshake {
    Handshake::new("/").header("Authorization", format!("Bearer {user}"))
}

/// The application's server, as `main` would build it, with a log of disconnects.
fn app(disconnects: &Arc<Mutex<Vec<String>>>) -> Server {
    let log = disconnects.clone();
    Server::with_handlers(handlers![join, say, divide, countdown])
        .authenticator(bearer)
        .heartbeat(Duration::from_secs(30), Duration::from_secs(60))
        .on_disconnect(move |_context, reason: DisconnectReason| {
            let log = log.clone();
            async move {
                log.lock()
                    .unwrap_or_else(|poison| poison.into_inner())
                    .push(reason.label().to_owned());
            }
        })
}

#[tokio::test(start_paused = true)]
async fn a_handler_test_with_the_kit_covers_auth_rooms_streams_and_heartbeats() {
    let disconnects = Arc::new(Mutex::new(Vec::new()));
    let server = TestServer::start(app(&disconnects)).await.expect("builds");

    // Authentication happens at the handshake, as over a socket.
    match server.connect(Handshake::new("/")).await {
        Err(KitError::Refused { status, body }) => {
            assert_eq!(status, 401);
            assert_eq!(body, "send Authorization: Bearer <user>");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let mut ada = server.connect(as_user("ada")).await.expect("ada connects");
    let mut bob = server.connect(as_user("bob")).await.expect("bob connects");

    // Typed calls, and the `Error` a handler's `Err` becomes.
    let quotient: Quotient = ada.call(&Divide { a: 9, b: 3 }).await.expect("answered");
    assert_eq!(quotient, Quotient { value: 3 });
    match ada.call::<_, Quotient>(&Divide { a: 1, b: 0 }).await {
        Err(KitError::Error(error)) => {
            assert_eq!(error.code, exws::ErrorCode::HandlerError);
            assert_eq!(error.message, "division by zero");
        }
        other => panic!("expected handler_error, got {other:?}"),
    }

    // A room: bob hears ada, ada does not hear herself.
    let joined: Joined = ada.call(&Join { room: "r".into() }).await.expect("joined");
    assert_eq!(joined, Joined { members: 1 });
    let joined: Joined = bob.call(&Join { room: "r".into() }).await.expect("joined");
    assert_eq!(joined, Joined { members: 2 });
    ada.send(&Say {
        room: "r".into(),
        text: "hi".into(),
    })
    .await
    .expect("sent");
    let said: Said = bob.recv_as("Said").await.expect("bob hears ada");
    assert_eq!(
        said,
        Said {
            from: "ada".into(),
            text: "hi".into()
        }
    );

    // A stream of three ticks, a second apart on the paused clock.
    let mut ticks = ada.stream(&Countdown { from: 3 }).await.expect("opened");
    let mut seen = Vec::new();
    while let Some(tick) = ticks.next::<Tick>(&mut ada).await {
        seen.push(tick.expect("a tick").n);
    }
    assert_eq!(seen, vec![3, 2, 1]);

    // For two minutes (which pass in no time) ada calls every 20 s, bob stays silent: within
    // the 60 s timeout (and a 30 s tick) the server closes bob's connection, not ada's.
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_secs(20)).await;
        let quotient: Quotient = ada.call(&Divide { a: 8, b: 2 }).await.expect("answered");
        assert_eq!(quotient, Quotient { value: 4 });
    }
    let _ = bob.closed().await;
    assert!(matches!(
        bob.call::<_, Quotient>(&Divide { a: 1, b: 1 }).await,
        Err(KitError::Closed(_) | KitError::WebSocket(_))
    ));
    ada.close(1000, "bye").await.expect("closed");
    server.shutdown().await;
    let mut seen = disconnects
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .clone();
    seen.sort();
    assert_eq!(seen, vec!["client_closed", "heartbeat_timeout"]);
}
