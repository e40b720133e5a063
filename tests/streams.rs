//! Streams over real sockets: items in order with the request's `Id`, `StreamEnd`, errors that
//! end a stream, cancellation that stops the producer, `duplicate_id`, `too_many_streams`, a
//! stream request without `Id`, a slow reader of a fast stream, a stream beside 1,000 pipelined
//! calls in sequential mode, and every stream ending with its connection and its server.

mod harness;

use exws::{handlers, message, Connection, Hub, HubError, RoomSubscription, Server, State};
use futures_util::Stream;
use harness::{wait_for, within, Client, TestServer};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Deserialize)]
struct CalculateRequest {
    numbers: Vec<i64>,
}

#[derive(Serialize)]
struct CalculateResponse {
    result: i64,
}

#[message]
async fn calculate(request: CalculateRequest) -> CalculateResponse {
    CalculateResponse {
        result: request.numbers.iter().sum(),
    }
}

#[derive(Deserialize)]
struct Countdown {
    from: u32,
}

#[derive(Serialize)]
struct Tick {
    n: u32,
}

/// `from` down to 1, at once.
#[message]
async fn countdown(
    request: Countdown,
    State(counters): State<Counters>,
) -> impl Stream<Item = Tick> {
    counters.calls.fetch_add(1, Ordering::SeqCst);
    futures_util::stream::iter((1..=request.from).rev().map(|n| Tick { n }))
}

/// What the producers did, observed from the test.
#[derive(Clone, Default)]
struct Counters {
    /// Handler calls.
    calls: Arc<AtomicU64>,
    /// Items produced by `Forever` producers, all together.
    produced: Arc<AtomicU64>,
    /// `Forever` producers that stopped (their stream was dropped).
    stopped: Arc<AtomicU64>,
}

struct CountsStop(Arc<AtomicU64>);

impl Drop for CountsStop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Deserialize)]
struct Forever {
    interval_ms: u64,
}

/// 1, 2, 3... every interval, forever: its code runs inside the stream, so dropping the
/// stream stops it.
#[message]
async fn forever(request: Forever, State(counters): State<Counters>) -> impl Stream<Item = Tick> {
    let interval = Duration::from_millis(request.interval_ms);
    let stop = CountsStop(counters.stopped.clone());
    futures_util::stream::unfold((1u32, stop), move |(n, stop)| {
        let produced = counters.produced.clone();
        async move {
            if !interval.is_zero() {
                tokio::time::sleep(interval).await;
            }
            produced.fetch_add(1, Ordering::SeqCst);
            Some((Tick { n }, (n + 1, stop)))
        }
    })
}

#[derive(Deserialize)]
struct Fragile {
    fail_at: u32,
}

/// Items 1, 2, ... until `fail_at`, which is an error.
#[message]
async fn fragile(request: Fragile) -> impl Stream<Item = Result<Tick, String>> {
    futures_util::stream::iter((1..=request.fail_at).map(move |n| {
        if n == request.fail_at {
            Err(format!("tick {n} failed"))
        } else {
            Ok(Tick { n })
        }
    }))
}

#[derive(Deserialize)]
struct Progress {
    steps: u32,
}

#[derive(Serialize)]
struct Step {
    done: u32,
    of: u32,
}

/// A background job reports its progress through a sender; dropping it ends the stream.
#[message]
async fn progress(request: Progress) -> impl Stream<Item = Step> {
    let (sender, items) = exws::stream::channel(4);
    tokio::spawn(async move {
        for done in 1..=request.steps {
            if sender
                .send(Step {
                    done,
                    of: request.steps,
                })
                .await
                .is_err()
            {
                return;
            }
        }
    });
    items
}

#[derive(Deserialize)]
struct Subscribe {
    room: String,
}

/// The room's messages as a stream.
#[message]
async fn subscribe(
    request: Subscribe,
    connection: Connection,
    hub: Hub,
) -> Result<RoomSubscription, HubError> {
    hub.subscribe(&connection, &request.room).await
}

#[derive(Deserialize)]
struct Flood {
    room: String,
    count: u32,
}

#[derive(Serialize)]
struct Note {
    n: u32,
}

