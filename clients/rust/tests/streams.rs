//! Streams against a real in-process exws server whose handlers return streams: items in order,
//! the end, cancelling by drop (the server's producer stops), errors, limits, a lost connection
//! and a reader that falls behind.

mod common;

use common::*;
use exws::{handlers, message, Connection, Server, State};
use exws_client::{Client, ErrorCode, Id, ReconnectPolicy, StreamError, StreamOptions};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// `Tick {n}` for n = from down to 1, one every `interval_ms`, then `StreamEnd`.
#[derive(Debug, Serialize, Deserialize)]
struct Countdown {
    from: u32,
    interval_ms: u64,
}

#[message]
async fn countdown(request: Countdown) -> impl Stream<Item = Tick> {
    let interval = Duration::from_millis(request.interval_ms);
    futures_util::stream::unfold(request.from, move |n| async move {
        if n == 0 {
            return None;
        }
        tokio::time::sleep(interval).await;
        Some((Tick { n }, n - 1))
    })
}

/// `Tick {n}` for n = 1, 2, 3, ... until cancelled; the producer reports into [`Producers`].
#[derive(Debug, Serialize, Deserialize)]
struct Forever {
    interval_ms: u64,
}

/// What the `Forever` producers did, observed by the tests.
#[derive(Clone)]
struct Producers {
    /// Items produced, by every stream.
    produced: Arc<AtomicU32>,
    /// How many producers were dropped (cancelled, or their connection closed).
    dropped: Arc<watch::Sender<u32>>,
}

impl Producers {
    fn new() -> Self {
        Producers {
            produced: Arc::default(),
            dropped: Arc::new(watch::channel(0).0),
        }
    }

    fn produced(&self) -> u32 {
        self.produced.load(Ordering::SeqCst)
    }

    fn dropped(&self) -> u32 {
        *self.dropped.borrow()
    }

    async fn wait_dropped(&self, count: u32) {
        let mut dropped = self.dropped.subscribe();
        within(dropped.wait_for(|dropped| *dropped >= count))
            .await
            .expect("the sender lives in self");
    }
}

/// Lives in a producer's state: counts the producer as dropped when it goes.
struct DropGuard(Producers);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.dropped.send_modify(|dropped| *dropped += 1);
    }
}

#[message]
async fn forever(request: Forever, State(producers): State<Producers>) -> impl Stream<Item = Tick> {
    let interval = Duration::from_millis(request.interval_ms);
    let guard = DropGuard(producers);
    futures_util::stream::unfold((1, guard), move |(n, guard)| async move {
        tokio::time::sleep(interval).await;
        guard.0.produced.fetch_add(1, Ordering::SeqCst);
        Some((Tick { n }, (n + 1, guard)))
    })
}

/// `Tick {n}` for n = 1..=after, then an error.
#[derive(Debug, Serialize, Deserialize)]
struct Explode {
    after: u32,
}

#[message]
async fn explode(request: Explode) -> impl Stream<Item = Result<Tick, String>> {
    let items = (1..=request.after).map(|n| Ok(Tick { n }));
    futures_util::stream::iter(items.chain(std::iter::once(Err("exploded".to_owned()))))
}

/// Closes the caller's connection.
#[derive(Debug, Serialize, Deserialize)]
struct Kick {}

#[message]
async fn kick(_request: Kick, conn: Connection) {
    conn.close();
}

async fn start_streams(max_streams: usize) -> (Running, Producers) {
    let producers = Producers::new();
    let server = Server::with_handlers(handlers![countdown, forever, explode, kick, calculate])
        .with_state(producers.clone())
        .max_streams(max_streams)
        .shutdown_timeout(Duration::from_millis(500))
        .close_timeout(Duration::from_millis(500));
    (start_server(server, "127.0.0.1:0").await, producers)
}

async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    within(stream.next()).await
}

