//! Calls against a real in-process exws server: typed replies, Id matching, errors, timeouts.

mod common;

use common::*;
use exws_client::{CallError, CallOptions, Client, ErrorCode, Id};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn call_returns_the_typed_reply() {
    let server = start().await;
    let client = within(Client::connect(server.url())).await.unwrap();
    let reply: CalculateResponse = within(client.call(&CalculateRequest {
        numbers: vec![2, 2],
    }))
    .await
    .unwrap();
    assert_eq!(reply, CalculateResponse { result: 4 });
    assert_eq!(client.pending_calls(), 0);
    within(client.close()).await;
    server.stop().await;
}

#[tokio::test]
async fn the_reply_carries_the_id_of_the_call() {
    let server = start().await;
    let client = within(Client::connect(server.url())).await.unwrap();
    let mut events = client.events();
    let reply = within(client.call_raw_with(
        "CalculateRequest",
        json!({"numbers": [1, 2]}),
        CallOptions::new().id("req-7"),
    ))
    .await
    .unwrap();
    assert_eq!(reply.message_type, "CalculateResponse");
    assert_eq!(reply.data, json!({"result": 3}));
    assert_eq!(reply.id, Some(Id::Str("req-7".into())));

    // Generated ids are integers, and the reply (also seen on the event stream) echoes them.
    let _: CalculateResponse = within(client.call(&CalculateRequest { numbers: vec![5] }))
        .await
        .unwrap();
    let first = within(events.recv()).await.unwrap().unwrap();
    let second = within(events.recv()).await.unwrap().unwrap();
    assert_eq!(first.id, Some(Id::Str("req-7".into())));
    assert!(matches!(second.id, Some(Id::Int(_))), "{second:?}");
    assert_eq!(second.data, json!({"result": 5}));
    server.stop().await;
}

#[tokio::test]
async fn concurrent_calls_are_matched_by_id_even_out_of_order() {
    let server = start().await;
    let client = within(Client::connect(server.url())).await.unwrap();
    let mut events = client.events();
    // The first request is the slowest: the server (concurrent) answers it last.
    let delays = [800u64, 100, 500, 0, 300];
    let calls = delays.into_iter().enumerate().map(|(tag, delay_ms)| {
        let client = client.clone();
        async move {
            let request = SlowEcho {
                tag: tag as u32,
                delay_ms,
            };
            let reply: Echoed = client.call(&request).await.unwrap();
            (tag as u32, reply.tag)
        }
    });
    let results = within(futures_util::future::join_all(calls)).await;
    for (sent, received) in &results {
        assert_eq!(sent, received, "a reply went to the wrong call");
    }
    assert_eq!(results.len(), delays.len());
    // Prove the replies really arrived out of request order.
    let mut arrival = Vec::new();
    for _ in 0..delays.len() {
        let envelope = within(events.recv()).await.unwrap().unwrap();
        arrival.push(envelope.data["tag"].as_u64().unwrap());
    }
    assert_eq!(arrival, vec![3, 1, 4, 2, 0]);
    server.stop().await;
}

#[tokio::test]
async fn unknown_types_become_typed_server_errors() {
    let server = start().await;
    let client = within(Client::connect(server.url())).await.unwrap();
    let error = within(client.call_as::<_, CalculateResponse>("Nope", &json!({})))
        .await
        .unwrap_err();
    match error {
        CallError::Server {
            code,
            message,
            message_type,
        } => {
            assert_eq!(code, ErrorCode::UnknownType);
            assert!(message.contains("Nope"), "{message}");
            assert_eq!(message_type.as_deref(), Some("Nope"));
        }
        other => panic!("expected a server error, got {other:?}"),
    }
    // The connection stays usable.
    let reply: CalculateResponse = within(client.call(&CalculateRequest { numbers: vec![1] }))
        .await
        .unwrap();
    assert_eq!(reply.result, 1);
    server.stop().await;
}