#[derive(Serialize)]
struct Flooded {
    sent: u32,
}

/// Sends `count` notes to the room in one go: faster than any subscription's stream can take
/// them.
#[message]
async fn flood(request: Flood, hub: Hub) -> Result<Flooded, HubError> {
    for n in 1..=request.count {
        hub.room(&request.room).send(&Note { n }).await?;
    }
    Ok(Flooded {
        sent: request.count,
    })
}

fn server(counters: &Counters) -> Server {
    Server::with_handlers(handlers![
        calculate, countdown, forever, fragile, progress, subscribe, flood
    ])
    .with_state(counters.clone())
}

/// Reads envelopes until one with `Type` `until` and `Id` `id`; returns everything before it.
async fn read_until(client: &mut Client, until: &str, id: &Value) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let envelope = client.recv().await;
        if envelope["Type"] == until && &envelope["Id"] == id {
            return seen;
        }
        seen.push(envelope);
    }
}

#[tokio::test]
async fn items_arrive_in_order_with_the_requests_id_then_stream_end() {
    let counters = Counters::default();
    let server = TestServer::start(server(&counters)).await;
    let mut client = server.connect().await;
    client
        .send_json(&json!({"Type": "Countdown", "Data": {"from": 3}, "Id": "c-1"}))
        .await;
    for n in [3, 2, 1] {
        assert_eq!(
            client.recv().await,
            json!({"Type": "Tick", "Data": {"n": n}, "Id": "c-1"})
        );
    }
    assert_eq!(
        client.recv().await,
        json!({"Type": "StreamEnd", "Id": "c-1"})
    );
    // The Id is free again once the stream has ended.
    client
        .send_json(&json!({"Type": "Countdown", "Data": {"from": 1}, "Id": "c-1"}))
        .await;
    assert_eq!(client.recv().await["Data"]["n"], 1);
    assert_eq!(client.recv().await["Type"], "StreamEnd");

    // A sender fed by a background task: every step, then the end when it is dropped.
    client
        .send_json(&json!({"Type": "Progress", "Data": {"steps": 5}, "Id": 9}))
        .await;
    let steps = read_until(&mut client, "StreamEnd", &json!(9)).await;
    let done: Vec<Value> = steps
        .iter()
        .map(|step| step["Data"]["done"].clone())
        .collect();
    assert_eq!(done, vec![json!(1), json!(2), json!(3), json!(4), json!(5)]);
    assert!(steps
        .iter()
        .all(|step| step["Type"] == "Step" && step["Id"] == 9));
}

#[tokio::test]
async fn an_error_item_sends_one_error_with_the_id_and_ends_the_stream() {
    let counters = Counters::default();
    let server = TestServer::start(server(&counters)).await;
    let mut client = server.connect().await;
    client
        .send_json(&json!({"Type": "Fragile", "Data": {"fail_at": 3}, "Id": 5}))
        .await;
    assert_eq!(client.recv().await["Data"]["n"], 1);
    assert_eq!(client.recv().await["Data"]["n"], 2);
    let error = client.recv().await;
    assert_eq!(
        error,
        json!({"Type": "Error", "Data": {"code": "handler_error", "message": "tick 3 failed", "type": "Fragile"}, "Id": 5})
    );
    // No StreamEnd follows: the next message answers the next request.
    let reply = client
        .call("CalculateRequest", json!({"numbers": [1, 1]}))
        .await;
    assert_eq!(reply["Data"]["result"], 2);
}