/// Waits until the client holds no stream (every end confirmed by the server).
async fn no_open_streams(client: &Client) {
    within(async {
        while client.open_streams() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

async fn sum(client: &Client, numbers: Vec<i64>) -> i64 {
    let reply: CalculateResponse = within(client.call(&CalculateRequest { numbers }))
        .await
        .expect("the calculator answers");
    reply.result
}

#[tokio::test]
async fn items_arrive_in_order_with_the_id_then_the_stream_ends() {
    let (server, _) = start_streams(64).await;
    let client = within(Client::connect(server.url())).await.unwrap();

    let ticks = within(client.stream::<_, Tick>(&Countdown {
        from: 5,
        interval_ms: 1,
    }))
    .await
    .unwrap();
    let items: Vec<u32> = within(ticks.map(|tick| tick.expect("a tick").n).collect()).await;
    assert_eq!(items, vec![5, 4, 3, 2, 1]);
    assert_eq!(client.open_streams(), 0, "StreamEnd freed the Id");

    // The raw form shows every item's Type and Id; a call interleaves on the same connection.
    let mut raw = within(client.stream_raw_with(
        "Countdown",
        json!({"from": 3, "interval_ms": 20}),
        StreamOptions::new().id("count-1"),
    ))
    .await
    .unwrap();
    assert_eq!(raw.id(), &Id::from("count-1"));
    let first = next(&mut raw).await.unwrap().unwrap();
    assert_eq!(sum(&client, vec![2, 2]).await, 4);
    let mut envelopes = vec![first];
    while let Some(item) = next(&mut raw).await {
        envelopes.push(item.unwrap());
    }
    assert_eq!(
        envelopes
            .iter()
            .map(|envelope| (envelope.message_type.as_str(), envelope.data["n"].as_u64()))
            .collect::<Vec<_>>(),
        vec![("Tick", Some(3)), ("Tick", Some(2)), ("Tick", Some(1))]
    );
    assert!(envelopes
        .iter()
        .all(|envelope| envelope.id == Some(Id::from("count-1"))));
    assert!(raw.is_finished());
    assert!(next(&mut raw).await.is_none(), "nothing after the end");
    server.stop().await;
}

#[tokio::test]
async fn dropping_a_stream_cancels_it_and_the_producer_stops() {
    let (server, producers) = start_streams(64).await;
    let client = within(Client::connect(server.url())).await.unwrap();
    let mut ticks = within(client.stream::<_, Tick>(&Forever { interval_ms: 5 }))
        .await
        .unwrap();
    for expected in 1..=3 {
        assert_eq!(next(&mut ticks).await.unwrap().unwrap().n, expected);
    }
    assert_eq!(
        producers.dropped(),
        0,
        "the producer runs while the stream is read"
    );
    drop(ticks);

    // The cancel reached the server: it dropped the producer and confirmed with StreamEnd.
    producers.wait_dropped(1).await;
    no_open_streams(&client).await;
    let produced = producers.produced();
    // A round trip later (the Forever producer would have made more by now), no more items.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(sum(&client, vec![1]).await, 1);
    assert_eq!(
        producers.produced(),
        produced,
        "the producer's code stopped running"
    );
    server.stop().await;
}

#[tokio::test]
async fn cancel_returns_once_the_server_has_stopped_the_producer() {
    let (server, producers) = start_streams(64).await;
    let client = within(Client::connect(server.url())).await.unwrap();
    let mut ticks = within(client.stream::<_, Tick>(&Forever { interval_ms: 2 }))
        .await
        .unwrap();
    assert_eq!(next(&mut ticks).await.unwrap().unwrap().n, 1);
    within(ticks.cancel()).await.expect("cancelled cleanly");
    // The server drops the producer before it sends StreamEnd.
    assert_eq!(producers.dropped(), 1);
    assert_eq!(client.open_streams(), 0);

    // Cancelling a stream that already ended is fine too.
    let mut short = within(client.stream::<_, Tick>(&Countdown {
        from: 1,
        interval_ms: 0,
    }))
    .await
    .unwrap();
    assert_eq!(next(&mut short).await.unwrap().unwrap().n, 1);
    assert!(next(&mut short).await.is_none());
    within(short.cancel()).await.expect("nothing to cancel");
    server.stop().await;
}

#[tokio::test]
async fn an_error_item_ends_the_stream_with_a_typed_error() {
    let (server, _) = start_streams(64).await;
    let client = within(Client::connect(server.url())).await.unwrap();
    let mut items = within(client.stream::<_, Tick>(&Explode { after: 2 }))
        .await
        .unwrap();
    assert_eq!(next(&mut items).await.unwrap().unwrap().n, 1);
    assert_eq!(next(&mut items).await.unwrap().unwrap().n, 2);
    match next(&mut items).await {
        Some(Err(StreamError::Server {
            code,
            message,
            message_type,
        })) => {
            assert_eq!(code, ErrorCode::HandlerError);
            assert_eq!(message, "exploded");
            assert_eq!(message_type.as_deref(), Some("Explode"));
        }
        other => panic!("expected the server's error, got {other:?}"),
    }
    assert!(
        next(&mut items).await.is_none(),
        "the error ended the stream"
    );
    assert_eq!(client.open_streams(), 0);

    // An unknown Type is answered with an Error carrying the Id: the stream's only item.
    let mut unknown = within(client.stream_as::<_, Tick>("NoSuchStream", &json!({})))
        .await
        .unwrap();
    let error = next(&mut unknown).await.unwrap().unwrap_err();
    assert_eq!(error.code(), Some(&ErrorCode::UnknownType), "{error}");
    assert!(error.ends_stream());
    assert!(next(&mut unknown).await.is_none());

    // Items whose Data does not fit are reported, and the stream goes on.
    let mut odd = within(client.stream::<_, String>(&Countdown {
        from: 2,
        interval_ms: 0,
    }))
    .await
    .unwrap();
    for _ in 0..2 {
        let error = next(&mut odd).await.unwrap().unwrap_err();
        assert!(matches!(error, StreamError::Decode { .. }), "{error}");
        assert!(!error.ends_stream());
    }
    assert!(next(&mut odd).await.is_none());
    server.stop().await;
}

#[tokio::test]
async fn too_many_streams_is_a_typed_error_and_the_open_ones_go_on() {
    let (server, _) = start_streams(2).await;
    let client = within(Client::connect(server.url())).await.unwrap();
    let mut a = within(client.stream::<_, Tick>(&Forever { interval_ms: 5 }))
        .await
        .unwrap();
    let mut b = within(client.stream::<_, Tick>(&Forever { interval_ms: 5 }))
        .await
        .unwrap();
    // Both are open on the server once each has sent an item.
    assert_eq!(next(&mut a).await.unwrap().unwrap().n, 1);
    assert_eq!(next(&mut b).await.unwrap().unwrap().n, 1);
    let mut c = within(client.stream::<_, Tick>(&Forever { interval_ms: 5 }))
        .await
        .unwrap();
    let error = next(&mut c).await.unwrap().unwrap_err();
    assert_eq!(error.code(), Some(&ErrorCode::TooManyStreams), "{error}");
    assert!(next(&mut c).await.is_none());
    assert_eq!(next(&mut a).await.unwrap().unwrap().n, 2);
    assert_eq!(next(&mut b).await.unwrap().unwrap().n, 2);
    server.stop().await;
}

#[tokio::test]
async fn explicit_ids_in_use_are_refused_locally() {
    let (server, _) = start_streams(64).await;
    let client = within(Client::connect(server.url())).await.unwrap();
    let open = within(client.stream_raw_with(
        "Forever",
        json!({"interval_ms": 5}),
        StreamOptions::new().id(7),
    ))
    .await
    .unwrap();
    let again = within(client.stream_raw_with(
        "Forever",
        json!({"interval_ms": 5}),
        StreamOptions::new().id(7),
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(again, StreamError::DuplicateId(Id::Int(7))),
        "{again}"
    );
    let call = within(client.call_raw_with(
        "CalculateRequest",
        json!({"numbers": [1]}),
        exws_client::CallOptions::new().id(7),
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(call, exws_client::CallError::DuplicateId(Id::Int(7))),
        "{call}"
    );
    // Once the server confirmed the cancel, the Id is free again.
    within(open.cancel()).await.unwrap();
    let mut reused = within(client.stream_raw_with(
        "Countdown",
        json!({"from": 1, "interval_ms": 0}),
        StreamOptions::new().id(7),
    ))
    .await
    .unwrap();
    assert_eq!(
        next(&mut reused).await.unwrap().unwrap().data,
        json!({"n": 1})
    );
    server.stop().await;
}

#[tokio::test]
async fn a_lost_connection_ends_open_streams_with_disconnected_and_nothing_resubscribes() {
    let (server, producers) = start_streams(64).await;
    let client = within(
        Client::builder(server.url())
            .reconnect_policy(
                ReconnectPolicy::default()
                    .initial_delay(Duration::from_millis(20))
                    .max_delay(Duration::from_millis(100)),
            )
            .connect(),
    )
    .await
    .unwrap();
    let mut ticks = within(client.stream::<_, Tick>(&Forever { interval_ms: 5 }))
        .await
        .unwrap();
    assert_eq!(next(&mut ticks).await.unwrap().unwrap().n, 1);
    within(client.send(&Kick {})).await.unwrap();
    let error = loop {
        match next(&mut ticks).await {
            Some(Ok(_)) => {}
            Some(Err(error)) => break error,
            None => panic!("the stream ended without an error"),
        }
    };
    assert!(matches!(error, StreamError::Disconnected), "{error}");
    assert!(next(&mut ticks).await.is_none());
    // The server dropped the producer with the connection; the client came back without
    // reopening the stream.
    producers.wait_dropped(1).await;
    let mut state = client.state();
    within(state.wait_for(|state| state.is_online()))
        .await
        .unwrap();
    assert_eq!(sum(&client, vec![3, 4]).await, 7);
    assert_eq!(client.open_streams(), 0);
    assert_eq!(producers.dropped(), 1);
    assert!(next(&mut ticks).await.is_none());

    // A stream opened while offline fails at once.
    client.close().await;
    let offline = within(client.stream::<_, Tick>(&Forever { interval_ms: 5 }))
        .await
        .unwrap_err();
    assert!(matches!(offline, StreamError::Disconnected), "{offline}");
    server.stop().await;
}

#[tokio::test]
async fn a_reader_that_falls_behind_gets_overflow_and_the_stream_is_cancelled() {
    let (server, producers) = start_streams(64).await;
    let client = within(Client::connect(server.url())).await.unwrap();
    let mut ticks = within(client.stream_raw_with(
        "Forever",
        json!({"interval_ms": 0}),
        StreamOptions::new().capacity(4),
    ))
    .await
    .unwrap();
    // Nothing is read: the fifth item overflows the queue, and the client cancels.
    producers.wait_dropped(1).await;
    no_open_streams(&client).await;
    // The connection was never blocked by the full stream.
    assert_eq!(sum(&client, vec![5, 5]).await, 10);
    for expected in 1..=4 {
        let item = next(&mut ticks).await.unwrap().unwrap();
        assert_eq!(item.data, json!({"n": expected}));
    }
    let error = next(&mut ticks).await.unwrap().unwrap_err();
    assert!(
        matches!(error, StreamError::Overflow { capacity: 4 }),
        "{error}"
    );
    assert!(next(&mut ticks).await.is_none());
    server.stop().await;
}
