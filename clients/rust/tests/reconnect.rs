//! Disconnections: pending calls fail promptly, the state is watchable, and the client
//! reconnects (with subscriptions intact) to a server restarted on the same address.

mod common;

use common::*;
use exws_client::{CallError, Client, ConnectError, ConnectionState, ReconnectPolicy, SendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

fn fast_reconnect() -> ReconnectPolicy {
    ReconnectPolicy::default()
        .initial_delay(Duration::from_millis(20))
        .max_delay(Duration::from_millis(100))
}

/// Waits until the state satisfies `predicate`; returns every state seen on the way.
async fn wait_state(
    state: &mut watch::Receiver<ConnectionState>,
    seen: &mut Vec<ConnectionState>,
    predicate: impl Fn(&ConnectionState) -> bool,
) {
    within(async {
        loop {
            let current = state.borrow_and_update().clone();
            if seen.last() != Some(&current) {
                seen.push(current.clone());
            }
            if predicate(&current) {
                return;
            }
            state.changed().await.expect("state sender dropped");
        }
    })
    .await
}

#[tokio::test]
async fn pending_calls_fail_promptly_when_the_server_shuts_down() {
    let server = start().await;
    let client = within(
        Client::builder(server.url())
            .call_timeout(Duration::from_secs(30))
            .reconnect(false)
            .connect(),
    )
    .await
    .unwrap();
    let waiting = {
        let client = client.clone();
        // `Silent` never replies: only the disconnect can end this call before 30 s.
        tokio::spawn(async move { client.call::<_, CalculateResponse>(&Silent {}).await })
    };
    within(async {
        while client.pending_calls() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    server.stop().await;
    // `Disconnected`, not `Timeout`: the disconnect ended the call, not its 30 s timeout.
    let result = within(waiting).await.unwrap();
    assert!(matches!(result, Err(CallError::Disconnected)), "{result:?}");
    assert_eq!(client.pending_calls(), 0);
    // A normal close (1001, going away) is Offline, not Error.
    let mut state = client.state();
    let mut seen = Vec::new();
    wait_state(&mut state, &mut seen, |state| !state.is_online()).await;
    assert_eq!(client.current_state(), ConnectionState::Offline);
}

#[tokio::test]
async fn calls_and_sends_fail_fast_while_offline() {
    let server = start().await;
    // A call that waited for a connection would end in `Timeout` after 30 s (past `within`'s
    // limit); failing fast is `Disconnected`.
    let client = within(
        Client::builder(server.url())
            .call_timeout(Duration::from_secs(30))
            .reconnect(false)
            .connect(),
    )
    .await
    .unwrap();
    server.stop().await;
    let mut state = client.state();
    wait_state(&mut state, &mut Vec::new(), |state| !state.is_online()).await;
    let error = within(client.call::<_, CalculateResponse>(&CalculateRequest { numbers: vec![] }))
        .await
        .unwrap_err();
    assert!(matches!(error, CallError::Disconnected), "{error:?}");
    let error = within(client.send(&Silent {})).await.unwrap_err();
    assert!(matches!(error, SendError::Disconnected), "{error:?}");
}

#[tokio::test]
async fn the_client_reconnects_to_a_restarted_server_and_keeps_its_subscriptions() {
    let server = start().await;
    let addr = server.addr;
    let client = within(
        Client::builder(server.url())
            .reconnect_policy(fast_reconnect())
            .connect(),
    )
    .await
    .unwrap();
    let mut state = client.state();
    let mut ticks = client.subscribe::<Tick>();
    let mut events = client.events();
    let mut seen = vec![ConnectionState::Online];
    assert_eq!(*state.borrow_and_update(), ConnectionState::Online);

    server.stop().await;
    // Offline after the server's close, then attempts that fail while nothing listens.
    wait_state(&mut state, &mut seen, |state| {
        matches!(state, ConnectionState::Error(_))
    })
    .await;
    assert!(seen.contains(&ConnectionState::Offline), "{seen:?}");
    assert!(
        matches!(seen.last(), Some(ConnectionState::Error(text)) if !text.is_empty()),
        "{seen:?}"
    );

    let server = start_on(&addr.to_string()).await;
    wait_state(&mut state, &mut seen, ConnectionState::is_online).await;
    assert!(seen.contains(&ConnectionState::Connecting), "{seen:?}");

    let reply: CalculateResponse = within(client.call(&CalculateRequest {
        numbers: vec![20, 22],
    }))
    .await
    .unwrap();
    assert_eq!(reply.result, 42);
    within(client.send(&StartTicks { count: 1 })).await.unwrap();
    assert_eq!(within(ticks.recv()).await.unwrap().unwrap(), Tick { n: 0 });
    // The event stream created before the restart still delivers.
    let mut types = Vec::new();
    for _ in 0..2 {
        types.push(within(events.recv()).await.unwrap().unwrap().message_type);
    }
    assert_eq!(types, vec!["CalculateResponse", "Tick"]);

    within(client.close()).await;
    assert_eq!(client.current_state(), ConnectionState::Offline);
    server.stop().await;
}

#[tokio::test]
async fn reconnection_gives_up_after_max_attempts() {
    let server = start().await;
    let client = within(
        Client::builder(server.url())
            .reconnect_policy(fast_reconnect().max_attempts(Some(2)))
            .connect_timeout(Duration::from_secs(1))
            .connect(),
    )
    .await
    .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let watcher = {
        let seen = seen.clone();
        let mut state = client.state();
        tokio::spawn(async move {
            loop {
                seen.lock().unwrap().push(state.borrow_and_update().clone());
                if state.changed().await.is_err() {
                    return;
                }
            }
        })
    };
    assert!(!client.is_closed());
    server.stop().await;
    // After two failed attempts the connection task stops for good.
    within(client.closed()).await;
    assert!(client.is_closed());
    tokio::time::sleep(Duration::from_millis(100)).await;
    watcher.abort();
    let seen = seen.lock().unwrap().clone();
    let connecting = seen
        .iter()
        .filter(|state| matches!(state, ConnectionState::Connecting))
        .count();
    assert!((1..=2).contains(&connecting), "{seen:?}");
    assert!(
        matches!(client.current_state(), ConnectionState::Error(_)),
        "{seen:?}"
    );
    let error = within(client.call::<_, CalculateResponse>(&Silent {}))
        .await
        .unwrap_err();
    assert!(matches!(error, CallError::Disconnected));
}

#[tokio::test]
async fn connecting_to_nothing_fails_with_a_connect_error() {
    // Bind then drop a listener: its port is (very likely) free and refuses connections.
    let addr = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let error = within(Client::connect(format!("ws://{addr}")))
        .await
        .unwrap_err();
    assert!(matches!(error, ConnectError::Transport(_)), "{error:?}");
    let error = within(Client::connect("http://example.invalid"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ConnectError::InvalidUrl { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_oversized_message_breaks_the_connection() {
    let server = start().await;
    let client = within(
        Client::builder(server.url())
            .max_message_size(1024)
            .reconnect(false)
            .connect(),
    )
    .await
    .unwrap();
    let small: Blob = within(client.call(&Big { size: 100 })).await.unwrap();
    assert_eq!(small.text.len(), 100);
    let error = within(client.call::<_, Blob>(&Big { size: 4096 }))
        .await
        .unwrap_err();
    assert!(matches!(error, CallError::Disconnected), "{error:?}");
    within(client.closed()).await;
    assert!(
        matches!(client.current_state(), ConnectionState::Error(_)),
        "{:?}",
        client.current_state()
    );
    server.stop().await;
}
