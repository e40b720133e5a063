//! Server-initiated messages: the event stream and typed subscriptions.

mod common;

use common::*;
use exws_client::{Client, Envelope, RecvError};
use futures_util::StreamExt;
use serde_json::{json, Value};

#[tokio::test]
async fn the_event_stream_sees_pushed_messages_and_replies() {
    let server = start().await;
    let client = within(Client::connect(server.url())).await.unwrap();
    let mut events = client.events();
    within(client.send(&StartTicks { count: 3 })).await.unwrap();
    for n in 0..3 {
        let envelope = within(events.recv()).await.unwrap().unwrap();
        assert_eq!(envelope.message_type, "Tick");
        assert_eq!(envelope.data, json!({ "n": n }));
        assert_eq!(envelope.id, None, "pushed messages carry no Id");
    }
    let _: CalculateResponse = within(client.call(&CalculateRequest { numbers: vec![4] }))
        .await
        .unwrap();
    let reply = within(events.recv()).await.unwrap().unwrap();
    assert_eq!(reply.message_type, "CalculateResponse");
    assert!(reply.id.is_some());
    server.stop().await;
}

#[tokio::test]
async fn typed_subscriptions_decode_their_type_only() {
    let server = start().await;
    let client = within(Client::connect(server.url())).await.unwrap();
    let mut ticks = client.subscribe::<Tick>();
    let mut raw_ticks = client.subscribe_raw("Tick");
    let mut values = client.subscribe_as::<Value>("CalculateResponse");
    assert_eq!(ticks.message_type(), "Tick");

    let _: CalculateResponse = within(client.call(&CalculateRequest {
        numbers: vec![1, 1],
    }))
    .await
    .unwrap();
    within(client.send(&StartTicks { count: 2 })).await.unwrap();

    // The reply is not a Tick: the typed subscription skips it.
    assert_eq!(within(ticks.recv()).await.unwrap().unwrap(), Tick { n: 0 });
    assert_eq!(within(ticks.recv()).await.unwrap().unwrap(), Tick { n: 1 });
    let raw: Envelope = within(raw_ticks.recv()).await.unwrap().unwrap();
    assert_eq!(raw.message_type, "Tick");
    assert_eq!(raw.data, json!({"n": 0}));
    assert_eq!(
        within(values.recv()).await.unwrap().unwrap(),
        json!({"result": 2})
    );
    server.stop().await;
}

#[tokio::test]
async fn undecodable_data_is_an_error_item_and_the_subscription_goes_on() {
    let server = start().await;
    let client = within(Client::connect(server.url())).await.unwrap();
    let mut ticks = client.subscribe::<Tick>().into_stream();
    within(client.send(&BadTick {})).await.unwrap();
    match within(ticks.next()).await.unwrap() {
        Err(RecvError::Decode { envelope, .. }) => {
            assert_eq!(envelope.data, json!("not a tick"));
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(within(ticks.next()).await.unwrap().unwrap(), Tick { n: 99 });
    server.stop().await;
}

#[tokio::test]
async fn streams_end_when_the_client_is_gone() {
    let server = start().await;
    let client = within(Client::connect(server.url())).await.unwrap();
    let mut events = client.events();
    let mut ticks = client.subscribe::<Tick>();
    within(client.close()).await;
    drop(client);
    assert!(within(events.recv()).await.is_none());
    assert!(within(ticks.recv()).await.is_none());
    server.stop().await;
}

#[tokio::test]
async fn connect_with_events_misses_nothing() {
    let server = start().await;
    let (client, mut events) = within(Client::builder(server.url()).connect_with_events())
        .await
        .unwrap();
    within(client.send(&StartTicks { count: 1 })).await.unwrap();
    let envelope = within(events.recv()).await.unwrap().unwrap();
    assert_eq!(envelope.message_type, "Tick");
    server.stop().await;
}