#[tokio::test]
async fn a_cancel_stops_the_producer_and_is_answered_with_stream_end() {
    let counters = Counters::default();
    let server = TestServer::start(server(&counters)).await;
    let mut client = server.connect().await;
    client
        .send_json(&json!({"Type": "Forever", "Data": {"interval_ms": 5}, "Id": 1}))
        .await;
    for n in 1..=3 {
        assert_eq!(client.recv().await["Data"]["n"], n);
    }
    client
        .send_json(&json!({"Type": "StreamCancel", "Id": 1}))
        .await;
    // Items already queued may come first; then the end, and nothing more.
    let before_end = read_until(&mut client, "StreamEnd", &json!(1)).await;
    assert!(before_end.iter().all(|item| item["Type"] == "Tick"));
    wait_for("the producer to stop", || {
        counters.stopped.load(Ordering::SeqCst) == 1
    })
    .await;
    let produced = counters.produced.load(Ordering::SeqCst);
    // A later marker instead of a pause: the next frame after `StreamEnd` is the answer to a
    // request sent now, not a `Tick`, and the producer made nothing meanwhile.
    client.assert_alive().await;
    assert_eq!(
        counters.produced.load(Ordering::SeqCst),
        produced,
        "the producer's code ran after the cancel"
    );

    // A cancel of an Id with no open stream (or crossing the end) is ignored.
    client
        .send_json(&json!({"Type": "StreamCancel", "Id": 1}))
        .await;
    client
        .send_json(&json!({"Type": "StreamCancel", "Id": "never"}))
        .await;
    let reply = client
        .call("CalculateRequest", json!({"numbers": [2, 3]}))
        .await;
    assert_eq!(reply["Data"]["result"], 5, "nothing answered the cancels");
    // Without an Id a cancel cannot say what to cancel.
    client.send_json(&json!({"Type": "StreamCancel"})).await;
    let error = client.expect_error("invalid_envelope").await;
    assert_eq!(error["Data"]["type"], "StreamCancel");
}