#[tokio::test]
async fn handler_errors_become_typed_server_errors() {
    let server = start().await;
    let client = within(Client::connect(server.url())).await.unwrap();
    let error = within(client.call_as::<_, CalculateResponse>("calc.fail", &FailRequest {}))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(&ErrorCode::HandlerError));
    assert!(error.to_string().contains("boom"), "{error}");
    server.stop().await;
}

#[tokio::test]
async fn invalid_data_is_reported_by_the_server() {
    let server = start().await;
    let client = within(Client::connect(server.url())).await.unwrap();
    let error = within(client.call_raw("CalculateRequest", json!({"numbers": "two"})))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(&ErrorCode::InvalidData));
    server.stop().await;
}

#[tokio::test]
async fn a_reply_of_another_type_is_a_typed_error() {
    let server = start().await;
    let client = within(Client::connect(server.url())).await.unwrap();
    // The calculator answers `CalculateResponse`, not `Echoed`.
    let error = within(client.call::<_, Echoed>(&CalculateRequest { numbers: vec![1] }))
        .await
        .unwrap_err();
    match error {
        CallError::UnexpectedType {
            expected,
            actual,
            data,
        } => {
            assert_eq!(expected, "Echoed");
            assert_eq!(actual, "CalculateResponse");
            assert_eq!(data, json!({"result": 1}));
        }
        other => panic!("expected UnexpectedType, got {other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn a_handler_without_reply_makes_the_call_time_out() {
    let server = start().await;
    let client = within(
        Client::builder(server.url())
            .call_timeout(Duration::from_millis(300))
            .connect(),
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let error = within(client.call::<_, CalculateResponse>(&Silent {}))
        .await
        .unwrap_err();
    assert!(
        matches!(error, CallError::Timeout(after) if after == Duration::from_millis(300)),
        "{error:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        client.pending_calls(),
        0,
        "the timed-out call was not cleaned up"
    );
    // A per-call timeout overrides the client's.
    let error = within(client.call_raw_with(
        "Silent",
        json!({}),
        CallOptions::new().timeout(Duration::from_millis(50)),
    ))
    .await
    .unwrap_err();
    assert!(matches!(error, CallError::Timeout(after) if after == Duration::from_millis(50)));
    server.stop().await;
}

#[tokio::test]
async fn a_duplicate_explicit_id_is_refused() {
    let server = start().await;
    let client = within(Client::connect(server.url())).await.unwrap();
    let waiting = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .call_raw_with(
                    "SlowEcho",
                    json!({"tag": 1, "delay_ms": 300}),
                    CallOptions::new().id(42),
                )
                .await
        })
    };
    // Wait until the first call is registered.
    within(async {
        while client.pending_calls() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let error = within(client.call_raw_with("Silent", json!({}), CallOptions::new().id(42)))
        .await
        .unwrap_err();
    assert!(
        matches!(error, CallError::DuplicateId(Id::Int(42))),
        "{error:?}"
    );
    let reply = within(waiting).await.unwrap().unwrap();
    assert_eq!(reply.data, json!({"tag": 1}));
    server.stop().await;
}

#[tokio::test]
async fn fire_and_forget_sends_reach_the_server() {
    let server = start().await;
    let client = within(Client::connect(server.url())).await.unwrap();
    let mut ticks = client.subscribe::<Tick>();
    within(client.send(&StartTicks { count: 2 })).await.unwrap();
    assert_eq!(within(ticks.recv()).await.unwrap().unwrap(), Tick { n: 0 });
    within(client.send_as("StartTicks", &json!({"count": 1})))
        .await
        .unwrap();
    // The server handles messages concurrently: the two remaining ticks may come in any order.
    let mut rest = vec![
        within(ticks.recv()).await.unwrap().unwrap().n,
        within(ticks.recv()).await.unwrap().unwrap().n,
    ];
    rest.sort_unstable();
    assert_eq!(rest, vec![0, 1]);
    server.stop().await;
}