#[tokio::test]
async fn a_duplicate_id_is_refused_and_the_open_stream_goes_on() {
    let counters = Counters::default();
    let server = TestServer::start(server(&counters)).await;
    let mut client = server.connect().await;
    client
        .send_json(&json!({"Type": "Forever", "Data": {"interval_ms": 5}, "Id": 7}))
        .await;
    assert_eq!(client.recv().await["Data"]["n"], 1);
    client
        .send_json(&json!({"Type": "Countdown", "Data": {"from": 2}, "Id": 7}))
        .await;
    let mut saw_error = false;
    let mut last_tick = 1;
    while !saw_error || last_tick < 5 {
        let envelope = client.recv().await;
        match envelope["Type"].as_str() {
            Some("Error") => {
                assert_eq!(envelope["Data"]["code"], "duplicate_id");
                assert_eq!(envelope["Id"], 7);
                saw_error = true;
            }
            Some("Tick") => {
                let n = envelope["Data"]["n"].as_u64().unwrap_or_default();
                assert_eq!(n, last_tick + 1, "the open stream's items go on in order");
                last_tick = n;
            }
            _ => panic!("unexpected {envelope}"),
        }
    }
    // The countdown's handler ran, but its stream was never polled.
    assert_eq!(counters.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_connection_holds_at_most_max_streams() {
    let counters = Counters::default();
    let server = TestServer::start(server(&counters).max_streams(2)).await;
    let mut client = server.connect().await;
    for id in [1, 2] {
        client
            .send_json(&json!({"Type": "Forever", "Data": {"interval_ms": 50}, "Id": id}))
            .await;
    }
    client
        .send_json(&json!({"Type": "Forever", "Data": {"interval_ms": 50}, "Id": 3}))
        .await;
    let refused = loop {
        let envelope = client.recv().await;
        if envelope["Type"] == "Error" {
            break envelope;
        }
    };
    assert_eq!(refused["Data"]["code"], "too_many_streams");
    assert_eq!(refused["Id"], 3);
    // Once one ends, another may open.
    client
        .send_json(&json!({"Type": "StreamCancel", "Id": 1}))
        .await;
    read_until(&mut client, "StreamEnd", &json!(1)).await;
    client
        .send_json(&json!({"Type": "Countdown", "Data": {"from": 1}, "Id": 4}))
        .await;
    let items = read_until(&mut client, "StreamEnd", &json!(4)).await;
    assert!(items.iter().any(|item| item["Id"] == 4));
}

#[tokio::test]
async fn a_stream_request_without_id_is_refused_before_the_handler_runs() {
    let counters = Counters::default();
    let server = TestServer::start(server(&counters)).await;
    let mut client = server.connect().await;
    client
        .send_json(&json!({"Type": "Countdown", "Data": {"from": 3}}))
        .await;
    let error = client.expect_error("invalid_envelope").await;
    assert_eq!(error["Data"]["type"], "Countdown");
    assert!(harness::error_message(&error).contains("Id"), "{error}");
    assert_eq!(counters.calls.load(Ordering::SeqCst), 0);
    client.assert_alive().await;
}

#[tokio::test]
async fn a_stream_runs_beside_a_thousand_pipelined_calls_in_sequential_mode() {
    let counters = Counters::default();
    let server = TestServer::start(server(&counters)).await;
    let mut client = server.connect().await;
    client
        .send_json(&json!({"Type": "Forever", "Data": {"interval_ms": 1}, "Id": "s"}))
        .await;
    for id in 0..1000 {
        client
            .feed_text(
                json!({"Type": "CalculateRequest", "Data": {"numbers": [id, 1]}, "Id": id})
                    .to_string(),
            )
            .await;
    }
    client.flush().await;
    let mut next_reply = 0;
    let mut ticks = 0u64;
    while next_reply < 1000 {
        let envelope = client.recv().await;
        match envelope["Type"].as_str() {
            Some("CalculateResponse") => {
                assert_eq!(envelope["Id"], next_reply, "replies leave in request order");
                assert_eq!(envelope["Data"]["result"], next_reply + 1);
                next_reply += 1;
            }
            Some("Tick") => {
                ticks += 1;
                assert_eq!(
                    envelope["Data"]["n"], ticks,
                    "items of one stream stay in order"
                );
                assert_eq!(envelope["Id"], "s");
            }
            _ => panic!("unexpected {envelope}"),
        }
    }
    client
        .send_json(&json!({"Type": "StreamCancel", "Id": "s"}))
        .await;
    read_until(&mut client, "StreamEnd", &json!("s")).await;
}

#[tokio::test]
async fn closing_the_connection_ends_every_stream_and_no_producer_runs_after() {
    let counters = Counters::default();
    let server = TestServer::start(server(&counters)).await;
    let mut client = server.connect().await;
    for id in 1..=3 {
        client
            .send_json(&json!({"Type": "Forever", "Data": {"interval_ms": 2}, "Id": id}))
            .await;
    }
    wait_for("the producers to run", || {
        counters.produced.load(Ordering::SeqCst) >= 6
    })
    .await;
    // The client goes away without a word.
    drop(client);
    wait_for("every producer to stop", || {
        counters.stopped.load(Ordering::SeqCst) == 3
    })
    .await;
    let produced = counters.produced.load(Ordering::SeqCst);
    // A later marker: a whole round trip of another connection, then still nothing produced.
    server.connect().await.assert_alive().await;
    assert_eq!(counters.produced.load(Ordering::SeqCst), produced);
}

#[tokio::test]
async fn server_shutdown_ends_every_stream_and_no_producer_runs_after() {
    let counters = Counters::default();
    let mut server =
        TestServer::start(server(&counters).close_timeout(Duration::from_millis(200))).await;
    let mut clients = Vec::new();
    for _ in 0..2 {
        let mut client = server.connect().await;
        client
            .send_json(&json!({"Type": "Forever", "Data": {"interval_ms": 2}, "Id": 1}))
            .await;
        clients.push(client);
    }
    wait_for("the producers to run", || {
        counters.produced.load(Ordering::SeqCst) >= 4
    })
    .await;
    server.trigger_shutdown();
    for client in &mut clients {
        loop {
            match within("the close", client.next_frame()).await {
                harness::Received::Close(Some((code, _))) => {
                    assert_eq!(code, 1001);
                    break;
                }
                harness::Received::Text(_) => {}
                other => panic!("expected a close, got {other:?}"),
            }
        }
    }
    assert!(server.stopped().await.is_ok());
    assert_eq!(counters.stopped.load(Ordering::SeqCst), 2);
    // Every producer's state was dropped (the guards counted) when the server returned: its
    // code cannot run again.
}

#[tokio::test]
async fn a_room_subscription_that_falls_behind_ends_alone_and_its_connection_stays_open() {
    const QUEUE: usize = 4;
    const SENT: u32 = 200;
    let counters = Counters::default();
    let server = TestServer::start(server(&counters).outbound_queue(QUEUE)).await;
    let mut client = server.connect().await;
    client
        .send_json(&json!({"Type": "Subscribe", "Data": {"room": "news"}, "Id": "s-1"}))
        .await;
    client
        .send_json(&json!({"Type": "Flood", "Data": {"room": "news", "count": SENT}}))
        .await;

    // The notes the subscription's queue held, then its end (an `Error` with its `Id`), and
    // the flood's reply somewhere among them.
    let mut notes = Vec::new();
    let mut flooded = false;
    let ended = loop {
        let envelope = client.recv().await;
        match envelope["Type"].as_str() {
            Some("Flooded") => flooded = true,
            Some("Note") if envelope["Id"] == "s-1" => notes.push(envelope["Data"]["n"].clone()),
            Some("Error") if envelope["Id"] == "s-1" => break envelope,
            _ => panic!("unexpected envelope {envelope}"),
        }
    };
    harness::assert_error(&ended, "handler_error");
    assert!(
        harness::error_message(&ended).contains("fell behind"),
        "{ended}"
    );
    assert!(
        !notes.is_empty() && notes.len() <= QUEUE,
        "the notes the queue held: {notes:?}"
    );
    let first_notes: Vec<Value> = (1..=notes.len()).map(|n| json!(n)).collect();
    assert_eq!(notes, first_notes, "the first notes, in order");
    if !flooded {
        assert_eq!(client.recv().await["Type"], "Flooded");
    }

    // Only the subscription ended: the connection answers, and subscribes again.
    client.assert_alive().await;
    client
        .send_json(&json!({"Type": "Subscribe", "Data": {"room": "news"}, "Id": "s-2"}))
        .await;
    let reply = client
        .call("Flood", json!({"room": "news", "count": 1}))
        .await;
    let (note, flooded) = if reply["Type"] == "Note" {
        (reply, client.recv().await)
    } else {
        let note = client.recv().await;
        (note, reply)
    };
    assert_eq!(flooded["Type"], "Flooded", "{flooded}");
    assert_eq!(note, json!({"Type": "Note", "Data": {"n": 1}, "Id": "s-2"}));
    assert!(server.shutdown().await.is_ok());
}

#[test]
fn the_handler_model_describes_stream_handlers() {
    let server = Server::with_handlers(handlers![countdown, fragile, calculate]);
    let infos = server.handlers();
    let kind = |message_type: &str| {
        infos
            .iter()
            .find(|info| info.message_type() == message_type)
            .map(|info| info.reply_kind())
    };
    assert_eq!(
        kind("Countdown"),
        Some(exws::ReplyKind::Stream { item_type: "Tick" })
    );
    assert_eq!(
        kind("Fragile"),
        Some(exws::ReplyKind::Stream { item_type: "Tick" })
    );
    assert_eq!(
        kind("CalculateRequest"),
        Some(exws::ReplyKind::Single {
            reply_type: "CalculateResponse"
        })
    );
}

#[tokio::test]
async fn a_broadcast_reaches_the_connection_once_and_not_its_room_subscriptions() {
    let counters = Counters::default();
    let server = TestServer::start(server(&counters)).await;
    let mut client = server.connect().await;
    client
        .send_json(&json!({"Type": "Subscribe", "Data": {"room": "news"}, "Id": "s"}))
        .await;
    // Handled in order: once this is answered, the subscription is in the room.
    let reply = client
        .call("CalculateRequest", json!({"numbers": [1, 1]}))
        .await;
    assert_eq!(reply["Data"]["result"], 2, "{reply}");

    let hub = server.hub();
    hub.everyone().send(&Note { n: 1 }).await.expect("sent");
    hub.room("news").send(&Note { n: 2 }).await.expect("sent");
    assert_eq!(
        client.recv().await,
        json!({"Type": "Note", "Data": {"n": 1}})
    );
    assert_eq!(
        client.recv().await,
        json!({"Type": "Note", "Data": {"n": 2}, "Id": "s"}),
        "the broadcast came once, to the connection, not as an item of its subscription"
    );
}
